from typing import Any

import orjson
from django.conf import settings

from apps.events.validation import Rejection, ValidEvent, validate_items, validate_json_batch

from .base import TooManyEvents, UnreadableBody


def _items(body: bytes) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(f"body is not JSON: {exc}") from None
    if isinstance(data, dict) and "events" in data:
        if set(data) != {"events"} or not isinstance(data["events"], list):
            raise UnreadableBody('want one event object or {"events": [ ... ]}')
        items: list[Any] = data["events"]
    elif isinstance(data, dict):
        items = [data]
    else:
        raise UnreadableBody('want one event object or {"events": [ ... ]}')
    if len(items) > settings.INGEST_MAX_EVENTS:
        raise TooManyEvents(f"{len(items)} events in one body; at most {settings.INGEST_MAX_EVENTS}")
    return items


class CanonicalJsonAdapter:
    content_types: tuple[str, ...] = ("application/json",)

    def count(self, body: bytes) -> int:
        return len(_items(body))

    def announced_types(self, body: bytes) -> frozenset[str] | None:
        return frozenset(str(item.get("type")) for item in _items(body) if isinstance(item, dict))

    def parse(self, body: bytes) -> list[ValidEvent | Rejection]:
        if body.lstrip().startswith(b'{"events"'):
            fast = validate_json_batch(body)
            if fast is not None:
                return fast
        return validate_items(_items(body))
