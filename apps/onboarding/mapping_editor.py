"""The custom-json mapping editor's logic, without the web: the field paths a sample offers,
the codes it uses, a mapping built from the paths the admin picked, and the picks read back
from a saved mapping (so that a resumed draft shows what was chosen). The mapping's syntax is
documented in apps/ingestion/formats/custom_json/__init__.py; mapping_errors checks it."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from apps.events.taxonomy import EVENT_TYPES
from apps.ingestion.formats import UnreadableBody
from apps.ingestion.formats.base import IGNORE
from apps.ingestion.formats.canonical_csv.columns import REF_KINDS
from apps.ingestion.formats.custom_json import PathError, mapping_fields, parse_path
from apps.ingestion.formats.custom_json.paths import find

TYPE_TABLE = "custom.status"  # the table the editor maps the partner's status codes in
TIME_FORMATS = (
    ("iso", "ISO 8601 (2026-11-25T10:15:00+01:00)"),
    ("epoch", "Unix seconds"),
    ("epoch_ms", "Unix milliseconds"),
)
# The canonical fields the editor offers a path for, besides type and occurred_at (which have
# their own controls), with what each is for.
PICK_FIELDS: tuple[tuple[str, str], ...] = (
    ("event_id", "The partner's id of the event: a re-send is then a duplicate. Unmapped: a hash of the record."),
    ("source_status", "The partner's own status text; by default the code the type was looked up with."),
    *((f"refs.{kind}", f"The {kind.replace('_', ' ')} id the event is about.") for kind in REF_KINDS),
    ("location.code", "Where it happened: a site, hub or port code."),
    ("location.name", "The place's name."),
    ("reason.code", "Why (an exception's reason code)."),
    ("reason.text", "Why, in words."),
    ("eta", "A new estimated time of arrival (ISO 8601)."),
    ("promised_by", "The time promised to the customer (ISO 8601)."),
    ("service_level", "The order's service level."),
    ("customer", "The customer's name or id."),
    ("pod.signed_by", "Who signed for a delivery."),
)
PICK_NAMES = frozenset(name for name, _ in PICK_FIELDS)
MAX_CODES = 200


@dataclass
class Picks:
    """What the admin chose in the editor."""

    events: str = "$"
    paths: dict[str, str] = field(default_factory=dict)  # canonical field → path ("" = unmapped)
    occurred_at: str = ""
    occurred_format: str = "iso"
    occurred_timezone: str = ""
    type_path: str = ""
    type_const: str = ""
    type_codes: dict[str, str] = field(default_factory=dict)  # the partner's code → canonical type


def _load(sample: bytes) -> Any:
    try:
        return orjson.loads(sample)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(f"the sample is not JSON: {exc}") from None


def record_candidates(sample: bytes) -> list[str]:
    """Where the records may be: the root, and every array of objects in the sample."""
    data = _load(sample)
    out = ["$"]
    for path in mapping_fields(sample):
        if path.endswith("[*]"):
            found = [v for _, v in find(parse_path(path), data, data)]
            if found and all(isinstance(v, dict) for v in found) and path != "$[*]":
                out.append(path)
    return out


def record_paths(sample: bytes, events: str) -> list[str]:
    """The paths found in the sample's records (relative to a record), for the pickers; the
    empty list when the sample has no records there. UnreadableBody for a sample that is not
    JSON or an `events` that is not a path."""
    if not sample.strip():
        return []
    return mapping_fields(sample, events or "$")


def codes_at(sample: bytes, events: str, path: str) -> list[str]:
    """The distinct values the records of the sample have at `path` (the status codes a type
    table has to map), in order of appearance."""
    if not sample.strip() or not path:
        return []
    try:
        where, at = parse_path(events or "$").without_trailing_wildcard(), parse_path(path)
    except PathError:
        return []
    data = _load(sample)
    records: list[Any] = []
    for _, value in find(where, data, data):
        records.extend(value if isinstance(value, list) else [value])
    codes: dict[str, None] = {}
    for record in records:
        for _, value in find(at, record, data):
            if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
                codes.setdefault(str(value).strip(), None)
        if len(codes) >= MAX_CODES:
            break
    return list(codes)


def build_mapping(picks: Picks) -> dict[str, Any]:
    """The mapping the picks describe. Fields other than type and occurred_at are optional: a
    record without them still makes an event (the validator still wants one ref that is there)."""
    fields: dict[str, Any] = {}
    if picks.type_path:
        fields["type"] = {"path": picks.type_path, "table": TYPE_TABLE}
    elif picks.type_const:
        fields["type"] = {"const": picks.type_const}
    if picks.occurred_at:
        occurred: dict[str, Any] = {"path": picks.occurred_at}
        if picks.occurred_format and picks.occurred_format != "iso":
            occurred["format"] = picks.occurred_format
        if picks.occurred_timezone:
            occurred["timezone"] = picks.occurred_timezone
        fields["occurred_at"] = occurred
    for name, _ in PICK_FIELDS:
        path = picks.paths.get(name, "").strip()
        if path:
            fields[name] = {"path": path, "optional": True}
    mapping: dict[str, Any] = {"version": 1, "events": picks.events or "$", "fields": fields}
    if picks.type_path:
        mapping["tables"] = {TYPE_TABLE: dict(picks.type_codes)}
    return mapping


def _path_of(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, Mapping) and isinstance(spec.get("path"), str):
        return str(spec["path"])
    return ""


def picks_of(mapping: Mapping[str, Any] | None) -> Picks:
    """The picks that would build `mapping` (as far as the editor can show them; the JSON is
    the whole truth)."""
    picks = Picks()
    if not mapping:
        return picks
    picks.events = str(mapping.get("events") or "$")
    fields = mapping.get("fields") if isinstance(mapping.get("fields"), Mapping) else {}
    assert isinstance(fields, Mapping)
    type_spec = fields.get("type")
    if isinstance(type_spec, Mapping) and "const" in type_spec:
        picks.type_const = str(type_spec["const"])
    else:
        picks.type_path = _path_of(type_spec)
        table = type_spec.get("table") if isinstance(type_spec, Mapping) else None
        tables = mapping.get("tables") if isinstance(mapping.get("tables"), Mapping) else {}
        assert isinstance(tables, Mapping)
        entries = tables.get(table or TYPE_TABLE)
        if isinstance(entries, Mapping):
            picks.type_codes = {str(k): str(v) for k, v in entries.items()}
    occurred = fields.get("occurred_at")
    picks.occurred_at = _path_of(occurred)
    if isinstance(occurred, Mapping):
        picks.occurred_format = str(occurred.get("format") or "iso")
        picks.occurred_timezone = str(occurred.get("timezone") or "")
    picks.paths = {name: _path_of(spec) for name, spec in fields.items() if name in PICK_NAMES}
    return picks


def parse_code_lines(text: str, *, allow_remove: bool) -> tuple[dict[str, str | None], list[str]]:
    """`CODE = canonical.type` lines (or `= ignore`; with allow_remove, `= -` removes a
    standard code; `CODE =` maps nothing yet) → the entries and the errors, each naming its
    line."""
    entries: dict[str, str | None] = {}
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        code, sep, value = line.rpartition("=")
        code, value = code.strip(), value.strip()
        if sep and code and not value:  # a code listed from the sample, not mapped yet
            continue
        if not sep or not code:
            errors.append(f"line {number}: want CODE = canonical.type, got {line[:60]!r}")
        elif value == "-" and allow_remove:
            entries[code] = None
        elif value != IGNORE and value not in EVENT_TYPES:
            errors.append(f"line {number}: {value!r} is not a canonical event type (or {IGNORE})")
        else:
            entries[code] = value
    return entries, errors


def code_lines(entries: Mapping[str, str | None]) -> str:
    """The entries as lines, sorted by code (a stored table's key order is the database's)."""
    return "\n".join(f"{code} = {'-' if value is None else value}" for code, value in sorted(entries.items()))
