import itertools
from typing import Any

import orjson
import pytest

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory

_ids = itertools.count(1)


class World:
    """Feeds for the four systems and helpers to send events and read the outcome."""

    def __init__(self) -> None:
        self.feeds = {s: FeedFactory(system=s) for s in ("erp", "wms", "tms", "lastmile")}

    def send(
        self, system: str, type_: str, refs: dict[str, Any], at: str = "2026-11-25T10:00:00+00:00", **extra: Any
    ) -> str:
        event_id = extra.pop("event_id", f"{system}-{next(_ids)}")
        event = {"event_id": event_id, "type": type_, "occurred_at": at, "refs": refs, **extra}
        message = message_receive(
            feed=self.feeds[system], body=orjson.dumps({"events": [event]}), content_type="application/json"
        )
        message_process(message_id=message.id)
        return event_id

    def timeline(self, order: str) -> list[str]:
        return list(
            TimelineEntry.objects.filter(order__kind="order", order__value=order)
            .order_by("occurred_at", "event__received_at", "event_id")
            .values_list("event__event_key", flat=True)
        )

    def order(self, order: str) -> OrderProjection:
        return OrderProjection.objects.get(order_key=order)


@pytest.fixture
def world(db: None) -> World:
    return World()
