from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from django.conf import settings

from apps.events.validation import Rejection, ValidEvent, validate_items, validate_json_batch

from .base import FeedContext, MappedAdapter, SplitReport, TooManyEvents, UnreadableBody


def _items(body: bytes, limit: int | None = -1) -> list[Any]:
    """The body's events, shape-checked; more than `limit` (default INGEST_MAX_EVENTS; None: no
    limit, for a file that will be split) raise TooManyEvents."""
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
    cap = settings.INGEST_MAX_EVENTS if limit == -1 else limit
    if cap is not None and len(items) > cap:
        raise TooManyEvents(f"{len(items)} events in one body; at most {settings.INGEST_MAX_EVENTS}")
    return items


class CanonicalJsonAdapter(MappedAdapter):
    name = "canonical-json"
    content_types = ("application/json",)

    def read(self, body: bytes, ctx: FeedContext) -> list[Any]:
        return _items(body)

    def count(self, body: bytes, ctx: FeedContext) -> int:
        return len(_items(body))

    def announced_types(self, body: bytes, ctx: FeedContext) -> frozenset[str] | None:
        return frozenset(str(item.get("type")) for item in _items(body) if isinstance(item, dict))

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """A file of canonical JSON (one object or {"events": [...]}, the shapes a push takes; read
        whole, so at most INGEST_FILE_MAX_WHOLE_BYTES) → {"events": [...]} bodies of at most
        `max_events`."""
        items = _items(b"".join(chunks), limit=None)
        if not items:
            raise UnreadableBody('the file holds no event: want one event object or {"events": [ ... ]}')
        for start in range(0, len(items), max_events):
            yield orjson.dumps({"events": items[start : start + max_events]})

    def parse(self, body: bytes, ctx: FeedContext) -> list[ValidEvent | Rejection]:
        if body.lstrip().startswith(b'{"events"'):
            fast = validate_json_batch(body)
            if fast is not None:
                return fast
        return validate_items(_items(body))
