"""An admin sets up an SLA policy in a real browser and sees it apply to the open orders."""

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from apps.ingestion.services import message_receive
from tests.browser.conftest import CHROMIUM
from tests.factories import FeedFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread

SCREENSHOTS = Path(tempfile.gettempdir())  # /tmp/sla_policy_form.png etc., to look at

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]


@pytest.fixture
def orders(transactional_db: None) -> None:
    """Two open express orders, released; SO-2 already picked."""
    UserFactory(username="ada", role="admin")
    erp = FeedFactory(slug="acme-erp", partner_name="Acme Retail ERP", system="erp")
    wms = FeedFactory(slug="acme-wms", partner_name="Acme Logistics", system="wms")
    at = "2026-11-25T{}:00:00+00:00"
    events = {
        erp: [
            {
                "event_id": f"c-{n}",
                "type": "order.created",
                "occurred_at": at.format("08"),
                "refs": {"order": n},
                "service_level": "express",
                "customer": "Acme",
            }
            for n in ("SO-1", "SO-2")
        ]
        + [
            {"event_id": f"r-{n}", "type": "order.released", "occurred_at": at.format("10"), "refs": {"order": n}}
            for n in ("SO-1", "SO-2")
        ],
        wms: [{"event_id": "p-2", "type": "pick.completed", "occurred_at": at.format("11"), "refs": {"order": "SO-2"}}],
    }
    for feed, batch in events.items():
        message_receive(feed=feed, body=orjson.dumps({"events": batch}), content_type="application/json")


def test_an_admin_creates_a_policy_that_applies_to_the_open_orders(live_server: Any, page: Any, orders: None) -> None:
    from playwright.sync_api import expect

    # The WSGI test server has no websockets: answer live.js's socket here, so that its
    # reconnect attempts do not race the page's requests (on SQLite they share one connection).
    page.route_web_socket("**/ws/ops/", lambda ws: None)
    page.goto(f"{live_server.url}/login/?next=/sla/policies/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#sla-policies")).to_contain_text("No SLA policies yet.")

    page.get_by_role("link", name="New policy").click()
    page.get_by_label("Name", exact=True).fill("pick-within-4h")
    page.get_by_label("Start", exact=True).select_option("order.released")
    page.get_by_label("Duration", exact=True).fill("4 hours")
    page.get_by_label("Service level", exact=True).fill("express")
    page.get_by_label("Severity", exact=True).select_option("high")
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator(".alert.error")).to_contain_text("The policy was not saved.")
    expect(page.locator(".policy-form")).to_contain_text("not an ISO-8601 duration")
    expect(page.locator(".policy-form")).to_contain_text("This field is required.")  # no stop milestone
    page.screenshot(path=SCREENSHOTS / "sla_policy_form.png", full_page=True)

    page.get_by_label("pick.completed", exact=True).check()
    page.get_by_label("Duration", exact=True).fill("PT4H")
    page.get_by_role("button", name="Create policy").click()
    expect(page.locator("h1")).to_contain_text("pick-within-4h")
    expect(page.locator(".flash")).to_contain_text("evaluating the open orders")
    rows = page.locator("#sla-expectations tbody tr:not(.pager-row)")
    expect(rows).to_have_count(2)
    page.screenshot(path=SCREENSHOTS / "sla_policy_detail.png", full_page=True)

    page.locator("select[name=status]").select_option("met")
    expect(page).to_have_url(re.compile(r"status=met"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SO-2")

    page.locator("header nav").get_by_role("link", name="SLA policies").click()
    expect(page.locator("#sla-policies")).to_contain_text("pick-within-4h")
    page.screenshot(path=SCREENSHOTS / "sla_policy_list.png", full_page=True)
