"""EPCIS 2.0 JSON / JSON-LD documents → `RawEvent`s, and their split into smaller documents.

Read: an ``EPCISDocument`` (``epcisBody.eventList``), an ``EPCISQueryDocument``
(``epcisBody.queryResults.resultsBody.eventList``) or one bare event (the capture interface's
single-event form). A master-data document, a document whose body has no ``eventList`` and a
capture-job status hold no events (zero events, no error). JSON-LD is not expanded as a graph:
the standard members are read by name, and the document's ``@context`` prefixes (its inline
objects; the GS1 context URLs are never fetched) give each user extension its namespace."""

from collections.abc import Iterator
from typing import Any

import orjson

from ..base import UnreadableBody
from .model import (
    EPC_LISTS,
    EVENT_KINDS,
    MAX_EXT_DEPTH,
    POINTS,
    QUANTITY_LISTS,
    SCALAR_FIELDS,
    SENSOR_METADATA,
    SENSOR_REPORT,
    TYPED_LISTS,
    ErrorDeclaration,
    Ext,
    Point,
    Quantity,
    RawEvent,
    Scalar,
    SensorElement,
    SensorReport,
    TooDeep,
    Typed,
    norm_ns,
    split_iri,
)

NOT_EPCIS = (
    'not an EPCIS JSON document: expected an object with "type": "EPCISDocument" and '
    "epcisBody.eventList (or an EPCISQueryDocument, or one event with its type)"
)
_KINDS = ", ".join(sorted(EVENT_KINDS))
_STANDARD = frozenset(
    {*SCALAR_FIELDS, *EPC_LISTS, *QUANTITY_LISTS, *POINTS, *TYPED_LISTS}
    | {"sensorElementList", "persistentDisposition", "certificationInfo", "errorDeclaration", "ilmd"}
)


def load(body: bytes) -> Any:
    """The JSON value of `body` (UnreadableBody when it is not JSON, or nested deeper than
    orjson's limit)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(f"body is not JSON: {exc}") from None


def locate(data: Any) -> tuple[tuple[str, ...] | None, list[Any]]:
    """Where the events of an EPCIS JSON document are: (path of the eventList, the events);
    path () for a bare event, None for a document without events."""
    if not isinstance(data, dict):
        raise UnreadableBody(NOT_EPCIS)
    doc_type = data.get("type")
    if isinstance(doc_type, str) and doc_type in EVENT_KINDS:
        return (), [data]
    body = data.get("epcisBody")
    if doc_type == "EPCISQueryDocument" or (isinstance(body, dict) and "queryResults" in body):
        results = body.get("queryResults") if isinstance(body, dict) else None
        results_body = results.get("resultsBody") if isinstance(results, dict) else None
        if not isinstance(results_body, dict):
            return None, []  # a query document without results (an exception, an empty answer)
        return _events(results_body, ("epcisBody", "queryResults", "resultsBody", "eventList"))
    if doc_type == "EPCISDocument" or "epcisBody" in data:
        if not isinstance(body, dict):
            raise UnreadableBody("epcisBody: expected an object holding eventList")
        return _events(body, ("epcisBody", "eventList"))
    if doc_type == "EPCISMasterDataDocument" or ("captureID" in data and ("running" in data or "success" in data)):
        return None, []
    raise UnreadableBody(NOT_EPCIS)


def _events(holder: dict[str, Any], path: tuple[str, ...]) -> tuple[tuple[str, ...] | None, list[Any]]:
    events = holder.get("eventList")
    if events is None:
        return None, []  # e.g. a body with a vocabularyList only
    if not isinstance(events, list):
        raise UnreadableBody(f"{'.'.join(path)}: expected an array of events")
    return path, events


def prefixes(data: Any) -> dict[str, str]:
    """The prefix → IRI definitions of a document's inline ``@context`` objects."""
    context = data.get("@context") if isinstance(data, dict) else None
    items = context if isinstance(context, list) else [context]
    out: dict[str, str] = {}
    for item in items:
        if isinstance(item, dict):
            for prefix, iri in item.items():
                if isinstance(prefix, str) and isinstance(iri, str) and not prefix.startswith("@"):
                    out[prefix] = iri
    return out


def read(data: Any) -> Iterator[RawEvent]:
    """The events of a loaded EPCIS JSON document, in order."""
    _, events = locate(data)
    context = prefixes(data)
    for position, item in enumerate(events, start=1):
        yield to_raw(item, position, context)


def split(body: bytes, max_events: int) -> Iterator[bytes]:
    """A JSON document → documents with the same header members and @context, each with at
    most `max_events` of its events, in order (none for a document without events)."""
    data = load(body)
    path, events = locate(data)
    if path is None:
        return
    if path == ():
        yield body
        return
    for start in range(0, len(events), max_events):
        yield orjson.dumps(_with_events(data, path, events[start : start + max_events]))


def _with_events(node: dict[str, Any], path: tuple[str, ...], events: list[Any]) -> dict[str, Any]:
    copy = dict(node)
    copy[path[0]] = events if len(path) == 1 else _with_events(node[path[0]], path[1:], events)
    return copy


def to_raw(item: Any, position: int, context: dict[str, str]) -> RawEvent:
    """One eventList member → RawEvent (problems listed, never raised)."""
    if not isinstance(item, dict):
        return RawEvent(kind="?", position=position, problems=[f"not an EPCIS event: expected an object ({_KINDS})"])
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        shown = kind[:40] if isinstance(kind, str) else "no type"
        return RawEvent(kind=shown, position=position, problems=[f"type: expected one of {_KINDS}"])
    event = RawEvent(kind=kind, position=position)
    try:
        for key, value in item.items():
            _member(event, key, value, context)
    except TooDeep:
        event.problems.append(f"a user extension is nested deeper than {MAX_EXT_DEPTH} levels: flatten it")
    return event


def _member(event: RawEvent, key: str, value: Any, context: dict[str, str]) -> None:
    if key.startswith("@") or key == "type":
        return
    if value is None and (key in _STANDARD):
        return  # JSON null: the field is absent
    if key in SCALAR_FIELDS:
        if isinstance(value, str):
            event.scalars[key] = value
        else:
            event.problems.append(f"{key}: expected a string")
    elif key in EPC_LISTS:
        event.epcs[key] = _strings(event, key, value, "an array of EPC URIs")
    elif key in QUANTITY_LISTS:
        event.quantities[key] = _quantities(event, key, value)
    elif key in POINTS:
        event.points[key] = _point(event, key, value, context)
    elif key in TYPED_LISTS:
        event.typed[key] = _typed(event, key, value, TYPED_LISTS[key])
    elif key == "sensorElementList":
        event.sensors = _sensors(event, value, context)
    elif key == "persistentDisposition":
        if isinstance(value, dict):
            event.persistent = {
                k: _strings(event, f"persistentDisposition.{k}", value.get(k), "an array of dispositions")
                for k in ("set", "unset")
                if k in value
            }
        else:
            event.problems.append("persistentDisposition: expected an object with set / unset")
    elif key == "certificationInfo":
        event.certification = _strings(event, key, value, "a URI or an array of URIs")
    elif key == "errorDeclaration":
        event.error = _error(event, value, context)
    elif key == "ilmd":
        if isinstance(value, dict):
            event.ilmd = _ext_members(value, context, 1)
        else:
            event.problems.append("ilmd: expected an object")
    else:
        event.extensions.extend(_ext(key, value, context, 1))


def _strings(event: RawEvent, where: str, value: Any, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if all(isinstance(v, str) for v in items):
        return list(items)
    event.problems.append(f"{where}: expected {what} (strings)")
    return [v for v in items if isinstance(v, str)]


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return orjson.dumps(value).decode()  # an array or object where a value belongs: kept, as JSON


def _quantities(event: RawEvent, key: str, value: Any) -> list[Quantity]:
    out: list[Quantity] = []
    for n, item in enumerate(value if isinstance(value, list) else [value]):
        epc_class = item.get("epcClass") if isinstance(item, dict) else None
        uom = item.get("uom") if isinstance(item, dict) else None
        if not isinstance(epc_class, str) or not (uom is None or isinstance(uom, str)):
            event.problems.append(f"{key}[{n}]: expected an object with epcClass (and quantity, uom)")
            continue
        assert isinstance(item, dict)
        out.append(Quantity(epc_class=epc_class, quantity=_scalar(item.get("quantity")), uom=uom))
    return out


def _point(event: RawEvent, key: str, value: Any, context: dict[str, str]) -> Point:
    if not isinstance(value, dict) or not isinstance(value.get("id", ""), str):
        event.problems.append(f"{key}: expected an object with an id")
        return Point(id=None)
    rest = {k: v for k, v in value.items() if k != "id"}
    return Point(id=value.get("id"), ext=_ext_members(rest, context, 1))


def _typed(event: RawEvent, key: str, value: Any, member: str) -> list[Typed]:
    out: list[Typed] = []
    for n, item in enumerate(value if isinstance(value, list) else [value]):
        ident = item.get(member) if isinstance(item, dict) else None
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not (kind is None or isinstance(kind, str)):
            event.problems.append(f"{key}[{n}]: expected an object with {member} (and type) strings")
            continue
        out.append(Typed(value=ident, type=kind))
    return out


def _sensors(event: RawEvent, value: Any, context: dict[str, str]) -> list[SensorElement]:
    out: list[SensorElement] = []
    for n, item in enumerate(value if isinstance(value, list) else [value]):
        if not isinstance(item, dict):
            event.problems.append(f"sensorElementList[{n}]: expected an object")
            continue
        element = SensorElement(metadata=None)
        for key, member in item.items():
            if key == "sensorMetadata" and isinstance(member, dict):
                element.metadata, element.metadata_ext = _fields(member, SENSOR_METADATA, context)
            elif key == "sensorReport":
                for report in member if isinstance(member, list) else [member]:
                    if isinstance(report, dict):
                        fields, ext = _fields(report, SENSOR_REPORT, context)
                        element.reports.append(SensorReport(fields=fields, ext=ext))
            elif not key.startswith("@"):
                element.ext.extend(_ext(key, member, context, 1))
        out.append(element)
    return out


def _fields(
    item: dict[str, Any], names: tuple[str, ...], context: dict[str, str]
) -> tuple[dict[str, Scalar], list[Ext]]:
    fields = {k: _scalar(v) for k, v in item.items() if k in names}
    return fields, _ext_members({k: v for k, v in item.items() if k not in names}, context, 1)


def _error(event: RawEvent, value: Any, context: dict[str, str]) -> ErrorDeclaration | None:
    if not isinstance(value, dict):
        event.problems.append("errorDeclaration: expected an object")
        return None
    time, reason = value.get("declarationTime"), value.get("reason")
    if not (time is None or isinstance(time, str)) or not (reason is None or isinstance(reason, str)):
        event.problems.append("errorDeclaration: declarationTime and reason must be strings")
        return None
    ids = value.get("correctiveEventIDs")
    corrective = [] if ids is None else _strings(event, "errorDeclaration.correctiveEventIDs", ids, "event ids")
    rest = {k: v for k, v in value.items() if k not in ("declarationTime", "reason", "correctiveEventIDs")}
    return ErrorDeclaration(
        declaration_time=time, reason=reason, corrective_event_ids=corrective, ext=_ext_members(rest, context, 1)
    )


def _ext_members(members: dict[str, Any], context: dict[str, str], depth: int) -> list[Ext]:
    return [
        node for key, value in members.items() if not key.startswith("@") for node in _ext(key, value, context, depth)
    ]


def _ext(key: str, value: Any, context: dict[str, str], depth: int) -> list[Ext]:
    """A JSON-LD member → Ext nodes (an array: one node per item, as XML repeats the element)."""
    if depth > MAX_EXT_DEPTH:
        raise TooDeep
    name = _expand(key, context)
    if isinstance(value, list):
        return [node for item in value for node in _ext(key, item, context, depth + 1)]
    if isinstance(value, dict):
        if "@value" in value:  # a JSON-LD value object
            return [Ext(key=key, name=name, value=_scalar(value["@value"]))]
        return [Ext(key=key, name=name, children=_ext_members(value, context, depth + 1))]
    return [Ext(key=key, name=name, value=value)]


def _expand(key: str, context: dict[str, str]) -> str:
    """``example:myField`` → ``{http://ns.example.com/epcis}myField`` through the @context."""
    prefix, sep, local = key.partition(":")
    if sep and prefix in context:
        # The prefix's IRI is the namespace (XML's view), whether or not it ends in / or #.
        namespace, name = norm_ns(context[prefix]), local
    elif "://" in key or key.startswith("urn:"):
        namespace, name = split_iri(key)
    else:
        return key
    return f"{{{namespace}}}{name}" if namespace else name
