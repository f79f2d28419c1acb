"""A custom-json mapping, checked and compiled: `compile_mapping` gives the compiled form and
every error, each naming where in the mapping it is (the module docstring of the package is
the mapping's reference)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.events.taxonomy import EVENT_TYPES

from ..base import IGNORE
from ..canonical_csv.columns import GROUPS, REF_KINDS
from .paths import Path, PathError, parse_path

SCALAR_FIELDS: tuple[str, ...] = (
    "event_id",
    "type",
    "occurred_at",
    "source_status",
    "eta",
    "promised_by",
    "service_level",
    "customer",
    *(f"{group}.{member}" for group, members in GROUPS.items() for member in members),
)
REF_FIELDS: tuple[str, ...] = tuple(f"refs.{kind}" for kind in REF_KINDS)
FIELDS: tuple[str, ...] = (*SCALAR_FIELDS, *REF_FIELDS, "lines")
TIME_FIELDS = frozenset({"occurred_at", "eta", "promised_by"})
NUMBER_FIELDS = frozenset({"location.lat", "location.lon"})
TIME_FORMATS = ("iso", "epoch", "epoch_ms")
TOP_KEYS = ("version", "events", "fields", "tables", "attributes")
TABLE_PREFIX = "custom."
_SOURCE_KEYS = ("path", "const", "default", "optional")
MISSING: Any = object()


@dataclass(frozen=True)
class Source:
    """Where one field's value comes from: a path (with a default, or optional) or a const."""

    path: Path | None = None
    const: Any = MISSING
    default: Any = MISSING
    optional: bool = False
    table: str | None = None
    timezone: ZoneInfo | None = None
    format: str = "iso"


@dataclass(frozen=True)
class LinesSource:
    path: Path
    sku: Source
    qty: Source
    uom: Source | None
    optional: bool = False


@dataclass(frozen=True)
class Compiled:
    events: Path
    fields: dict[str, Source]
    lines: LinesSource | None
    tables: dict[str, dict[str, str]]
    attributes: str | tuple[Path, ...]  # "rest", "none" or the paths to keep
    splittable: bool = field(default=False)


def mapping_errors(mapping: Any) -> list[str]:
    """Every error of a mapping, each naming its place (e.g. `fields.refs.order: …`), for the
    partner admin who wrote it; [] when the mapping can be used."""
    return compile_mapping(mapping)[1]


def compile_mapping(mapping: Any) -> tuple[Compiled | None, list[str]]:
    """The compiled mapping (None when it has errors) and its errors."""
    if not isinstance(mapping, Mapping):
        return None, ['mapping: want a JSON object of "events", "fields" and "tables"']
    errors = [f"{key}: unknown key (known: {', '.join(TOP_KEYS)})" for key in mapping if key not in TOP_KEYS]
    if mapping.get("version", 1) != 1:
        errors.append(f"version: {mapping.get('version')!r} is not a known version (1)")
    events = _path(mapping.get("events", "$"), "events", errors)
    tables = _tables(mapping.get("tables", {}), errors)
    fields: dict[str, Source] = {}
    lines: LinesSource | None = None
    raw_fields = mapping.get("fields")
    if not isinstance(raw_fields, Mapping) or not raw_fields:
        errors.append("fields: want an object of canonical field → path (at least type, occurred_at and a ref)")
        raw_fields = {}
    for name, spec in raw_fields.items():
        where = f"fields.{name}"
        if name == "lines":
            lines = _lines(spec, where, errors)
        elif name in SCALAR_FIELDS or name in REF_FIELDS:
            source = _source(spec, where, errors, field=str(name), tables=tables)
            if source is not None:
                fields[str(name)] = source
        else:
            hint = ' (attributes are not mapped field by field: use the top-level "attributes")'
            errors.append(
                f"{where}: not a canonical field{hint if str(name).startswith('attributes') else ''} "
                f"(known: {', '.join(FIELDS)})"
            )
    if raw_fields:
        for required in ("type", "occurred_at"):
            if required not in raw_fields:
                errors.append(f"fields.{required}: required")
        if not any(name in raw_fields for name in REF_FIELDS):
            errors.append('fields: at least one refs.<kind> is required (e.g. "refs.order": "order.number")')
    attributes = _attributes(mapping.get("attributes", "rest"), errors)
    if errors or events is None:
        return None, errors
    paths = [s.path for s in fields.values() if s.path is not None]
    if lines is not None:
        paths += [lines.path] + [s.path for s in (lines.sku, lines.qty, lines.uom) if s and s.path]
    if isinstance(attributes, tuple):
        paths += list(attributes)
    # A file splits into arrays of records only when the records are the body's elements and
    # no field reads the body's root (which a split would change).
    splittable = events.steps in ((), (None,)) and not any(p.root for p in paths)
    return Compiled(events, fields, lines, tables, attributes, splittable), []


def _path(text: Any, where: str, errors: list[str]) -> Path | None:
    try:
        return parse_path(text)
    except PathError as exc:
        errors.append(f"{where}: bad path: {exc}")
        return None


def _tables(raw: Any, errors: list[str]) -> dict[str, dict[str, str]]:
    if not isinstance(raw, Mapping):
        errors.append("tables: want an object of table name → {source code: canonical type}")
        return {}
    tables: dict[str, dict[str, str]] = {}
    for name, entries in raw.items():
        where = f"tables.{name}"
        if not str(name).startswith(TABLE_PREFIX) or len(str(name)) == len(TABLE_PREFIX):
            errors.append(f"{where}: a table's name starts with {TABLE_PREFIX!r} (e.g. custom.status)")
        if not isinstance(entries, Mapping):
            errors.append(f"{where}: want an object of source code → canonical type (or {IGNORE!r})")
            continue
        for code, value in entries.items():
            if not str(code).strip():
                errors.append(f"{where}: an empty code")
            elif not isinstance(value, str) or (value != IGNORE and value not in EVENT_TYPES):
                errors.append(f"{where}.{code}: {value!r} is not a canonical event type (or {IGNORE!r})")
        tables[str(name)] = {str(code).strip(): str(value) for code, value in entries.items()}
    return tables


def _source(spec: Any, where: str, errors: list[str], *, field: str, tables: Mapping[str, Any]) -> Source | None:
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, Mapping):
        errors.append(f"{where}: want a path, or an object with path or const")
        return None
    allowed = list(_SOURCE_KEYS)
    if field == "type":
        allowed.append("table")
    if field in TIME_FIELDS:
        allowed += ["timezone", "format"]
    before = len(errors)
    errors += [f"{where}.{key}: unknown key (known here: {', '.join(allowed)})" for key in spec if key not in allowed]
    if ("path" in spec) == ("const" in spec):
        errors.append(f"{where}: give either path or const")
    path = _path(spec["path"], f"{where}.path", errors) if "path" in spec else None
    if path is not None and path.multi and field not in REF_FIELDS:
        errors.append(f"{where}.path: {path.text!r} has [*] but {field} takes one value")
    const, default = spec.get("const", MISSING), spec.get("default", MISSING)
    for key, value in (("const", const), ("default", default)):
        if value is not MISSING and (value is None or isinstance(value, dict | list)):
            errors.append(f"{where}.{key}: want a string or a number")
    if not isinstance(spec.get("optional", False), bool):
        errors.append(f"{where}.optional: want true or false")
    table = spec.get("table")
    if table is not None and not isinstance(table, str):
        errors.append(f"{where}.table: want the name of one of the mapping's tables")
        table = None
    if field == "type":
        if table is None and path is not None:
            errors.append(f'{where}: a type read from the record goes through a code table: add "table"')
        if table is not None and table not in tables:
            errors.append(f"{where}.table: {table!r} is not in the mapping's tables")
        if table is not None and const is not MISSING:
            errors.append(f"{where}: a const type needs no table")
        if const is not MISSING and (not isinstance(const, str) or const not in EVENT_TYPES):
            errors.append(f"{where}.const: {const!r} is not a canonical event type")
    zone = _zone(spec.get("timezone"), f"{where}.timezone", errors)
    time_format = _time_format(spec.get("format", "iso"), f"{where}.format", errors)
    if len(errors) > before:
        return None
    return Source(
        path=path,
        const=const,
        default=default,
        optional=bool(spec.get("optional", False)),
        table=table,
        timezone=zone,
        format=time_format,
    )


def _zone(name: Any, where: str, errors: list[str]) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        errors.append(f"{where}: {name!r} is not an IANA time zone (e.g. Europe/Berlin)")
        return None


def _time_format(value: Any, where: str, errors: list[str]) -> str:
    if value in TIME_FORMATS:
        return str(value)
    if isinstance(value, str) and "%" in value:
        try:  # the pattern must read back what it writes
            datetime.strptime(datetime(2001, 2, 3, 4, 5, 6).strftime(value), value)  # noqa: DTZ001, DTZ007
        except ValueError:
            pass
        else:
            return value
    errors.append(f"{where}: want iso, epoch, epoch_ms or a strptime pattern such as %d.%m.%Y %H:%M")
    return "iso"


def _lines(spec: Any, where: str, errors: list[str]) -> LinesSource | None:
    if not isinstance(spec, Mapping) or "path" not in spec:
        errors.append(f'{where}: want {{"path": "items[*]", "sku": "sku", "qty": "quantity", "uom": …}}')
        return None
    known = ("path", "optional", "sku", "qty", "uom")
    before = len(errors)
    errors += [f"{where}.{key}: unknown key (known here: {', '.join(known)})" for key in spec if key not in known]
    path = _path(spec["path"], f"{where}.path", errors)
    for required in ("sku", "qty"):
        if required not in spec:
            errors.append(f"{where}.{required}: required")
    sku = _source(spec.get("sku", "sku"), f"{where}.sku", errors, field="sku", tables={})
    qty = _source(spec.get("qty", "qty"), f"{where}.qty", errors, field="qty", tables={})
    uom = _source(spec["uom"], f"{where}.uom", errors, field="uom", tables={}) if "uom" in spec else None
    if not isinstance(spec.get("optional", False), bool):
        errors.append(f"{where}.optional: want true or false")
    if len(errors) > before or path is None or sku is None or qty is None:
        return None
    return LinesSource(path=path, sku=sku, qty=qty, uom=uom, optional=bool(spec.get("optional", False)))


def _attributes(value: Any, errors: list[str]) -> str | tuple[Path, ...]:
    if value in ("rest", "none"):
        return str(value)
    if isinstance(value, list) and len(value) <= 200:
        paths = [_path(item, f"attributes[{i}]", errors) for i, item in enumerate(value)]
        return tuple(p for p in paths if p is not None)
    errors.append('attributes: want "rest" (every field not mapped), "none", or a list of paths')
    return "none"
