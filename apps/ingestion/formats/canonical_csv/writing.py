"""Writing canonical-csv: canonical event dicts → the CSV this adapter reads back as the same
events (exports, tests, a partner's template)."""

import csv
import io
import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from .columns import ATTRIBUTES_PREFIX, COLUMNS, GROUPS, ITEM_SEPARATOR, REF_KINDS, TOP_FIELDS, is_number


class NotWritable(ValueError):
    """An event with a value canonical-csv cannot carry (an id holding ";", a nested field it
    does not know); the message names the field."""


def _text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotWritable(f"{where}: want a string, got {type(value).__name__}")
    return _number(value, where)


def _number(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotWritable(f"{where}: want a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise NotWritable(f"{where}: {value} is not a finite number")
    return repr(value) if isinstance(value, float) else str(value)  # repr: a float read back exactly


def _item(value: Any, where: str) -> str:
    text = _text(value, where)
    if ITEM_SEPARATOR in text:
        raise NotWritable(f"{where}: {text!r} holds {ITEM_SEPARATOR!r}, the separator of items in a cell")
    return text


def _lines(lines: Any) -> str:
    if not isinstance(lines, list):
        raise NotWritable("lines: want a list")
    items = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, Mapping) or set(line) - {"sku", "qty", "uom"}:
            raise NotWritable(f"lines[{n}]: want an object of sku, qty and uom")
        item = f"{_item(line.get('sku'), f'lines[{n}].sku')}:{_number(line.get('qty'), f'lines[{n}].qty')}"
        uom = line.get("uom")
        if uom is not None:
            text = _item(uom, f"lines[{n}].uom")
            if ":" in text or is_number(text):
                raise NotWritable(f"lines[{n}].uom: {text!r} cannot be written (a uom holds no ':' and is no number)")
            item += f":{text}"
        items.append(item)
    return ITEM_SEPARATOR.join(items)


def row_of(event: Mapping[str, Any]) -> dict[str, str]:
    """One event's cells by column (absent and empty fields have no cell). Attribute values
    that are not strings are written as JSON (and read back as that string)."""
    row: dict[str, str] = {}
    for key, value in event.items():
        if value is None:
            continue
        if key in TOP_FIELDS:
            row[key] = _text(value, key)
        elif key == "refs":
            if not isinstance(value, Mapping) or set(value) - set(REF_KINDS):
                raise NotWritable(f"refs: want an object of the ref kinds {', '.join(REF_KINDS)}")
            for kind, ids in value.items():
                listed = ids if isinstance(ids, list) else [ids]
                row[f"refs.{kind}"] = ITEM_SEPARATOR.join(_item(i, f"refs.{kind}") for i in listed)
        elif key in GROUPS:
            if not isinstance(value, Mapping) or set(value) - set(GROUPS[key]):
                raise NotWritable(f"{key}: want an object of {', '.join(GROUPS[key])}")
            for member, inner in value.items():
                if inner is not None:
                    row[f"{key}.{member}"] = _text(inner, f"{key}.{member}")
        elif key == "lines":
            row["lines"] = _lines(value)
        elif key == "attributes":
            if not isinstance(value, Mapping):
                raise NotWritable("attributes: want an object")
            for name, inner in value.items():
                row[ATTRIBUTES_PREFIX + str(name)] = inner if isinstance(inner, str) else orjson.dumps(inner).decode()
        else:
            raise NotWritable(f"{key}: not a field of the canonical event")
    return row


def rows_of(events: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """The header (the columns the events use, in canonical order, attributes last by name;
    type, occurred_at and a refs column always) and one row of cells per event."""
    rows = [row_of(event) for event in events]
    used = {column for row in rows for column in row} | {"type", "occurred_at"}
    if not any(column.startswith("refs.") for column in used):
        used.add("refs.order")
    header = [c for c in COLUMNS if c in used]
    header += sorted(c for c in used if c.startswith(ATTRIBUTES_PREFIX))
    return header, rows


def write_csv(events: Iterable[Mapping[str, Any]]) -> bytes:
    """Canonical event dicts → a canonical-csv body (UTF-8, comma-separated, CRLF, quoted where
    a cell needs it). Raises NotWritable for a value the format cannot carry."""
    header, rows = rows_of(events)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode("utf-8")
