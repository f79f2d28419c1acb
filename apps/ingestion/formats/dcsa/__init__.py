"""DCSA Track & Trace events (2.2 and 3.0): carriers' shipment, transport, equipment, IoT and
reefer events → canonical events.

Bodies: a JSON array of events (2.2 GET response / notification), one event, or a 3.0
`{"events": [...]}` (GetEventsResponse / PostEventsRequest). 2.x events are flat (`eventType`,
`eventClassifierCode`, `transportEventTypeCode`…); 3.0 events carry `eventClassification`
(`eventTypeCode`/`eventType`, `eventClassifierCode`/`eventClassifier`, 4-letter or spelled-out
codes) and `shipmentDetails` / `transportDetails` / `equipmentDetails`. Anything else (an Arrival
Notice, an error response, events nested one level down) is UnreadableBody saying so.

Mapping decisions (tables in tables.py; a feed overrides any entry):

* Type: the table of the event type (`dcsa.transport`, `dcsa.equipment`, `dcsa.shipment`,
  `dcsa.iot`, `dcsa.reefer`) over the event's code for an actual (ACT/ACTUAL) event, over
  `<code>/<classifier>` otherwise. Only actuals move a stage. `ARRI/EST` (an estimated arrival)
  is `shipment.eta_updated` with `eta` = eventDateTime. Every other estimate (an estimated
  departure or load is not an arrival time), every plan (PLN: the schedule, not news) and every
  request (REQ) is IGNORE by default; a feed that wants them maps e.g. `DEPA/EST`. IoT and
  reefer events are container telemetry: IGNORE (as EPCIS sensor reports).
* occurred_at: an actual's eventDateTime, offset kept. A non-actual "happens" when it is
  issued: eventCreatedDateTime (2.x) / eventUpdatedDateTime (3.0), else eventDateTime; the
  predicted time stays in attributes.eventDateTime (and in `eta` for an ETA).
* Times must be RFC 3339 with an offset, as DCSA requires: a time without one is a per-event
  rejection, not read in the feed's zone (a port call's local time is not the feed's). 2.x's
  eventCreatedDateTime is required; no creation or update time may lie in the future, nor an
  actual eventDateTime; a 2.x actual event may not be created before it happened (one day of
  slack for clocks).
* refs: booking (BKG, CBR, BOOKING…) → shipment; transport document (TRD, B/L) →
  tracking_number; PO reference → customer_po. A container (equipmentReference, EQ) goes to
  attributes.equipment: it is not a shipment (several share one, and it is reused for years).
  Only an event naming nothing else (the usual 3.0 equipment/IoT/reefer event) is kept on the
  container as refs.load, so that it is correlated once something links that load. FF, SI, CR,
  other documents stay in attributes.
* location: eventLocation, else the 2.x transport call (UN/LOCODE, name, coordinates); every
  UN/LOCODE is checked (pattern and ISO 3166 country). ISO 6346-shaped container numbers must
  pass their check digit. reason: the SMDG delay reason code(s) with the change remark; an
  exception type (customs selection, hold, cancellation) gets the event's code as reason.
* event_id: 2.x `dcsa:<eventID>` (eventIDs must be UUIDs); 3.0 `dcsa:<originating party>:
  <eventID>@<eventUpdatedDateTime>` (3.0 updates an event by re-sending its eventID, so each
  version is its own record); without an eventID a hash of the event. An eventID repeated in
  one body is rejected; a 3.0 retraction (isRetracted) is rejected, stating it.

`split` reads the file whole (JSON; files of tens of MB) and yields JSON arrays of at most
`max_events` events; a repeated eventID is then only caught within one body."""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings

from apps.events.validation import Rejection

from ..base import Candidate, FeedContext, MappedAdapter, SplitReport, UnreadableBody, reject
from . import checks
from .event import is_event, map_event
from .tables import CODE_TABLES

WANT = 'DCSA Track & Trace events as JSON: an array of events, one event, or {"events": [...]}'


def _describe(value: object) -> str:
    if isinstance(value, dict):
        keys = ", ".join(repr(str(k)[:40]) for k in list(value)[:6])
        return f"an object with keys {keys}" if value else "an empty object"
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def events_of(data: Any) -> list[Any]:
    """The body's event items; UnreadableBody when the body is not T&T events at all."""
    if isinstance(data, dict) and not is_event(data):
        if isinstance(data.get("events"), list):
            items: list[Any] = data["events"]
        elif notices := [key for key in ("arrivalNotices", "arrivalNoticeNotifications") if key in data]:
            raise UnreadableBody(
                f"not a DCSA Track & Trace event: a DCSA Arrival Notice ({notices[0]}); this feed reads {WANT}"
            )
        elif "feedbackElements" in data:
            messages = data["feedbackElements"] if isinstance(data["feedbackElements"], list) else []
            first = messages[0].get("message") if messages and isinstance(messages[0], dict) else None
            raise UnreadableBody(
                f"not DCSA Track & Trace events: a DCSA error response ({str(first)[:200]}); want {WANT}"
            )
        else:
            raise UnreadableBody(
                f"not a DCSA Track & Trace event: {_describe(data)} "
                f"(no eventType, eventClassification or events); want {WANT}"
            )
    elif isinstance(data, dict):
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise UnreadableBody(f"not DCSA Track & Trace events: the body is {_describe(data)}; want {WANT}")
    if items and not any(is_event(item) for item in items):
        raise UnreadableBody(
            f"not DCSA Track & Trace events: none of the {len(items)} items is an event (item 0 is "
            f"{_describe(items[0])}); the events must be the array's own elements; want {WANT}"
        )
    return items


class DcsaTntAdapter(MappedAdapter):
    name = "dcsa-tnt"
    content_types = ("application/json",)
    code_tables = CODE_TABLES

    def read(self, body: bytes, ctx: FeedContext) -> Iterable[Candidate]:
        """One candidate per event (none for an ignored code), in body order."""
        items = events_of(checks.load_json(body, WANT))
        return self._candidates(items, ctx)

    def _candidates(self, items: list[Any], ctx: FeedContext) -> Iterator[Candidate]:
        now = datetime.now(UTC)
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if not is_event(item):
                yield reject(
                    f"events[{index}]: {_describe(item)} is not a DCSA event "
                    "(want an object with eventType (2.x) or eventClassification (3.0))"
                )
                continue
            candidate = map_event(item, ctx, now, seen, index)
            if isinstance(candidate, Rejection):
                # Ignored events shift the candidates' indices: the errors name the source event.
                yield reject([f"events[{index}].{error}" for error in candidate.errors], candidate.event_id)
            elif candidate is not None:
                yield candidate

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """A file of T&T events (read whole) → JSON arrays of at most `max_events` events, each
        under the body size limit."""
        items = events_of(checks.load_json(b"".join(chunks), WANT))
        limit = settings.INGEST_MAX_BODY_BYTES - 1024
        batch: list[bytes] = []
        size = 2
        for item in items:
            encoded = orjson.dumps(item)
            if batch and (len(batch) >= max(1, max_events) or size + len(encoded) + 1 > limit):
                yield b"[" + b",".join(batch) + b"]"
                batch, size = [], 2
            batch.append(encoded)
            size += len(encoded) + 1
        if batch:
            yield b"[" + b",".join(batch) + b"]"
