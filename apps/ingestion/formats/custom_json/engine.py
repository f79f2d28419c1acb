"""The custom-json engine: one source record + a compiled mapping → a canonical candidate, a
rejection naming the record and the field, or nothing (a type mapped to "ignore")."""

import dataclasses
import hashlib
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from ..base import IGNORE, Candidate, FeedContext, reject
from ..canonical_csv.columns import to_number
from .paths import Concrete, find
from .spec import MISSING, NUMBER_FIELDS, REF_FIELDS, TIME_FIELDS, Compiled, LinesSource, Source

MAX_DEPTH = 64
_DONE: Any = object()  # a trie node's mark: everything under this place was mapped


class FieldError(Exception):
    """One field of one record could not be read; the message names the field."""


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def source_event_id(record: Any) -> str:
    """The key of a record without a mapped event id: a hash of the source record itself
    (keys sorted), so a re-send in another envelope or after a mapping change is the same
    event."""
    canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return "custom-json:" + hashlib.sha256(canonical).hexdigest()[:32]


class Reader:
    """Reads one record; `taken` collects the places of the record the mapping read, for the
    attributes "rest"."""

    def __init__(self, record: Any, document: Any) -> None:
        self.record, self.document = record, document
        self.taken: list[Concrete] = []

    def values(self, source: Source, name: str, base: Any = MISSING, at: Concrete | None = ()) -> list[Any]:
        """The values of a source ([] when it is absent and may be); FieldError when a required
        path finds nothing. `base` and `at`: a line item and where it is in the record (None:
        not in the record)."""
        if source.const is not MISSING:
            return [source.const]
        assert source.path is not None
        record = self.record if base is MISSING else base
        found = find(source.path, record, self.document)
        if not source.path.root and at is not None:
            self.taken.extend((*at, *place) for place, _ in found)
        present = [value for _, value in found if value is not None and value != "" and value != []]
        if present:
            return present
        if source.default is not MISSING:
            return [source.default]
        if source.optional:
            return []
        raise FieldError(f"{name}: path {source.path.text} not found")

    def one(self, source: Source, name: str, base: Any = MISSING, at: Concrete | None = ()) -> Any:
        found = self.values(source, name, base, at)
        return found[0] if found else None

    def required(self, source: Source, name: str, base: Any, at: Concrete | None) -> Any:
        value = self.one(source, name, base, at)
        if value is None:
            raise FieldError(f"{name}: not found")
        return value


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    kind = "an object" if isinstance(value, dict) else "a list"
    raise FieldError(f"{name}: the value is {kind}, want a string or a number")


def _id(value: Any, name: str) -> str:
    if isinstance(value, bool):
        raise FieldError(f"{name}: {value} is not an id")
    return _text(value, name)


def _number(value: Any, name: str) -> float:
    number = to_number(value.strip()) if isinstance(value, str) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    if number is None:
        raise FieldError(f"{name}: {str(value)[:40]!r} is not a number")
    return number


def _decimal(value: Any, name: str) -> str:
    if isinstance(value, float):
        try:
            return format(Decimal(repr(value)), "f")
        except InvalidOperation:
            raise FieldError(f"{name}: {value!r} is not an amount") from None
    return _text(value, name)


def _time(value: Any, source: Source, name: str, ctx: FeedContext) -> str:
    zone = source.timezone or ctx.tz
    if source.format in ("epoch", "epoch_ms"):
        seconds = _number(value, name)
        try:
            moment = datetime.fromtimestamp(seconds / 1000 if source.format == "epoch_ms" else seconds, tz=UTC)
            return moment.astimezone(zone).isoformat()
        except (OverflowError, OSError, ValueError):
            raise FieldError(f"{name}: {value!r} is out of range for a time ({source.format})") from None
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise FieldError(f'{name}: {value!r} is a number; a Unix time needs "format": "epoch" or "epoch_ms"')
        raise FieldError(f"{name}: {str(value)[:40]!r} is not a time")
    text = value.strip()
    try:
        # a naive result gets its zone below
        iso = source.format == "iso"
        moment = datetime.fromisoformat(text) if iso else datetime.strptime(text, source.format)  # noqa: DTZ007
    except ValueError:
        wanted = "an ISO 8601 time" if source.format == "iso" else f"of the format {source.format!r}"
        raise FieldError(f"{name}: {text[:40]!r} is not {wanted}") from None
    if moment.tzinfo is None:  # a time without offset is read in the mapping's zone, else the feed's
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def _set(event: dict[str, Any], name: str, value: Any) -> None:
    if "." in name:
        group, member = name.split(".", 1)
        event.setdefault(group, {})[member] = value
    else:
        event[name] = value


def map_record(compiled: Compiled, record: Any, number: int, document: Any, ctx: FeedContext) -> Candidate | None:
    """One record's candidate (None: its type is mapped to "ignore")."""
    where = f"record {number}"
    if not isinstance(record, dict):
        return reject(f"{where}: want a JSON object, got {type(record).__name__}")
    if _depth_exceeds(record, MAX_DEPTH):
        return reject(f"{where}: nested more than {MAX_DEPTH} levels deep; flatten the record")
    reader = Reader(record, document)
    fields = compiled.fields
    try:
        source_id = reader.one(fields["event_id"], "event_id") if "event_id" in fields else None
        event_id = _id(source_id, "event_id") if source_id is not None else None
    except FieldError as exc:
        return reject(f"{where}: {exc}")
    event_id = event_id or source_event_id(record)
    event: dict[str, Any] = {"event_id": event_id}
    type_source = fields["type"]
    try:
        code = reader.one(type_source, "type")
        if code is None:  # an optional type that is absent: still no event without one
            raise FieldError(f"type: path {type_source.path.text if type_source.path else ''} not found")
        if type_source.table is not None:
            code = _text(code, "type")
            mapped = ctx.codes.lookup(type_source.table, code)
            if mapped is None:  # the feed's versioned override first, then the mapping's own table
                mapped = compiled.tables.get(type_source.table, {}).get(code)
            if mapped is None:
                return reject(f"{where}: {ctx.codes.unmapped(type_source.table, code)}", event_id=event_id)
            if mapped == IGNORE:
                return None
            event["source_status"] = code
            code = mapped
        event["type"] = code
    except FieldError as exc:
        return reject(f"{where}: {exc}", event_id=event_id)
    errors: list[str] = []
    refs: dict[str, str | list[str]] = {}
    for name, source in fields.items():
        if name in ("event_id", "type"):
            continue
        try:
            if name in REF_FIELDS:
                ids = _ref_ids(reader.values(source, name), name)
                if ids:
                    refs[name[5:]] = ids[0] if len(ids) == 1 else ids
                elif not source.optional:
                    raise FieldError(f"{name}: path {source.path.text if source.path else ''} found no id")
                continue
            value = reader.one(source, name)
            if value is None:
                continue
            if name in TIME_FIELDS:
                value = _time(value, source, name, ctx)
            elif name in NUMBER_FIELDS:
                value = _number(value, name)
            elif name == "amount.value":
                value = _decimal(value, name)
            else:
                value = _text(value, name)
            if value != "":
                _set(event, name, value)
        except FieldError as exc:
            errors.append(f"{where}: {exc}")
    if compiled.lines is not None:
        errors += [f"{where}: {e}" for e in _lines(reader, compiled.lines, event)]
    if errors:
        return reject(errors, event_id=event_id)
    event["refs"] = refs
    attributes = _attributes(compiled, reader)
    if attributes:
        event["attributes"] = attributes
    return event


def _ref_ids(values: list[Any], name: str) -> list[str]:
    flat = [item for value in values for item in (value if isinstance(value, list) else [value])]
    return list(dict.fromkeys(i for i in (_id(v, name) for v in flat if v is not None) if i))


def _lines(reader: Reader, spec: LinesSource, event: dict[str, Any]) -> list[str]:
    found = find(spec.path, reader.record, reader.document)
    items: list[tuple[Concrete, Any]] = []
    for place, value in found:
        if isinstance(value, list) and not spec.path.multi:
            items += [((*place, i), item) for i, item in enumerate(value)]
        elif value is not None:
            items.append((place, value))
    if not items:
        return [] if spec.optional else [f"lines: path {spec.path.text} not found"]
    lines, errors = [], []
    for n, (place, item) in enumerate(items, 1):
        at = None if spec.path.root else place
        try:
            line: dict[str, Any] = {
                "sku": _text(reader.required(spec.sku, "sku", item, at), "sku"),
                "qty": _number(reader.required(spec.qty, "qty", item, at), "qty"),
            }
            if spec.uom is not None:  # a line without a uom is a line (the contract's default, EA)
                uom = reader.values(dataclasses.replace(spec.uom, optional=True), "uom", item, at)
                if uom:
                    line["uom"] = _text(uom[0], "uom")
            lines.append(line)
        except FieldError as exc:
            errors.append(f"lines item {n}: {exc}")
    event["lines"] = lines
    return errors


def _attributes(compiled: Compiled, reader: Reader) -> dict[str, Any]:
    if compiled.attributes == "none":
        return {}
    if isinstance(compiled.attributes, tuple):
        out: dict[str, Any] = {}
        for path in compiled.attributes:
            values = [v for _, v in find(path, reader.record, reader.document)]
            if values:
                out[path.text] = values if path.multi else values[0]
        return out
    rest = _prune(reader.record, _trie(reader.taken))
    return rest if isinstance(rest, dict) else {}


def _trie(places: list[Concrete]) -> dict[Any, Any]:
    root: dict[Any, Any] = {}
    for place in places:
        node = root
        for step in place:
            if _DONE in node:
                break
            node = node.setdefault(step, {})
        else:
            node.clear()
            node[_DONE] = True
    return root


def _prune(value: Any, trie: dict[Any, Any]) -> Any:
    """The value without the places in the trie; MISSING when nothing is left of it."""
    if _DONE in trie:
        return MISSING
    if not trie:
        return value
    if isinstance(value, dict):
        kept = {}
        for key, child in value.items():
            rest = _prune(child, trie[key]) if key in trie else child
            if rest is not MISSING:
                kept[key] = rest
        return kept or MISSING
    if isinstance(value, list):
        items = [_prune(child, trie[i]) if i in trie else child for i, child in enumerate(value)]
        kept_items = [item for item in items if item is not MISSING]
        return kept_items or MISSING
    return value
