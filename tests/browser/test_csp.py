"""The Content Security Policy in a real browser: the pages people work in load, draw their
Plotly charts, filter with htmx and keep their live socket with nothing refused by the policy
(no inline script or style, no eval), and Plotly's own CSS still applies."""

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.exceptions.models import ExceptionCase
from tests.browser.conftest import CHROMIUM
from tests.correlation.conftest import World
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]

# Runs in every document before its own scripts: what the browser refused, and what htmx would
# have evaluated had it been allowed to.
WATCH = """
window.__refused = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var where = e.sourceFile + ":" + e.lineNumber;
  window.__refused.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " + where);
});
document.addEventListener("htmx:evalDisallowedError", function (e) {
  window.__refused.push("htmx eval: " + (e.target && e.target.id));
});
"""


def at(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


@pytest.fixture
def csp_world(transactional_db: None) -> World:
    UserFactory(username="ada", role="admin", is_staff=True)
    world = World()
    world.send("erp", "order.created", {"order": "SO-1"}, at(30), customer="Acme Retail", promised_by=at(-20))
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, at(20))
    world.send("tms", "shipment.picked_up", {"order": "SO-1", "shipment": "SH-1"}, at(10))
    world.send("lastmile", "delivery.completed", {"shipment": "SH-1"}, at(2))
    now = datetime.now(UTC)
    ExceptionCase.objects.create(
        kind="partner_exception",
        code="CUSTOMER_ABSENT",
        fingerprint="csp:1",
        subject="order:SO-1",
        severity="high",
        opened_at=now - timedelta(hours=1),
        last_seen_at=now - timedelta(hours=1),
        occurrences=1,
    )
    return world


def refused(page: Any) -> list[str]:
    return list(page.evaluate("window.__refused"))


def test_the_pages_work_under_the_policy_with_nothing_refused(
    asgi_live_server: Any, page: Any, csp_world: World
) -> None:
    from playwright.sync_api import expect

    console: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(WATCH)
    base = asgi_live_server.url

    page.goto(f"{base}/login/?next=/dashboard/")
    assert refused(page) == []
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    # The dashboard: its charts load through htmx and draw; the live socket (connect-src 'self') opens.
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
    expect(page.locator("#dash-charts .main-svg").first).to_be_attached()
    assert refused(page) == []

    # The policy is in force: an inline script (as an injection would add) does not run.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__injected = 1';"
        " document.body.appendChild(s); }"
    )
    assert page.evaluate("window.__injected") is None
    assert [r.split(" ")[0] for r in refused(page)] == ["script-src-elem"]
    page.evaluate("window.__refused = []")
    console.clear()  # the browser's report of that refusal

    # An order with its Plotly timeline; Plotly's CSS went into the page's nonce-carrying <style>.
    response = page.goto(f"{base}/orders/SO-1/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#timeline-chart .main-svg").first).to_be_attached()
    rules = page.evaluate("document.getElementById('plotly.js-style-global').sheet.cssRules.length")
    assert rules > 0
    page.locator("#timeline-chart .modebar-container").first.wait_for(state="attached")
    assert refused(page) == []

    # The exception queue: an htmx filter request swaps the results, and back.
    page.goto(f"{base}/exceptions/")
    rows = page.locator("#queue-table tr.case-row")
    expect(rows).to_have_count(1)
    with page.expect_response(re.compile(r"/exceptions/\?.*severity=low")):
        page.select_option("#f-severity", "low")
    expect(rows).to_have_count(0)
    with page.expect_response(re.compile(r"/exceptions/\?")):
        page.select_option("#f-severity", "high")
    expect(rows).to_have_count(1)
    assert refused(page) == []

    # The other pages with scripts of their own: feed health charts, finance, the API docs, the admin.
    page.goto(f"{base}/feeds/")
    expect(page.locator("[data-health-figure] .main-svg").first).to_be_attached()
    assert refused(page) == []
    for path, ready in [("/finance/", "h1"), ("/api/docs/", ".swagger-ui .info"), ("/admin/", "#content")]:
        page.goto(f"{base}{path}")
        page.locator(ready).first.wait_for(state="attached")
        page.wait_for_timeout(300)
        assert refused(page) == [], path

    assert console == []
    assert errors == []
