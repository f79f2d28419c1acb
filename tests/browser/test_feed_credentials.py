"""An admin rotates a feed's token in a real browser, sees the new one once, and the old one
keeps working for the overlap chosen."""

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from apps.feeds.services import IngestRefused, feed_authenticate
from tests.factories import FeedFactory, UserFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls here are ours.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(tempfile.gettempdir())

from tests.browser.conftest import CHROMIUM  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]


def _authenticates(token: str) -> bool:
    try:
        feed_authenticate(slug="acme-wms", authorization=f"Bearer {token}")
    except IngestRefused:
        return False
    return True


@pytest.fixture
def acme(transactional_db: None) -> Any:
    UserFactory(username="ada", role="admin")
    return FeedFactory(slug="acme-wms", partner_name="Acme Logistics", require_signature=True)


def test_an_admin_rotates_a_token_and_sees_it_once(asgi_live_server: Any, page: Any, acme: Any) -> None:
    from playwright.sync_api import expect

    base = asgi_live_server.url
    page.goto(f"{base}/login/?next=/feeds/acme-wms/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/feeds/acme-wms/$"))

    card = page.locator("#credentials")
    expect(card).to_contain_text(acme.token_prefix)
    expect(card.locator("#cred-token")).to_contain_text("never")
    page.get_by_label("Old token accepted for (hours)").fill("6")
    page.get_by_role("button", name="Rotate token").click()

    expect(page.locator("h1")).to_contain_text("New token for acme-wms")
    expect(page.get_by_role("alert")).to_contain_text("shown only this once")
    token = page.locator("#issued-value").inner_text().strip()
    assert token.startswith("ctf_")
    assert token != acme.credentials.token
    expect(page.locator("#old-credential")).to_contain_text("Accepted until")
    expect(page.locator("#curl-example")).to_contain_text(f"TOKEN='{token}'")
    expect(page.locator("#curl-example")).to_contain_text("X-CT-Signature: t=$T,v1=$SIG")
    page.screenshot(path=SCREENSHOTS / "feed_token_rotated.png", full_page=True)
    assert _authenticates(token)
    assert _authenticates(acme.credentials.token)  # the old one, inside the 6 h

    page.get_by_role("link", name="Done: back to the feed").click()
    expect(page).to_have_url(re.compile(r"/feeds/acme-wms/#credentials$"))
    expect(page.locator("#cred-token")).to_contain_text(token[:10])
    expect(page.locator("#cred-previous-token")).to_contain_text(acme.token_prefix)
    expect(page.locator("#cred-previous-token")).to_contain_text("Accepted")
    assert token not in page.content()  # never shown again
    page.screenshot(path=SCREENSHOTS / "feed_credentials.png", full_page=True)
