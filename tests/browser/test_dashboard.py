"""An ops lead watches the dashboard in a real browser: the charts draw, and the counters follow
exceptions opened and resolved in the background.

Everything the page learns comes the way it does in production: partner events posted to the
ingest API and a resolution posted to the exceptions API, on the ASGI test server, published by
the pipeline and pushed over the page's own /ws/ops/ socket. The test fails if that socket does
not connect (it does not stand in for live.js)."""

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User

from apps.accounts.services import api_token_create
from apps.exceptions.models import ExceptionCase
from tests.browser.conftest import CHROMIUM, AsgiLiveServer
from tests.browser.test_exception_queue import wait_until_live
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


def post_event(
    server: AsgiLiveServer, world: World, system: str, type_: str, refs: dict[str, str], **extra: Any
) -> None:
    """One partner event through the ingest API, as the partner sends it."""
    feed = world.feeds[system]
    event = {
        "event_id": f"live-{type_}-{'-'.join(refs.values())}",
        "type": type_,
        "occurred_at": at(0.2),
        "refs": refs,
        **extra,
    }
    response = httpx.post(
        f"{server.url}/api/v1/ingest/{feed.slug}/",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {feed.credentials.token}"},
    )
    assert response.status_code == 202, response.text


def test_an_ops_lead_watches_the_counters_follow_new_exceptions(
    asgi_live_server: AsgiLiveServer, page: Any, world: World
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{asgi_live_server.url}/login/?next=/dashboard/")
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

    wait_until_live(page)
    page.evaluate("window.notReloaded = true")

    # A partner exception, opened by the pipeline and pushed as exception.opened.
    post_event(
        asgi_live_server, world, "lastmile", "delivery.attempted", {"order": "SO-2"}, reason={"code": "CUSTOMER_ABSENT"}
    )
    expect(page.locator("#counter-open .counter-value")).to_have_text("2")
    expect(page.locator("#counter-urgent")).to_have_text("1")

    # A carrier's rejection is a high-severity case.
    post_event(
        asgi_live_server,
        world,
        "tms",
        "shipment.tender_rejected",
        {"order": "SO-1", "shipment": "SH-1"},
        reason={"code": "NO_CAPACITY"},
    )
    expect(page.locator("#counter-urgent")).to_have_text("2")
    expect(page.locator("#counter-open .counter-value")).to_have_text("3")

    # A burst: the first push refreshes at once, the last one is not lost to the throttle.
    for order in ("SO-0", "SO-1"):
        post_event(
            asgi_live_server,
            world,
            "lastmile",
            "delivery.attempted",
            {"order": order},
            reason={"code": "CUSTOMER_ABSENT"},
        )
    expect(page.locator("#counter-open .counter-value")).to_have_text("5")

    # Someone resolves the rejection through the API: exception.updated brings the counters down.
    rejected = ExceptionCase.objects.get(code="NO_CAPACITY")
    token = api_token_create(user=User.objects.get(username="olivia"), name="dashboard test")
    response = httpx.post(
        f"{asgi_live_server.url}/api/v1/exceptions/{rejected.id}/resolve/",
        json={"resolution": "re-tendered"},
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 200, response.text
    expect(page.locator("#counter-open .counter-value")).to_have_text("4")
    expect(page.locator("#counter-urgent")).to_have_text("1")
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("link", name="Last 24 hours").click()
    expect(page.get_by_role("link", name="Last 24 hours")).to_have_attribute("aria-current", "true")
    expect(page.locator("#chart-cycle .main-svg").first).to_be_attached(timeout=30_000)
