import hashlib
import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import ApiToken, AuditLog
from apps.feeds.models import Feed
from apps.feeds.services import feed_authenticate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_feed_prints_slug_token_and_secret_once_and_stores_only_a_hash():
    out = StringIO()
    call_command(
        "create_feed",
        "--slug",
        "acme-wms",
        "--partner",
        "ACME",
        "--system",
        "wms",
        "--format",
        "canonical-json",
        "--require-signature",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    assert set(printed) == {"slug", "token", "hmac_secret"}
    feed = Feed.objects.get(slug="acme-wms")
    assert feed.require_signature
    assert printed["token"] not in feed.token_hash
    assert feed.token_hash == hashlib.sha256(printed["token"].encode()).hexdigest()
    assert feed_authenticate(slug="acme-wms", authorization=f"Bearer {printed['token']}") == feed
    assert AuditLog.objects.filter(action="feed.created", target="feed:acme-wms").exists()


def test_create_feed_refuses_a_taken_slug():
    call_command(
        "create_feed",
        "--slug",
        "x",
        "--partner",
        "P",
        "--system",
        "erp",
        "--format",
        "canonical-json",
        stdout=StringIO(),
    )
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_feed",
            "--slug",
            "x",
            "--partner",
            "P",
            "--system",
            "erp",
            "--format",
            "canonical-json",
            stdout=StringIO(),
        )


def test_create_api_token_prints_a_token_that_authenticates(client):
    user = UserFactory(username="agent", role="cs_agent")
    out = StringIO()
    call_command("create_api_token", "agent", stdout=out)
    token = out.getvalue().strip()
    stored = ApiToken.objects.get(user=user)
    assert token not in stored.key_hash
    response = client.get("/api/v1/messages/00000000-0000-0000-0000-000000000000/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 404  # authenticated and allowed; the message just does not exist


def test_create_api_token_for_an_unknown_user_fails():
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_token", "ghost")


def test_the_four_roles_exist_with_their_capabilities():
    perms = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert perms["cs_agent"] == {"lookup_orders", "work_exceptions"}
    assert "work_exceptions" in perms["finance"]
    assert "work_exceptions" in perms["ops_lead"]
    assert "release_invoice_holds" in perms["finance"]
    assert "release_invoice_holds" not in perms["ops_lead"]
    assert "manage_feeds" in perms["admin"]
