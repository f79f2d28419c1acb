"""An ops lead watches the dashboard in a real browser: the charts draw, and the counters follow
exceptions opened in the background, through the live events the page listens to.

On the ASGI test server (websockets) a partner exception sent through the pipeline reaches the
page as a pushed `exception.opened`; on the plain live server the test dispatches the DOM event
that static/js/live.js would have dispatched."""

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.exceptions.models import ExceptionCase
from tests.browser.conftest import CHROMIUM
from tests.browser.test_feed_pages import SCREENSHOTS
from tests.correlation.conftest import World
from tests.factories import UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]

START = datetime.now(UTC).replace(microsecond=0)


def at(hours_ago: float) -> str:
    return (START - timedelta(hours=hours_ago)).isoformat()


def open_case(n: int, severity: str = "medium") -> None:
    ExceptionCase.objects.create(
        kind="partner_exception",
        code="CUSTOMER_ABSENT",
        fingerprint=f"browser:{n}",
        subject=f"order:SO-{n}",
        severity=severity,
        opened_at=START - timedelta(hours=n),
        last_seen_at=START - timedelta(hours=n),
        occurrences=1,
    )


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Any:
    """The ASGI live server with /ws/ops/ when the suite has one, the WSGI one otherwise."""
    try:
        return request.getfixturevalue("asgi_live_server")
    except pytest.FixtureLookupError:
        return request.getfixturevalue("live_server")


@pytest.fixture
def world(transactional_db: None) -> World:
    UserFactory(username="olivia", role="ops_lead")
    world = World()
    for n, (picked, delivered, promised) in enumerate(((30, 6, 2), (20, 4, 8), (10, 3, 1))):
        order, shipment = f"SO-{n}", f"SH-{n}"
        world.send("erp", "order.created", {"order": order}, at(picked + 3), promised_by=at(promised))
        world.send("erp", "order.released", {"order": order}, at(picked + 2 + n))
        world.send("wms", "pick.completed", {"order": order, "warehouse_task": f"WT-{n}"}, at(picked))
        world.send("tms", "shipment.picked_up", {"order": order, "shipment": shipment}, at(picked - 1))
        world.send("lastmile", "delivery.completed", {"shipment": shipment}, at(delivered))
    open_case(1, severity="high")
    return world


def _live(page: Any) -> bool:
    """True when the page's websocket is up (static/js/live.js marks body[data-live])."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("() => document.body.dataset.live === 'connected'", timeout=5_000)
    except PlaywrightTimeout:  # the WSGI server has no /ws/ops/: the socket never connects
        return False
    return True


def _dispatch(page: Any, name: str) -> None:
    # Stands in for static/js/live.js, which turns each websocket message into this DOM event.
    page.evaluate(f"document.body.dispatchEvent(new CustomEvent('{name}', {{detail: {{}}}}))")


def test_an_ops_lead_watches_the_counters_follow_new_exceptions(server: Any, page: Any, world: World) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/login/?next=/dashboard/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Operations dashboard")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="Dashboard")).to_have_attribute(
        "aria-current", "page"
    )

    # plotly.min.js is 4.6 MB from the test server: give it time on a loaded machine
    for chart in ("exceptions", "cycle", "on-time", "events", "lag"):
        expect(page.locator(f"#chart-{chart} .main-svg").first).to_be_attached(timeout=30_000)
    expect(page.locator("#table-cycle")).to_contain_text("release → pick")
    expect(page.locator("#counter-open .counter-value")).to_have_text("1")
    expect(page.locator("#counter-on-time .counter-value")).to_have_text("67%")
    page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)

    pushed = _live(page)
    world.send(
        "lastmile", "delivery.attempted", {"order": "SO-2"}, at(0.2), reason={"code": "CUSTOMER_ABSENT"}
    )  # a partner exception, opened by the pipeline
    if not pushed:
        _dispatch(page, "live:exception-opened")
    expect(page.locator("#counter-open .counter-value")).to_have_text("2")

    open_case(2, severity="critical")
    _dispatch(page, "live:exception-updated")
    expect(page.locator("#counter-urgent")).to_have_text("2")

    # A burst: the first event refreshes at once, the last one is not lost to the throttle.
    open_case(3)
    _dispatch(page, "live:exception-opened")
    open_case(4)
    _dispatch(page, "live:exception-updated")
    expect(page.locator("#counter-open .counter-value")).to_have_text("5")

    page.get_by_role("link", name="Last 24 hours").click()
    expect(page.get_by_role("link", name="Last 24 hours")).to_have_attribute("aria-current", "true")
    expect(page.locator("#chart-cycle .main-svg").first).to_be_attached(timeout=30_000)
