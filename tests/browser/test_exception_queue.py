"""An operations lead works the exception queue in a real browser: a partner's exception appears
on the open page without a reload (pushed over /ws/ops/), they assign it to themselves and
resolve it from the keyboard, and the case's history and the audit log say so."""

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.accounts.models import AuditLog
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from tests.browser.conftest import CHROMIUM
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


@pytest.fixture
def ops_world(transactional_db: None) -> World:
    """Olivia (ops lead) and SO-1 for Acme, released to the warehouse; nothing wrong yet."""
    UserFactory(username="olivia", role="ops_lead")
    world = World()
    world.send(
        "erp",
        "order.created",
        {"order": "SO-1"},
        at(6),
        customer="Acme Retail GmbH",
        promised_by=(datetime.now(UTC) + timedelta(hours=20)).isoformat(),
    )
    world.send("erp", "order.released", {"order": "SO-1"}, at(5))
    return world


def log_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/login/?next=/exceptions/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()


def test_an_ops_lead_sees_an_exception_appear_assigns_it_to_themself_and_resolves_it(
    asgi_live_server: Any, page: Any, ops_world: World
) -> None:
    from playwright.sync_api import expect

    log_in(page, asgi_live_server.url)
    expect(page).to_have_url(re.compile(r"/exceptions/$"))
    expect(page.locator("#queue-empty")).to_contain_text("Nothing needs a person in Operations")
    wait_until_live(page)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads or navigates

    # The carrier rejects the tender: the case opens in the ops queue, and the open page shows it.
    ops_world.send(
        "tms",
        "shipment.tender_rejected",
        {"order": "SO-1", "shipment": "SH-1"},
        at(0.5),
        reason={"code": "NO_CAPACITY", "text": "No truck available"},
    )
    row = page.locator("#queue-table tr.case-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("NO_CAPACITY")
    expect(row).to_contain_text("SO-1")
    expect(row).to_contain_text("Acme Retail GmbH")
    expect(row).to_have_class(re.compile(r"\bis-new\b"))  # briefly highlighted
    expect(page.locator("#tab-count-ops")).to_have_text("1")
    page.screenshot(path=SCREENSHOTS / "exception_queue.png", full_page=True)

    # j: the first row, opened in the panel with its order around it
    page.keyboard.press("j")
    panel = page.locator("#case-panel")
    expect(panel.locator("article.case")).to_contain_text("NO_CAPACITY")
    expect(panel).to_contain_text("Acme Retail GmbH")
    expect(panel).to_contain_text("shipment.tender_rejected")  # the order's last events

    # a: assign to me — the panel and the row say so
    page.keyboard.press("a")
    expect(page.locator("#case-assignee")).to_contain_text("assigned to olivia")
    expect(row.locator(".case-assignee")).to_have_text("olivia")
    page.screenshot(path=SCREENSHOTS / "exception_panel.png", full_page=True)

    # r: asks for the resolution; Ctrl+Enter sends it
    page.keyboard.press("r")
    resolution = panel.locator("#act-resolve textarea")
    expect(resolution).to_be_focused()
    page.keyboard.type("Re-tendered to Swift Freight")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#case-status")).to_have_text("resolved")
    history = page.locator("#case-history")
    expect(history).to_contain_text("Resolved — Re-tendered to Swift Freight")
    expect(history).to_contain_text("Assigned — to olivia")
    # resolved, it no longer needs action: the list empties itself
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.locator("#tab-count-ops")).to_have_text("0")
    page.screenshot(path=SCREENSHOTS / "exception_resolved.png", full_page=True)

    assert page.evaluate("window.__sameDocument") is True  # no reload at any point
    case = ExceptionCase.objects.get(code="NO_CAPACITY")
    assert case.status == "resolved"
    assert case.assignee is not None
    assert case.assignee.username == "olivia"
    assert list(ExceptionActivity.objects.filter(case=case).order_by("id").values_list("action", flat=True)) == [
        "opened",
        "assigned",
        "resolved",
    ]
    audited = AuditLog.objects.filter(target=f"exception:{case.id}").order_by("id")
    assert [(a.action, a.actor_label, a.detail) for a in audited] == [
        ("exception.assigned", "olivia", {"assignee": "olivia"}),
        ("exception.resolved", "olivia", {"resolution": "Re-tendered to Swift Freight"}),
    ]


def wait_until_live(page: Any) -> None:
    """The page's socket to /ws/ops/ is open (static/js/live.js), so no message can be missed."""
    page.wait_for_selector("#live-status[data-state='connected']", state="attached")
