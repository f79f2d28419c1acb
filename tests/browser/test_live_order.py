"""A customer-service agent keeps an order open; the next event for it shows up without a reload."""

import os
from typing import Any

import httpx
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


@pytest.fixture
def order_world(transactional_db: None) -> World:
    UserFactory(username="carla", role="cs_agent")
    world = World()
    world.send("erp", "order.created", {"order": "SO-1001"}, "2026-11-25T08:00:00+00:00", customer="Acme Retail")
    world.send("wms", "pick.completed", {"order": "SO-1001", "warehouse_task": "WT-5"}, "2026-11-25T09:00:00+00:00")
    world.send("erp", "order.created", {"order": "SO-2002"}, "2026-11-25T08:30:00+00:00")
    return world


def test_an_event_for_the_open_order_appears_without_a_reload(
    asgi_live_server: Any, page: Any, order_world: World
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{asgi_live_server.url}/login/?next=/orders/SO-1001/")
    page.get_by_label("Username").fill("carla")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_contain_text("SO-1001")
    badge = page.locator("#live-status")
    expect(badge).to_have_attribute("data-state", "connected")
    expect(badge).to_contain_text("live")
    expect(page.locator("h1 .stage")).to_contain_text("picked")
    page.evaluate("window.notReloaded = true")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    def post(system: str, event: dict[str, Any]) -> None:
        feed = order_world.feeds[system]
        response = httpx.post(
            f"{asgi_live_server.url}/api/v1/ingest/{feed.slug}/",
            json={"events": [event]},
            headers={"Authorization": f"Bearer {feed.credentials.token}"},
        )
        assert response.status_code == 202, response.text

    # Another order moving does not make this page fetch anything.
    post("wms", {"event_id": "p-2", "type": "pick.completed", "occurred_at": "2026-11-25T09:30:00+00:00",
                 "refs": {"order": "SO-2002", "warehouse_task": "WT-9"}})  # fmt: skip
    page.wait_for_timeout(600)
    assert not [u for u in requests if "/orders/" in u]

    post("wms", {"event_id": "k-1", "type": "pack.completed", "occurred_at": "2026-11-25T10:00:00+00:00",
                 "refs": {"warehouse_task": "WT-5", "shipment": "SH-7"}})  # fmt: skip
    expect(page.locator("h1 .stage")).to_contain_text("packed", timeout=5_000)
    expect(page.locator("#events")).to_contain_text("pack.completed")
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#timeline-chart .main-svg").first).to_be_attached()
    page.mouse.move(0, 0)  # the new chart appeared under the pointer: no hover state in the picture
    page.wait_for_timeout(500)
    page.screenshot(path=SCREENSHOTS / "order_live.png", full_page=True)
