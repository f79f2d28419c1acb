"""/ws/ops/ through the real ASGI application: who may connect, who hears what, one frame each."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client

from apps.exceptions.models import ExceptionCase
from apps.live.messages import HoldChangedMessage, HoldItem, OrderUpdatedMessage
from apps.live.publish import publish_on_commit
from controltower.asgi import application
from tests.correlation.conftest import World
from tests.factories import UserFactory

from .conftest import Socket, run

T10, T11 = "2026-11-25T10:00:00+00:00", "2026-11-25T11:00:00+00:00"


def is_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message["type"] == kind


def test_an_anonymous_socket_is_closed_with_4401(db: None) -> None:
    async def scenario() -> None:
        socket = Socket(application)
        connected, _ = await socket.connect()
        assert connected
        assert await socket.communicator.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_a_socket_from_a_foreign_origin_is_refused_at_the_handshake(logged_in: Callable[..., Any]) -> None:
    _, cookie = logged_in("ops_lead")

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie, origin="https://evil.example")
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_a_user_without_any_capability_is_closed_with_4403(logged_in: Callable[..., Any]) -> None:
    _, cookie = logged_in(None)

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        connected, _ = await socket.connect()
        assert connected
        assert await socket.communicator.receive_output() == {"type": "websocket.close", "code": 4403}

    run(scenario)


def test_an_ops_lead_hears_an_exception_open_and_then_change(
    logged_in: Callable[..., Any], commit: Any, world: World, layer: Any
) -> None:
    lead, cookie = logged_in("ops_lead", username="olivia")
    colleague = UserFactory(role="ops_lead", username="colleague")
    api = Client()
    api.force_login(lead)
    world.send("erp", "order.created", {"order": "SO-1"}, T10)

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]

        await commit(
            world.send, "lastmile", "delivery.attempted", {"order": "SO-1"}, T11, reason={"code": "CUSTOMER_ABSENT"}
        )
        frames = await socket.frames(until=is_type("exception.opened"))
        opened = frames[-1]["exception"]
        assert opened["order"] == "SO-1"
        assert opened["code"] == "CUSTOMER_ABSENT"
        assert opened["status"] == "open"
        assert opened["occurrences"] == 1
        # the order's message of the same commit counts the new case
        assert {"type": "order.updated", "order": "SO-1", "stage": "created", "open_exceptions": 1} in (
            frames + await socket.frames(timeout=0.3)
        )

        case_id = opened["id"]
        r = await commit(
            api.post,
            f"/api/v1/exceptions/{case_id}/assign/",
            {"assignee": "colleague"},
            content_type="application/json",
        )
        assert r.status_code == 200
        [updated] = [f for f in await socket.frames(until=is_type("exception.updated")) if f["type"] != "order.updated"]
        assert updated["exception"]["id"] == case_id
        assert updated["exception"]["assignee"] == "colleague"

        r = await commit(
            api.post,
            f"/api/v1/exceptions/{case_id}/resolve/",
            {"resolution": "rebooked"},
            content_type="application/json",
        )
        assert r.status_code == 200
        frames = await socket.frames(until=is_type("exception.updated"))
        assert frames[-1]["exception"]["status"] == "resolved"
        rest = frames + await socket.frames(timeout=0.3)
        assert {"type": "order.updated", "order": "SO-1", "stage": "created", "open_exceptions": 0} in rest
        await socket.close()

    run(scenario)
    assert colleague.exception_cases.count() == 1
    assert ExceptionCase.objects.get().status == "resolved"


def test_a_cs_agent_hears_the_orders_an_event_moved(logged_in: Callable[..., Any], commit: Any, world: World) -> None:
    _, cookie = logged_in("cs_agent")

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]
        await commit(world.send, "erp", "order.created", {"order": "SO-7"}, T10)
        await commit(world.send, "wms", "pick.completed", {"order": "SO-7", "warehouse_task": "WT-1"}, T11)
        frames = await socket.frames(timeout=0.5)
        assert frames == [
            {"type": "order.updated", "order": "SO-7", "stage": "created", "open_exceptions": 0},
            {"type": "order.updated", "order": "SO-7", "stage": "picked", "open_exceptions": 0},
        ]
        await socket.close()

    run(scenario)


def test_each_user_hears_only_the_message_types_they_may_see(
    logged_in: Callable[..., Any], commit: Any, layer: Any
) -> None:
    _, agent_cookie = logged_in("cs_agent")
    _, finance_cookie = logged_in("finance")
    _, holds_only_cookie = logged_in(None)
    holds_only = User.objects.order_by("-id").first()
    assert holds_only is not None
    holds_only.user_permissions.add(Permission.objects.get(codename="view_finance"))
    hold = HoldChangedMessage(
        type="hold.changed",
        hold=HoldItem(
            id=3,
            invoice="INV-3",
            order="SO-1",
            status="held",
            reason="awaiting_pod",
            amount="120.00",
            held_since="2026-11-25T10:00:00Z",
            released_at=None,
        ),
    )
    order = OrderUpdatedMessage(type="order.updated", order="SO-1", stage="delivered", open_exceptions=0)

    def publish_both() -> None:
        publish_on_commit(hold)
        publish_on_commit(order)

    async def scenario() -> None:
        sockets = {
            name: Socket(application, cookie=c)
            for name, c in [("agent", agent_cookie), ("finance", finance_cookie), ("holds", holds_only_cookie)]
        }
        for socket in sockets.values():
            assert (await socket.connect())[0]
        await commit(publish_both)
        assert await sockets["agent"].frames(timeout=0.5) == [order]
        assert await sockets["finance"].frames(timeout=0.5) == [hold, order]  # one frame per message
        assert await sockets["holds"].frames(timeout=0.5) == [hold]
        for socket in sockets.values():
            await socket.close()

    run(scenario)


def test_an_inactive_user_is_closed_with_4401(logged_in: Callable[..., Any]) -> None:
    user, cookie = logged_in("ops_lead")
    User.objects.filter(id=user.id).update(is_active=False)

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]
        assert await socket.communicator.receive_output() == {"type": "websocket.close", "code": 4401}

    run(scenario)


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis channel layer (REDIS_URL)")
def test_an_idle_socket_outlives_the_redis_read_timeout(logged_in: Callable[..., Any], commit: Any) -> None:
    # redis-py 8 reads with a 5 s timeout by default, as long as channels-redis's BZPOPMIN: the
    # settings give the layer a longer one, or an idle consumer dies after ~5 s.
    _, cookie = logged_in("cs_agent")
    order = OrderUpdatedMessage(type="order.updated", order="SO-1", stage="picked", open_exceptions=0)

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]
        await asyncio.sleep(6.5)
        await commit(publish_on_commit, order)
        assert await socket.frames(timeout=1) == [order]
        await socket.close()

    run(scenario)
