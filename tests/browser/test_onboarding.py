"""An admin onboards a CSV partner in a real browser, against the real ASGI server: from the
Onboarding link to a paused feed and its credentials (shown once), a dry run of the partner's
sample file swapped into the page without a reload (nothing stored), activation — and then the
partner's first post with the token shown lands its events on the order's page."""

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.accounts.models import AuditLog
from apps.feeds.models import Feed
from apps.ingestion.models import RawMessage
from tests.browser.conftest import CHROMIUM
from tests.browser.test_feed_pages import SCREENSHOTS
from tests.correlation.conftest import World
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]

SAMPLE = (
    "event_id,type,occurred_at,refs.order,refs.warehouse_task,location.code,lines\n"
    "ws-1,pick.completed,2026-11-25T10:15:00+01:00,SO-W1,WT-1,DC-WEST,A-1:2\n"
    "ws-2,pack.completed,2026-11-25T10:40:00+01:00,SO-W1,WT-1,DC-WEST,A-1:2\n"
)
FIRST_POST = (
    "event_id,type,occurred_at,refs.order,refs.warehouse_task,location.code,lines\n"
    "live-1,pick.started,2026-11-25T09:50:00+01:00,SO-W1,WT-1,DC-WEST,A-1:2\n"
    "live-2,pick.completed,2026-11-25T10:15:00+01:00,SO-W1,WT-1,DC-WEST,A-1:2\n"
)


def test_an_admin_onboards_a_csv_partner_from_a_sample_file_and_sees_its_first_events_on_an_order(
    asgi_live_server: Any, page: Any, transactional_db: None, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    UserFactory(username="ada", role="admin")
    World().send("erp", "order.released", {"order": "SO-W1"}, "2026-11-25T07:00:00+00:00")
    sample = tmp_path / "westside-sample.csv"
    sample.write_text(SAMPLE)

    page.goto(f"{asgi_live_server.url}/login/?next=/feeds/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Onboarding").click()
    expect(page.locator("#onboarding-drafts")).to_contain_text("No onboarding in progress.")
    page.get_by_role("link", name="Onboard a new feed").click()

    # 1. Partner
    page.get_by_label("Or a new partner").fill("Westside Warehousing")
    page.get_by_role("button", name="Save and continue").click()
    # 2. Feed
    expect(page.locator("h1")).to_contain_text("2. Feed")
    page.get_by_label("Slug").fill("westside-wms")
    page.get_by_label("WMS").check()
    page.locator('input[name="format"][value="canonical-csv"]').check()
    expect(page.locator("#poll-settings")).to_be_hidden()  # onboarding.js: poll settings for poll only
    page.locator('input[name="transport"][value="poll"]').check()
    expect(page.locator("#poll-settings")).to_be_visible()
    page.locator('input[name="transport"][value="push"]').check()
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.screenshot(path=SCREENSHOTS / "onboarding_feed.png", full_page=True)
    page.get_by_role("button", name="Save and continue").click()
    # 3. Credentials, shown once
    expect(page.locator("h1")).to_contain_text("3. Credentials")
    page.get_by_role("button", name="Create the feed and show its credentials").click()
    expect(page.locator("#credentials")).to_contain_text("Content type")
    token = page.locator("#feed-token").input_value()
    assert token.startswith("ctf_")
    expect(page.locator("#curl-ingest")).to_contain_text("Content-Type: text/csv")
    expect(page.locator("#curl-ingest")).to_contain_text(f"{asgi_live_server.url}/api/v1/ingest/westside-wms/")
    expect(page.locator("#curl-file")).to_contain_text("/api/v1/feeds/westside-wms/files/")
    expect(page.get_by_role("button", name="Copy feed-token")).to_be_visible()
    assert Feed.objects.get(slug="westside-wms").is_paused
    page.screenshot(path=SCREENSHOTS / "onboarding_credentials.png", full_page=True)
    page.get_by_role("button", name=re.compile("continue to the mapping")).click()
    # 4. Mapping: canonical CSV has no code tables
    expect(page.locator("h1")).to_contain_text("4. Mapping")
    expect(page.locator("main")).to_contain_text("No code tables for canonical-csv.")
    page.get_by_role("button", name="Continue to the dry run").click()

    # 5. Dry run on the partner's sample file, swapped in without a reload
    expect(page.locator("h1")).to_contain_text("5. Dry run")
    expect(page.locator("#dry-run-result")).to_contain_text("No dry run yet.")
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Or upload a sample file").set_input_files(str(sample))
    page.get_by_role("button", name="Dry run", exact=True).click()
    events = page.locator("#dry-run-events")
    expect(events.locator("tbody tr")).to_have_count(2)
    expect(events).to_contain_text("pick.completed")
    expect(events).to_contain_text("pack.completed")
    expect(events.get_by_role("link", name="SO-W1").first).to_be_visible()
    expect(page.locator("#dry-run-summary")).to_contain_text("Nothing was stored.")
    assert page.evaluate("window.__sameDocument") is True
    assert not RawMessage.objects.filter(feed__slug="westside-wms").exists()
    page.screenshot(path=SCREENSHOTS / "onboarding_dry_run.png", full_page=True)
    page.get_by_role("button", name="Continue to activation").click()

    # 6. Activate → the feed's page
    expect(page.locator("#activate-summary")).to_contain_text("2 events, 0 rejected, 0 errors")
    page.screenshot(path=SCREENSHOTS / "onboarding_activate.png", full_page=True)
    page.get_by_role("button", name="Activate the feed").click()
    expect(page).to_have_url(re.compile(r"/feeds/westside-wms/$"))
    expect(page.locator(".flash")).to_contain_text("Feed westside-wms is active")
    expect(page.locator("h1")).to_contain_text("Active")

    # The partner's first post, with the token shown once, through the real ingest endpoint.
    response = httpx.post(
        f"{asgi_live_server.url}/api/v1/ingest/westside-wms/",
        content=FIRST_POST.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=15,
    )
    assert response.status_code == 202, response.text
    page.goto(f"{asgi_live_server.url}/orders/SO-W1/")
    timeline = page.locator("#events")
    expect(timeline).to_contain_text("pick.started")
    expect(timeline).to_contain_text("pick.completed")
    expect(timeline).to_contain_text("westside-wms")
    page.screenshot(path=SCREENSHOTS / "onboarding_order.png", full_page=True)
    assert AuditLog.objects.filter(action="onboarding.activated", actor_label="ada").exists()


PARTNER_JSON = """{"data": {"route": "R-5", "items": [
  {"id": "p-1", "status": {"code": "OFD"}, "ts": "2026-11-25T14:00:00+01:00", "parcel": {"tracking": "1ZW1"}},
  {"id": "p-2", "status": {"code": "DLV"}, "ts": "2026-11-25T16:30:00+01:00", "parcel": {"tracking": "1ZW1"}}
]}}"""


def test_an_admin_maps_a_custom_json_partner_by_picking_paths_from_its_sample(
    asgi_live_server: Any, page: Any, transactional_db: None
) -> None:
    from playwright.sync_api import expect

    from apps.onboarding.services import FeedPlan, draft_continue, draft_create_feed, draft_set_feed, draft_start

    admin = UserFactory(username="ada", role="admin")
    World().send("tms", "shipment.planned", {"order": "SO-J1", "shipment": "SH-J1", "tracking_number": "1ZW1"})
    draft = draft_start(actor=admin, partner_name="Swift Last Mile")
    plan = FeedPlan(slug="swift-lm", system="lastmile", format="custom-json")
    draft_set_feed(draft=draft, actor=admin, plan=plan)
    draft_create_feed(draft=draft, actor=admin)
    draft_continue(draft=draft, actor=admin, from_step="credentials")

    page.goto(f"{asgi_live_server.url}/login/?next=/onboarding/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.locator("#onboarding-drafts").get_by_role("link", name="Resume").click()
    expect(page.locator("h1")).to_contain_text("4. Mapping")
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Sample of what the partner sends (JSON)").fill(PARTNER_JSON)
    page.get_by_role("button", name="Find the fields in the sample").click()
    expect(page.locator("#mapping-events option[value='$.data.items[*]']")).to_be_attached()
    page.get_by_label("Where the records are").select_option("$.data.items[*]")
    page.get_by_role("button", name="Find the fields in the sample").click()
    expect(page.locator("#paths-found")).to_contain_text("field paths found in the records")
    page.get_by_label("Type: the partner's status code at").select_option("status.code")
    page.get_by_role("button", name="Find the fields in the sample").click()
    expect(page.locator("#type-codes")).to_have_value("OFD =\nDLV =")
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped the editor in place
    page.locator("#type-codes").fill("OFD = delivery.out_for_delivery\nDLV = delivery.completed")
    page.get_by_label("Occurred at").select_option("ts")
    page.locator("#field-pickers").get_by_label("event_id").select_option("id")
    page.locator("#field-pickers").get_by_label("refs.tracking_number").select_option("parcel.tracking")
    page.screenshot(path=SCREENSHOTS / "onboarding_mapping.png", full_page=True)
    page.get_by_role("button", name="Save the mapping").click()
    expect(page.locator(".flash")).to_contain_text("Mapping saved.")
    assert Feed.objects.get(slug="swift-lm").mapping["fields"]["refs.tracking_number"] == {
        "path": "parcel.tracking",
        "optional": True,
    }
    page.get_by_role("button", name="Continue to the dry run").click()

    # The sample the mapping was picked from is there to dry-run.
    expect(page.get_by_label("Paste a sample")).to_contain_text('"p-1"')
    page.get_by_role("button", name="Dry run", exact=True).click()
    events = page.locator("#dry-run-events")
    expect(events.locator("tbody tr")).to_have_count(2)
    expect(events).to_contain_text("delivery.out_for_delivery")
    expect(events).to_contain_text("OFD")
    expect(events.get_by_role("link", name="SO-J1").first).to_be_visible()
