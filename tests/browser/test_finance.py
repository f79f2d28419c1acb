"""A finance user works the invoice holds in a real browser, against the real ASGI server: a
late POD arriving through the pipeline releases a hold on the open page (a real push over
/ws/ops/, no reload); she releases another by hand with a reason and sees the total change; the
audit log says so."""

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.accounts.models import AuditLog
from apps.finance.models import InvoiceHold
from tests.browser.conftest import CHROMIUM
from tests.browser.test_exception_queue import wait_until_live
from tests.browser.test_feed_pages import SCREENSHOTS
from tests.correlation.conftest import World
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]


def at(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


def held_order(w: World, order: str, invoice: str, tracking: str, value: str) -> None:
    w.send(
        "erp", "order.created", {"order": order}, at(8), customer="Acme Retail GmbH", lines=[{"sku": "A-1", "qty": 2}]
    )
    w.send("tms", "shipment.picked_up", {"order": order, "shipment": f"SH-{order}", "tracking_number": tracking}, at(6))
    w.send(
        "erp",
        "invoice.created",
        {"order": order, "invoice": invoice},
        at(5),
        amount={"value": value, "currency": "EUR"},
    )


@pytest.fixture
def finance_world(transactional_db: None) -> World:
    UserFactory(username="fiona", role="finance")
    world = World()
    held_order(world, "SO-1", "INV-1", "1Z1", "125.00")
    held_order(world, "SO-2", "INV-2", "1Z2", "80.50")
    return world


def test_a_finance_user_sees_a_hold_release_itself_and_releases_another_by_hand(
    asgi_live_server: Any, page: Any, finance_world: World
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{asgi_live_server.url}/login/?next=/")
    page.get_by_label("Username").fill("fiona")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    # Her home page leads to her work.
    expect(page.locator("#home-finance")).to_contain_text("205.50 EUR")
    page.get_by_role("link", name="Open invoice holds").click()
    expect(page).to_have_url(re.compile(r"/finance/$"))
    rows = page.locator("#holds tbody tr[data-hold]")
    expect(rows).to_have_count(2)
    expect(page.locator("#hold-totals")).to_contain_text("205.50 EUR")
    expect(rows.first).to_contain_text("POD of SH-SO-1 missing; 0 of 1 shipments delivered")
    expect(page.locator("#hold-chart .main-svg").first).to_be_attached()  # Plotly drew the chart
    page.screenshot(path=SCREENSHOTS / "finance_holds.png", full_page=True)
    wait_until_live(page)
    page.evaluate("window.__sameDocument = true")

    # The last mile's POD for SO-2 arrives: its hold releases itself, and the open page follows.
    finance_world.send(
        "lastmile",
        "delivery.completed",
        {"tracking_number": "1Z2"},
        at(0.5),
        pod={"signed_by": "K. Meyer"},
        lines=[{"sku": "A-1", "qty": 2}],
    )
    expect(rows).to_have_count(1)
    expect(page.locator("#hold-totals")).to_contain_text("125.00 EUR")
    assert page.evaluate("window.__sameDocument") is True  # pushed, not reloaded

    # She releases INV-1 by hand, with a reason.
    page.get_by_label("Why release invoice INV-1").fill("Customer prepaid; POD on paper")
    page.get_by_role("button", name="Release").click()
    expect(page.locator(".flash")).to_contain_text("Invoice INV-1 released.")
    expect(page.locator("#holds")).to_contain_text("No invoice is held.")
    expect(page.locator("#hold-totals")).to_contain_text("Nothing.")
    assert InvoiceHold.objects.get(invoice="INV-2").outcome == "cleared"
    manual = InvoiceHold.objects.get(invoice="INV-1")
    assert (manual.status, manual.outcome, manual.release_note) == (
        "released",
        "manual",
        "Customer prepaid; POD on paper",
    )
    assert AuditLog.objects.filter(action="invoice_hold.released", actor_label="fiona", target="invoice:INV-1").exists()
