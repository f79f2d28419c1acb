"""A customer-service agent answers "where is my order?" from a tracking number, in a real browser."""

import os
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.test_feed_pages import SCREENSHOTS
from tests.correlation.conftest import World
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]

BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)


def at(hours: float, offset_hours: int = 0) -> str:
    """BASE + hours, written with the source's own UTC offset."""
    return (BASE + timedelta(hours=hours)).astimezone(timezone(timedelta(hours=offset_hours))).isoformat()


@pytest.fixture
def cs_agent(transactional_db: None) -> Any:
    """SO-1001 split over two shipments; the last mile failed one attempt and has a new ETA."""
    user = UserFactory(username="carla", role="cs_agent")
    world = World()
    run, tracking = "R-9", "1Z999AA10123456784"
    world.send(
        "erp",
        "order.created",
        {"order": "SO-1001", "customer_po": "PO-4471"},
        at(0),
        customer="Acme Retail GmbH",
        service_level="next-day",
        promised_by=at(34),
    )
    world.send("erp", "order.released", {"order": "SO-1001"}, at(1))
    world.send(
        "wms",
        "pick.completed",
        {"order": "SO-1001", "warehouse_task": "WT-5"},
        at(3, 1),
        source_status="PICKED",
        location={"code": "DC-EAST", "name": "Leipzig DC"},
    )
    world.send(
        "tms", "shipment.planned", {"order": "SO-1001", "shipment": "SH-7", "tracking_number": tracking}, at(3.5)
    )
    world.send(
        "tms", "shipment.planned", {"order": "SO-1001", "shipment": "SH-8", "tracking_number": "1Z999AA10"}, at(3.5)
    )
    world.send("wms", "pack.completed", {"warehouse_task": "WT-5", "shipment": "SH-7", "lpn": "LPN-00042"}, at(4, 1))
    world.send("tms", "shipment.picked_up", {"shipment": "SH-7"}, at(6), source_status="AF")
    world.send("tms", "shipment.departed", {"shipment": "SH-7"}, at(8), source_status="X6")
    world.send("lastmile", "run.planned", {"delivery_run": run, "shipment": ["SH-7", "SH-8"]}, at(22))
    world.send("lastmile", "delivery.out_for_delivery", {"delivery_run": run, "tracking_number": tracking}, at(23, 1))
    world.send(
        "tms",
        "shipment.delayed",
        {"shipment": "SH-8"},
        at(25),
        reason={"code": "WEATHER", "text": "Storm closed the hub"},
    )
    world.send(
        "lastmile",
        "delivery.attempted",
        {"delivery_run": run, "tracking_number": tracking},
        at(27, 1),
        reason={"code": "CUSTOMER_ABSENT", "text": "Nobody at the address"},
        eta=at(50),
    )
    world.send("lastmile", "delivery.out_for_delivery", {"tracking_number": "1Z777"}, at(26), event_id="scan-77")
    return user


def test_a_cs_agent_finds_an_order_from_a_tracking_number(live_server: Any, page: Any, cs_agent: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("carla")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#recent-orders")).to_contain_text("SO-1001")
    page.screenshot(path=SCREENSHOTS / "home.png", full_page=True)

    box = page.locator("header").get_by_role("searchbox", name="Find an order by any id")
    box.fill("1Z999AA10123456784")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/orders/SO-1001/$"))
    expect(page.locator("h1")).to_contain_text("SO-1001")
    cards = page.locator("#systems .syscard")
    expect(cards).to_have_count(4)
    for label in ("ERP", "WMS", "TMS", "Last mile"):
        expect(page.get_by_role("region", name=label)).to_be_visible()
    expect(page.locator("#promise")).to_contain_text("late by 16h")
    expect(page.locator("#timeline-chart .main-svg").first).to_be_attached()
    expect(page.locator("#events")).to_contain_text("via tracking_number 1Z999AA10123456784")
    page.screenshot(path=SCREENSHOTS / "order_page.png", full_page=True)


def test_an_unknown_or_unbound_tracking_number_says_why_nothing_was_found(
    live_server: Any, page: Any, cs_agent: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login/?next=/search/")
    page.get_by_label("Username").fill("carla")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.locator("#q-main").fill("1Z999AA1O123456784")  # a letter O for a zero
    page.locator("#q-main").press("Enter")
    expect(page.locator("#search-empty")).to_contain_text("check for typos")
    page.screenshot(path=SCREENSHOTS / "search_empty.png", full_page=True)

    # an id seen only on a scan that no system has bound yet
    page.locator("#q-main").fill("1Z777")
    page.locator("#q-main").press("Enter")
    expect(page.locator("#search-unmatched")).to_contain_text("not on any order yet")
    page.get_by_role("link", name="See these unmatched events").click()
    expect(page).to_have_url(re.compile(r"/unmatched/\?ref=1Z777$"))
    expect(page.locator("#unmatched-events")).to_contain_text("scan-77")
    expect(page.get_by_label("Id", exact=True)).to_have_value("1Z777")
    page.screenshot(path=SCREENSHOTS / "unmatched.png", full_page=True)
