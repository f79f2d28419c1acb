"""custom-json: a partner's own JSON, read through the feed's declarative mapping
(`FeedContext.mapping`, stored per feed; checked by `mapping_errors` before it is saved).

A mapping, in full:

    {"version": 1,
     "events": "$.data.items[*]",
     "fields": {
       "event_id": "id",
       "type": {"path": "status.code", "table": "custom.status"},
       "occurred_at": {"path": "ts", "timezone": "Europe/Berlin"},
       "source_status": "status.code",
       "refs.order": "order.number",
       "refs.tracking_number": {"path": "parcels[*].tracking", "optional": true},
       "refs.delivery_run": "$.data.route_id",
       "location.code": "hub",
       "location.lat": {"path": "geo.lat", "optional": true},
       "reason.code": {"path": "problem", "optional": true},
       "eta": {"path": "eta_epoch", "format": "epoch", "optional": true},
       "amount.value": {"path": "cod.amount", "optional": true},
       "amount.currency": {"const": "EUR"},
       "pod.signed_by": {"path": "pod.name", "default": "unknown"},
       "lines": {"path": "items[*]", "sku": "sku", "qty": "quantity", "uom": {"const": "EA"}}
     },
     "tables": {"custom.status": {"DLV": "delivery.completed", "OFD": "delivery.out_for_delivery",
                                  "X": "ignore"}},
     "attributes": "rest"}

* `version`: 1 (the default).
* `events`: where the records are, from the body's root (default `$`: the body is one record,
  or an array of records). A path that finds an array gives its elements; one that finds an
  object gives that record. A path that finds nothing → UnreadableBody.
* `fields`: canonical field → its source, relative to the record (paths: see paths.py; `$…`
  reads the body's root, e.g. an envelope's route id). A source is a path string, or an object
  of `path` or `const`, with `default` (used when the path finds nothing) or `optional: true`
  (the field is then absent); a path that finds nothing, null or "" is otherwise a rejection
  of the record (`record 3: refs.order: path order.number not found`). Fields: every scalar
  of the contract by its dotted name (`location.code`, `reason.text`, `amount.value`,
  `pod.photo_ref`, …), `refs.<kind>` (a [*] path or an array value gives several ids), and
  `lines` (`path` to the items, and `sku`, `qty`, `uom` sources relative to each item).
  Required: `type`, `occurred_at` and one `refs.<kind>`.
* `type`: a `const` canonical type, or a path through a code table (`table`): never the
  partner's code taken as a type. The code is looked up in the feed's code tables first
  (`ctx.codes`: an override of the same name, versioned by the platform, wins), then in the
  mapping's `tables`; unmapped → the record is rejected naming the table; "ignore" → no event.
  The looked-up code is the event's `source_status` unless `source_status` is mapped.
  Tables map to event types only (as every feed code table does), so they serve `type` only.
* Times (`occurred_at`, `eta`, `promised_by`): `format` is `iso` (default, ISO 8601), `epoch`
  or `epoch_ms` (Unix time), or a strptime pattern (`%d.%m.%Y %H:%M`). A time without an offset
  is read in the source's `timezone`, else the feed's zone; an offset sent is kept.
* Values: strings are trimmed, numbers become strings where the contract wants one (`12.5`
  for an amount), `location.lat|lon` and `qty` must be numbers (or numeric strings).
* `event_id`: the mapped id; unmapped (or an optional path that finds nothing): a hash of the
  source record, `custom-json:<sha256[:32]>`, the same in any envelope and whatever the type
  mapping says.
* `attributes`: `"rest"` (default: every part of the record the mapping did not read),
  `"none"`, or a list of paths (each value under its path text).

Rejections name the record by its 1-based position among the records `events` found. A
body that is not JSON, or a feed without a valid mapping, is UnreadableBody.

`split`: the body is read whole (JSON); when `events` is `$` or `$[*]` and no field reads the
root, the records are cut into JSON arrays of at most `max_events`, which the same mapping
reads as the whole did; any other mapping keeps the base fallback (one body, at most
`max_events` events)."""

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..base import Candidate, FeedContext, MappedAdapter, SplitReport, UnreadableBody
from .engine import map_record, source_event_id
from .paths import PathError, find, mapping_fields, parse_path
from .spec import Compiled, compile_mapping, mapping_errors

__all__ = [
    "CustomJsonAdapter",
    "PathError",
    "compile_mapping",
    "mapping_errors",
    "mapping_fields",
    "parse_path",
    "source_event_id",
]


def compiled_mapping(ctx: FeedContext) -> Compiled:
    """The feed's compiled mapping, or UnreadableBody saying what is wrong with it."""
    if not ctx.mapping:
        raise UnreadableBody(
            "the feed's mapping is invalid: the feed has no mapping (a custom-json feed reads a partner's "
            "JSON only through one)"
        )
    compiled, errors = compile_mapping(ctx.mapping)
    if compiled is None:
        raise UnreadableBody("the feed's mapping is invalid: " + "; ".join(errors))
    return compiled


def _load(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(f"the body is not JSON: {exc}") from None


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(repr(k[:40]) for k in list(data)[:10])
        return f"the body is an object with keys {keys}" if keys else "the body is an empty object"
    if isinstance(data, list):
        return f"the body is an array of {len(data)}"
    return f"the body is a {type(data).__name__}"


def records(compiled: Compiled, data: Any) -> list[Any]:
    """The records the mapping's `events` finds (an array found gives its elements)."""
    where = compiled.events.without_trailing_wildcard()
    found = [(place, value) for place, value in find(where, data, data) if value is not None]
    if not found:
        raise UnreadableBody(f"no records at {compiled.events.text} (the mapping's events): {_describe(data)}")
    out: list[Any] = []
    for _, value in found:
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


class CustomJsonAdapter(MappedAdapter):
    name = "custom-json"
    content_types = ("application/json",)

    def read(self, body: bytes, ctx: FeedContext) -> Iterator[Candidate]:
        """One candidate per record (none for an ignored type), in body order."""
        compiled = compiled_mapping(ctx)
        data = _load(body)
        for number, record in enumerate(records(compiled, data), 1):
            item = map_record(compiled, record, number, data, ctx)
            if item is not None:
                yield item

    def announced_types(self, body: bytes, ctx: FeedContext) -> frozenset[str] | None:
        """The types the mapping gives the body's records (read in full: a small body)."""
        return frozenset(str(c.get("type")) for c in self.candidates(body, ctx) if isinstance(c, dict))

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """Arrays of at most `max_events` records when the mapping allows it (see the module's
        docstring), else the base fallback."""
        compiled = compiled_mapping(ctx)
        body = b"".join(chunks)
        data = _load(body)
        if not compiled.splittable or not isinstance(data, list):
            yield from super().split([body], ctx, max_events=max_events, report=report)
            return
        for start in range(0, len(data), max_events):
            yield orjson.dumps(data[start : start + max_events])
