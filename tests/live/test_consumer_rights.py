"""/ws/ops/ keeps checking who is listening: after a logout, a deactivation, a password change or
a role removal the next push is not delivered and the socket is closed (docs/live.md "When
rights are checked"). The changes are made as the logout view and the Django admin make them."""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.live.consumers import OpsConsumer
from apps.live.messages import HoldChangedMessage, HoldItem, OrderUpdatedMessage
from apps.live.publish import publish_on_commit
from controltower.asgi import application
from tests.factories import UserFactory

from .conftest import Socket, run, session_cookie

WINDOW = 0.2  # the consumers' re-check interval in these tests (5 s in production)

ORDER = OrderUpdatedMessage(type="order.updated", order="SO-1", stage="picked", open_exceptions=0)
LATER = OrderUpdatedMessage(type="order.updated", order="SO-1", stage="packed", open_exceptions=0)
HOLD = HoldChangedMessage(
    type="hold.changed",
    hold=HoldItem(
        id=3,
        invoice="INV-3",
        order="SO-1",
        status="held",
        reason="awaiting_pod",
        amount={"value": "120.00", "currency": "EUR"},
        held_since="2026-11-25T10:00:00Z",
        released_at=None,
        customer="Acme",
        release_hint="",
        manual=False,
        outcome="",
        posted_while_held=False,
    ),
)
CLOSED_SIGNED_OUT = {"type": "websocket.close", "code": 4401}
CLOSED_NOT_ALLOWED = {"type": "websocket.close", "code": 4403}


@pytest.fixture(autouse=True)
def short_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OpsConsumer, "recheck_seconds", WINDOW)


@pytest.fixture
def browser(db: None) -> Callable[[User], tuple[Client, str]]:
    """A browser that logged in as `user` with their password: its client and session cookie."""

    def make(user: User) -> tuple[Client, str]:
        client = Client()
        assert client.login(username=user.username, password="pw-for-tests")
        return client, session_cookie(client)

    return make


async def past_the_window() -> None:
    await asyncio.sleep(WINDOW + 0.05)


async def closed_without_the_push(socket: Socket, close: dict[str, Any], commit: Any) -> None:
    """The push made after the change is not delivered: the socket's next output is the close, and
    it stays silent for later pushes."""
    await commit(publish_on_commit, LATER)
    assert await socket.communicator.receive_output() == close
    await commit(publish_on_commit, ORDER)
    assert await socket.communicator.receive_nothing(timeout=0.3)


def test_after_a_logout_the_socket_of_that_session_is_closed_and_the_others_keep_listening(
    browser: Callable[..., Any], commit: Any
) -> None:
    user = UserFactory(role="cs_agent")
    laptop, laptop_cookie = browser(user)
    _, phone_cookie = browser(user)

    async def scenario() -> None:
        on_laptop, on_phone = Socket(application, cookie=laptop_cookie), Socket(application, cookie=phone_cookie)
        assert (await on_laptop.connect())[0]
        assert (await on_phone.connect())[0]
        await commit(publish_on_commit, ORDER)
        assert await on_laptop.frames(timeout=0.5) == [ORDER]
        assert await on_phone.frames(timeout=0.5) == [ORDER]

        response = await sync_to_async(laptop.post)("/logout/")
        assert response.status_code == 302
        await past_the_window()
        await commit(publish_on_commit, LATER)
        assert await on_laptop.communicator.receive_output() == CLOSED_SIGNED_OUT
        assert await on_phone.frames(timeout=0.5) == [LATER]  # still signed in there
        await on_phone.close()

    run(scenario)


def test_after_a_deactivation_the_next_push_is_not_delivered_and_the_socket_is_closed(
    browser: Callable[..., Any], commit: Any
) -> None:
    user = UserFactory(role="ops_lead")
    _, cookie = browser(user)

    def deactivate() -> None:  # what the admin's "Active" checkbox saves
        user.is_active = False
        user.save()

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]
        await commit(publish_on_commit, ORDER)
        assert await socket.frames(timeout=0.5) == [ORDER]
        await sync_to_async(deactivate)()
        await past_the_window()
        await closed_without_the_push(socket, CLOSED_SIGNED_OUT, commit)

    run(scenario)


def test_after_a_password_change_the_old_sessions_socket_is_closed(browser: Callable[..., Any], commit: Any) -> None:
    user = UserFactory(role="ops_lead")
    _, cookie = browser(user)

    def change_password() -> None:  # Django signs every other session out with it
        user.set_password("a-new-password")
        user.save()

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]
        await sync_to_async(change_password)()
        await past_the_window()
        await closed_without_the_push(socket, CLOSED_SIGNED_OUT, commit)

    run(scenario)


def test_a_role_removed_stops_its_messages_and_the_last_one_removed_closes_the_socket(
    browser: Callable[..., Any], commit: Any
) -> None:
    user = UserFactory(role="finance")
    _, cookie = browser(user)

    def publish_both() -> None:
        publish_on_commit(HOLD)
        publish_on_commit(ORDER)

    def finance_to_agent() -> None:  # the admin's "Groups" field
        user.groups.set([Group.objects.get(name="cs_agent")])

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]
        await commit(publish_both)
        assert await socket.frames(timeout=0.5) == [HOLD, ORDER]

        await sync_to_async(finance_to_agent)()
        await past_the_window()
        await commit(publish_both)
        assert await socket.frames(timeout=0.5) == [ORDER]  # an agent hears no holds

        await sync_to_async(user.groups.clear)()
        await past_the_window()
        await closed_without_the_push(socket, CLOSED_NOT_ALLOWED, commit)

    run(scenario)


def test_within_the_window_pushes_read_nothing_from_the_database(
    browser: Callable[..., Any], commit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every socket hears every committed transaction: re-reading the rights on each would cost
    # four queries per socket per transaction.
    monkeypatch.setattr(OpsConsumer, "recheck_seconds", 60.0)
    _, cookie = browser(UserFactory(role="cs_agent"))

    async def scenario() -> None:
        socket = Socket(application, cookie=cookie)
        assert (await socket.connect())[0]
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                await commit(publish_on_commit, ORDER)
            assert await socket.frames(timeout=0.5) == [ORDER] * 3
        assert queries.captured_queries == []
        await socket.close()

    run(scenario)
