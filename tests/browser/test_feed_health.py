"""An ops lead tells, in a real browser, a healthy feed from a silent and a failing one on the
feeds overview, narrows it to the silent ones, and reads a feed's health with its charts."""

import os
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import time_machine

from apps.common.time import now
from apps.feeds.models import Feed
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, UserFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls here are ours.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(tempfile.gettempdir())  # /tmp/feed_health_overview.png etc., to look at

from tests.browser.conftest import CHROMIUM  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]


def _send(feed: Feed, at: datetime, events: list[dict[str, Any]]) -> None:
    """A message received at `at` (the clock moved there) and processed at once."""
    with time_machine.travel(at, tick=False):
        body = orjson.dumps({"events": events})
        message = message_receive(feed=feed, body=body, content_type="application/json", enqueue=False)
        message_process(message_id=message.id)


def _event(key: str, occurred: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": key,
        "type": "pick.completed",
        "occurred_at": occurred.isoformat(),
        "refs": {"order": "SO-1", "warehouse_task": f"WT-{key}"},
        **extra,
    }


@pytest.fixture
def ops_lead(transactional_db: None) -> Any:
    """Three feeds, relative to the real clock (the server's): one healthy with a future-dated
    event, one silent for six hours, one whose last hour is mostly rejected."""
    start = now()
    with time_machine.travel(start - timedelta(days=8), tick=False):
        good = FeedFactory(slug="acme-wms", partner_name="Acme Logistics", system="wms")
        quiet = FeedFactory(slug="swift-lastmile", partner_name="Swift Couriers", system="lastmile")
        bad = FeedFactory(slug="rail-tms", partner_name="Rail Freight", system="tms")
    for i in range(12):
        at = start - timedelta(minutes=5 + 10 * i)
        _send(good, at, [_event(f"g-{i}", at - timedelta(minutes=2))])
        _send(quiet, at - timedelta(hours=6), [_event(f"q-{i}", at - timedelta(hours=6, minutes=2))])
    _send(good, start - timedelta(minutes=3), [_event("g-ahead", start + timedelta(hours=2))])
    for i in range(5):
        at = start - timedelta(minutes=50 - 10 * i)
        _send(bad, at, [_event(f"b-{i}", at, occurred_at="2026-11-26T10:00:00")])  # no offset: rejected
    return UserFactory(username="olivia", role="ops_lead")


def test_an_ops_lead_tells_the_feeds_apart_at_a_glance(live_server: Any, page: Any, ops_lead: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/feeds/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/feeds/$"))

    table = page.locator("#feeds-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    # most serious first: failing, silent, healthy
    expect(table.locator("tbody tr").nth(0)).to_have_attribute("data-status", "failing")
    expect(page.locator("#feed-row-rail-tms .badge-failing")).to_have_text("Failing")
    expect(page.locator("#feed-row-rail-tms")).to_contain_text("100% of the last hour's events rejected")
    expect(page.locator("#feed-row-swift-lastmile .badge-silent")).to_have_text("Silent")
    expect(page.locator("#feed-row-swift-lastmile")).to_contain_text("nothing received for 6h")
    expect(page.locator("#feed-row-acme-wms .badge-healthy")).to_have_text("Healthy")
    expect(page.locator("#feed-row-acme-wms .badge-future")).to_have_text("1")
    # the heat map is drawn by Plotly from the page's JSON, without inline scripts
    expect(page.locator("#chart-feeds-hourly .main-svg").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "feed_health_overview.png", full_page=True)

    page.locator("#health-summary").get_by_role("link", name=re.compile("Silent")).click()
    expect(page).to_have_url(re.compile(r"status=silent"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("swift-lastmile")

    page.locator("#health-summary").get_by_role("link", name=re.compile("^All")).click()
    page.get_by_role("link", name="acme-wms").click()
    health = page.locator("#feed-health")
    expect(health.locator("#feed-health-status")).to_have_text("Healthy")
    expect(health.locator("#health-events")).to_contain_text("13")
    expect(health.locator("#future-events")).to_contain_text("g-ahead")
    expect(health.locator("#future-events")).to_contain_text("not yet due")
    expect(health.locator("#chart-feed-hourly .main-svg").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "feed_health_detail.png", full_page=True)
