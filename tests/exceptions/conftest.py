import itertools
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import time_machine

from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.correlation.conftest import World, world  # noqa: F401 - the shared fixture
from tests.live.conftest import layer, sent  # noqa: F401 - the shared fixtures

NOW = "2026-11-26T09:00:00+00:00"  # after every event time the tests send


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def T(hour: int, minute: int = 0) -> str:
    return f"2026-11-25T{hour:02d}:{minute:02d}:00+00:00"


def attempt(w: World, at: str, order: str = "SO-1", code: str = "CUSTOMER_ABSENT", **extra: object) -> str:
    refs = extra.pop("refs", {"order": order})
    return w.send("lastmile", "delivery.attempted", refs, at, reason={"code": code}, **extra)


_ids = itertools.count(1)


def send_many(w: World, system: str, events: list[dict[str, Any]]) -> None:
    """Several events in one message (one processing batch)."""
    for e in events:
        e.setdefault("event_id", f"{system}-exc-{next(_ids)}")
    message = message_receive(
        feed=w.feeds[system], body=orjson.dumps({"events": events}), content_type="application/json"
    )
    message_process(message_id=message.id)
