"""The feed page's Credentials card and the rotate buttons: who sees and may do what, the
new credential shown once, audit entries, and the example `curl` that really posts."""

import html as html_text
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import time_machine
from django.test import Client

from apps.accounts.models import AuditLog
from apps.feeds.models import Feed
from apps.feeds.services import IngestRefused, feed_authenticate, feed_rotate_token, sign, signature_verify
from apps.ingestion.credential_views import ingest_curl_example
from tests.factories import FeedFactory, UserFactory, event

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _client(role: str | None) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


@pytest.fixture
def admin() -> Client:
    return _client("admin")


@pytest.fixture
def acme() -> Any:
    return FeedFactory(slug="acme-wms", partner_name="Acme Logistics", require_signature=True)


def _rotate_token(client: Client, feed: Any, hours: str = "24", expected: str | None = None) -> Any:
    data = {"overlap_hours": hours, "expected": expected or feed.token_prefix}
    return client.post(f"/feeds/{feed.slug}/credentials/token/", data)


def _issued(response: Any) -> str:
    match = re.search(r'<pre class="body secret-value" id="issued-value">([^<]+)</pre>', response.content.decode())
    assert match, "the page shows the new credential"
    return match.group(1)


def _authenticates(feed: Any, token: str) -> bool:
    try:
        feed_authenticate(slug=feed.slug, authorization=f"Bearer {token}")
    except IngestRefused:
        return False
    return True


class TestPermissions:
    def test_an_ops_lead_sees_the_credentials_but_no_rotate_buttons_and_gets_403(self, acme):
        ops = _client("ops_lead")
        page = ops.get("/feeds/acme-wms/")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="credentials"' in html
        assert acme.token_prefix in html
        assert "Rotate token" not in html
        assert "Rotate HMAC secret" not in html
        assert _rotate_token(ops, acme).status_code == 403
        hmac = ops.post("/feeds/acme-wms/credentials/hmac-secret/", {"overlap_hours": "1", "expected": "x"})
        assert hmac.status_code == 403
        assert Feed.objects.get(pk=acme.pk).token_hash == acme.token_hash
        assert not AuditLog.objects.filter(action__startswith="feed.").exclude(action="feed.created").exists()

    def test_a_customer_service_agent_cannot_see_the_feed_page(self, acme):
        assert _client("cs_agent").get("/feeds/acme-wms/").status_code == 403

    def test_rotation_is_post_only(self, admin, acme):
        assert admin.get("/feeds/acme-wms/credentials/token/").status_code == 405

    def test_an_unknown_feed_is_404(self, admin):
        response = admin.post("/feeds/nope/credentials/token/", {"overlap_hours": "1", "expected": "x"})
        assert response.status_code == 404


class TestFeedPage:
    def test_it_says_never_used_and_not_rotated_before_any_use(self, admin, acme):
        html = admin.get("/feeds/acme-wms/").content.decode()
        assert "Neither has been rotated yet" in html
        assert html.count("never") >= 2  # token and secret
        assert 'id="rotate-token"' in html
        assert 'id="rotate-hmac"' in html

    def test_it_shows_last_use_and_the_previous_tokens_overlap(self, admin, acme):
        with time_machine.travel(BASE, tick=False) as clock:
            Feed.objects.filter(pk=acme.pk).update(token_last_used_at=BASE - timedelta(hours=2))
            old_prefix = acme.token_prefix
            feed_rotate_token(feed=Feed.objects.get(pk=acme.pk), overlap=timedelta(hours=24))
            html = admin.get("/feeds/acme-wms/").content.decode()
            row = re.search(r'<tr id="cred-previous-token">(.*?)</tr>', html, re.S)
            assert row
            assert f"{old_prefix}…" in row.group(1)
            assert "2026-12-01 07:00" in row.group(1)  # its last use
            assert "Accepted" in row.group(1)
            assert "until 2026-12-02 09:00 UTC" in row.group(1)
            assert "Neither has been rotated yet" not in html

            clock.shift(timedelta(hours=25))
            html = admin.get("/feeds/acme-wms/").content.decode()
            row = re.search(r'<tr id="cred-previous-token">(.*?)</tr>', html, re.S)
            assert row
            assert "Refused" in row.group(1)
            assert "since 2026-12-02 09:00 UTC" in row.group(1)


class TestShownOnce:
    def test_an_admin_rotates_the_token_and_sees_it_once(self, admin, acme):
        with time_machine.travel(BASE, tick=False):
            response = _rotate_token(admin, acme, hours="12")
            assert response.status_code == 200
            assert "no-store" in response["Cache-Control"]
            token = _issued(response)
            html = html_text.unescape(response.content.decode())
            assert "Accepted until 2026-12-01 21:00 UTC" in html
            assert f"TOKEN='{token}'" in html  # the example curl carries it
            assert "X-CT-Signature: t=$T,v1=$SIG" in html  # the feed requires a signature
            assert _authenticates(acme, token)
            assert _authenticates(acme, acme.credentials.token)  # inside the 12 h

            page = admin.get("/feeds/acme-wms/").content.decode()
            assert token not in page
            assert token[:10] in page  # the prefix only
        entry = AuditLog.objects.get(action="feed.token_rotated", target="feed:acme-wms")
        assert entry.actor is not None
        assert entry.actor.has_perm("accounts.manage_feeds")
        assert entry.detail["overlap_hours"] == 12

    def test_sending_the_form_again_changes_nothing(self, admin, acme):
        first = _issued(_rotate_token(admin, acme))
        again = _rotate_token(admin, acme)  # a reload of the shown-once page re-posts the same form
        assert again.status_code == 302
        assert again["Location"].endswith("/feeds/acme-wms/#credentials")
        assert _authenticates(acme, first)
        assert AuditLog.objects.filter(action="feed.token_rotated").count() == 1
        flashed = admin.get(again["Location"]).content.decode()
        assert "Nothing changed" in flashed
        assert first not in flashed

    def test_overlap_zero_refuses_the_old_token_at_once(self, admin, acme):
        response = _rotate_token(admin, acme, hours="0")
        assert "Refused from now on" in response.content.decode()
        assert not _authenticates(acme, acme.credentials.token)
        assert _authenticates(acme, _issued(response))

    @pytest.mark.parametrize("hours", ["-1", "721", "soon", ""])
    def test_a_bad_overlap_changes_nothing(self, admin, acme, hours):
        response = _rotate_token(admin, acme, hours=hours)
        assert response.status_code == 302
        assert Feed.objects.get(pk=acme.pk).token_hash == acme.token_hash
        assert "Nothing changed. overlap hours:" in admin.get(response["Location"]).content.decode()

    def test_an_admin_rotates_the_hmac_secret_and_sees_it_once(self, admin, acme):
        fingerprint = admin.get("/feeds/acme-wms/").context["credentials"]["fingerprint"]
        data = {"overlap_hours": "1", "expected": fingerprint}
        response = admin.post("/feeds/acme-wms/credentials/hmac-secret/", data)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        secret = _issued(response)
        html = html_text.unescape(response.content.decode())
        assert f"SECRET='{secret}'" in html
        assert "TOKEN='<the feed token>'" in html  # the token is not shown again
        assert Feed.objects.get(pk=acme.pk).hmac_secret == secret
        body = orjson.dumps(event(1))
        fresh = Feed.objects.get(pk=acme.pk)
        signature_verify(feed=fresh, header=sign(secret=secret, body=body), body=body)
        signature_verify(feed=fresh, header=sign(secret=acme.credentials.hmac_secret, body=body), body=body)
        assert secret not in admin.get("/feeds/acme-wms/").content.decode()
        entry = AuditLog.objects.get(action="feed.hmac_secret_rotated", target="feed:acme-wms")
        assert entry.detail["previous_fingerprint"] == fingerprint
        assert secret not in str(entry.detail)

    def test_a_polled_feed_gets_no_curl(self, admin):
        feed = FeedFactory(transport="poll")
        html = _rotate_token(admin, feed).content.decode()
        assert "This feed is polled" in html
        assert 'id="curl-example"' not in html


@pytest.mark.skipif(subprocess.run(["which", "openssl"], capture_output=True).returncode, reason="no openssl")
@pytest.mark.parametrize("signed", [True, False])
def test_the_example_curl_really_posts(live_server: Any, tmp_path: Path, signed: bool) -> None:
    """The shown snippet, run by bash as a partner would, against a live server: 202."""
    feed = FeedFactory(require_signature=signed)
    creds = feed.credentials
    snippet = ingest_curl_example(
        feed=feed,
        url=f"{live_server.url}/api/v1/ingest/{feed.slug}/",
        token=creds.token,
        secret=creds.hmac_secret if signed else "",
    )
    assert ("X-CT-Signature" in snippet) is signed
    (tmp_path / "events.json").write_bytes(orjson.dumps(event("curl-1")))
    done = subprocess.run(["bash", "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["received"] == 1
