"""Live tests: the channel layer of the test settings (Redis under a prefix of this run's own when
REDIS_URL is set, in-memory otherwise), a spy on its group_send, and sockets driven by Channels'
WebsocketCommunicator.

A scenario is a coroutine run with `async_to_sync`; whatever it does through `sync_to_async`
runs back in the test's thread, on the test's database connection and transaction, so that
`django_capture_on_commit_callbacks` sees the commits of the pipeline it drives."""

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from apps.live.messages import OPS_GROUP
from tests.correlation.conftest import World
from tests.factories import UserFactory

SentEvents = list[tuple[str, dict[str, Any]]]


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # Channels closes "old" connections around each database_sync_to_async call, which in a
    # test that holds a transaction means closing the test's own connection mid-test (Django's
    # test client avoids the same trap by disconnecting close_old_connections).
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture
def layer() -> Iterator[Any]:
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    yield layer
    async_to_sync(layer.flush)()


@pytest.fixture
def sent(layer: Any, monkeypatch: pytest.MonkeyPatch) -> SentEvents:
    """Every group_send made during the test, as (group, event); they still go through."""
    calls: SentEvents = []
    original = layer.group_send

    async def spy(group: str, event: dict[str, Any]) -> None:
        calls.append((group, event))
        await original(group, event)

    monkeypatch.setattr(layer, "group_send", spy)
    return calls


def sent_messages(sent: SentEvents) -> list[dict[str, Any]]:
    """The messages of every batch sent to the ops group, in order."""
    return [m for group, event in sent if group == OPS_GROUP for m in event["messages"]]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


class Socket:
    """A client of /ws/ops/ on an ASGI application (the real one, or the bare consumer)."""

    def __init__(self, application: Any, *, cookie: str = "", origin: str = "http://testserver") -> None:
        headers = [(b"origin", origin.encode())] if origin else []
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.communicator = WebsocketCommunicator(application, "/ws/ops/", headers=headers)

    async def connect(self) -> tuple[bool, Any]:
        result: tuple[bool, Any] = await self.communicator.connect()
        return result

    async def frames(self, *, until: Callable[[dict[str, Any]], bool] | None = None, timeout: float = 2.0) -> list:
        """The JSON frames received, until one satisfies `until` (or none comes for `timeout` s)."""
        out: list[dict[str, Any]] = []
        while True:
            if await self.communicator.receive_nothing(timeout=timeout):
                return out
            frame = await self.communicator.receive_output()
            assert frame["type"] == "websocket.send", frame
            out.append(orjson.loads(frame["text"]))
            if until is not None and until(out[-1]):
                return out

    async def close(self) -> None:
        await self.communicator.disconnect()


def session_cookie(client: Client) -> str:
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def world(db: None) -> World:
    return World()


@pytest.fixture
def logged_in(db: None) -> Callable[..., tuple[User, str]]:
    """A user of this role and the session cookie of a browser logged in as them."""

    def make(role: str | None, **extra: Any) -> tuple[User, str]:
        user = UserFactory(role=role, **extra)
        client = Client()
        client.force_login(user)
        return user, session_cookie(client)

    return make


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a sync callable in the test's thread and its on-commit hooks (the tests hold a
    transaction): `await commit(world.send, ...)` from a scenario."""

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return sync_to_async(call)
