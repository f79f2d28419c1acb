"""Reading canonical-csv: text from bytes (also as a stream), lines, the header, records, and
a record's canonical event. The split and the whole-body read share every step, so a file
split into bodies gives the same events as the file read whole."""

import codecs
import csv
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..base import Candidate, UnreadableBody, reject
from .columns import (
    ATTRIBUTES_PREFIX,
    ITEM_SEPARATOR,
    KNOWN_COLUMNS,
    NUMERIC_COLUMNS,
    is_number,
    known_columns_text,
    to_number,
)

DELIMITERS = (",", ";", "\t", "|")
# One physical line (or one record, quoted newlines included) of a file being split: beyond
# this the file is not a CSV of events, and holding it would unbound the split's memory.
MAX_LINE_CHARS = 8 * 1024 * 1024
_BREAK = re.compile(r"\r\n|\r|\n")
_QUOTED = re.compile(r'"[^"]*"?')
EMPTY_MESSAGE = (
    "the body is empty: canonical-csv wants a header line of canonical column names "
    "(e.g. event_id,type,occurred_at,refs.order), then one event a row"
)


def decode_stream(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text of a file read in chunks, decoded as `base.decode_text` decodes a whole body: a
    UTF-8 or UTF-16 byte-order mark honoured, UTF-8 while it is valid, Latin-1 from the first
    byte that is not (a file mixing both is decoded part by part)."""
    source = iter(chunks)
    head = b""
    for chunk in source:
        head += chunk
        if len(head) >= 3:
            break
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield from _utf16(head, source)
        return
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    carry = b""
    latin1 = False
    for chunk in _chain(head, source):
        data = carry + chunk
        carry = b""
        if latin1:
            yield data.decode("latin-1")
            continue
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data" and exc.end == len(data):
                # a character cut by the chunk boundary: its first bytes wait for the rest
                yield data[: exc.start].decode("utf-8")
                carry = data[exc.start :]
            else:
                latin1 = True
                yield data[: exc.start].decode("utf-8") + data[exc.start :].decode("latin-1")
    if carry:
        yield carry.decode("latin-1")


def _chain(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _utf16(head: bytes, rest: Iterator[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-16")()
    try:
        for chunk in _chain(head, rest):
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UnreadableBody("the file starts with a UTF-16 byte-order mark but is not UTF-16 text") from None


def lines_of(texts: Iterable[str], max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Physical lines, each with its line break (CRLF, LF or a lone CR), whatever the chunks'
    boundaries (a CRLF cut in two stays one break). Pieces of a line are joined once, so a long
    line costs linear time."""
    pieces: list[str] = []
    size = 0
    for text in texts:
        if not text:
            continue
        if pieces and pieces[-1].endswith("\r") and not text.startswith("\n"):
            yield "".join(pieces)  # that CR was a line break on its own
            pieces.clear()
            size = 0
        start = 0
        for match in _BREAK.finditer(text):
            end = match.end()
            if end == len(text) and match.group() == "\r":
                break  # its LF may open the next chunk
            pieces.append(text[start:end])
            yield "".join(pieces)
            pieces.clear()
            size = 0
            start = end
        if start < len(text):
            pieces.append(text[start:])
            size += len(text) - start
            if size > max_chars:
                raise UnreadableBody(
                    f"a line of more than {max_chars // (1024 * 1024)} MB: this is not a CSV of events "
                    "(one event a line)"
                )
    if pieces:
        yield "".join(pieces)


def header_line(lines: Iterator[str]) -> tuple[str, int]:
    """The header: the first line that is not blank, and its line number."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            return line, number
    raise UnreadableBody(EMPTY_MESSAGE)


def sniff_delimiter(line: str) -> str:
    """The delimiter of the header line: the most frequent of , ; tab | outside quotes (a
    tie goes to the earlier of them)."""
    bare = _QUOTED.sub("", line)
    counts = [(bare.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    if best[0] == 0:
        raise UnreadableBody(
            "the first line is not a canonical-csv header: want column names separated by , ; tab or | "
            "(at least type, occurred_at and one refs.<kind> column)"
        )
    return best[2]


@dataclass(frozen=True)
class Header:
    delimiter: str
    columns: tuple[str, ...]  # normalised names; "" for an unnamed column
    line: int


def parse_header(line: str, number: int = 1) -> Header:
    """The header's columns, or UnreadableBody naming what a partner must fix in it."""
    line = line.removeprefix("\ufeff")
    delimiter = sniff_delimiter(line)
    try:
        cells = next(csv.reader([line], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration):
        raise UnreadableBody(f"line {number}: the header line is not readable as CSV") from None
    columns: list[str] = []
    unknown: list[str] = []
    for cell in cells:
        name = cell.strip()
        lowered = name.lower()
        if lowered in KNOWN_COLUMNS or not name:
            columns.append(lowered)
        elif lowered.startswith(ATTRIBUTES_PREFIX) and len(name) > len(ATTRIBUTES_PREFIX):
            columns.append(ATTRIBUTES_PREFIX + name[len(ATTRIBUTES_PREFIX) :])  # the name as sent
        else:
            unknown.append(name)
    if unknown:
        shown = ", ".join(repr(name[:60]) for name in unknown[:20]) + (" …" if len(unknown) > 20 else "")
        raise UnreadableBody(
            f"line {number}: unknown column(s) in the header: {shown}. The first line must be the header; "
            f"the columns of canonical-csv are: {known_columns_text()}"
        )
    named = [c for c in columns if c]
    twice = sorted(name for name, times in Counter(named).items() if times > 1)
    if twice:
        raise UnreadableBody(f"line {number}: column(s) named twice in the header: {', '.join(twice)}")
    missing = [c for c in ("type", "occurred_at") if c not in named]
    if not any(c.startswith("refs.") for c in named):
        missing.append("refs.<kind>")
    if missing:
        raise UnreadableBody(
            f"line {number}: the header has no {', '.join(missing)} column: every event needs a type, "
            "an occurred_at and at least one ref"
        )
    return Header(delimiter=delimiter, columns=tuple(columns), line=number)


@dataclass
class Record:
    """One CSV record after the header: its cells (or why csv could not read it), where it is,
    and its raw lines when the caller keeps them (the split)."""

    row: int  # 1-based among the event rows (blank rows are not counted)
    first_line: int
    last_line: int
    cells: list[str] | None
    error: str | None = None
    raw: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        if self.first_line == self.last_line:
            return f"row {self.row} (line {self.first_line})"
        return f"row {self.row} (lines {self.first_line}-{self.last_line})"


def records(lines: Iterator[str], header: Header, *, keep_raw: bool = False) -> Iterator[Record]:
    """The records after the header, blank ones (no cell with a value) left out of the rows
    but kept in `raw` of the next record, so a split body holds every line of the file."""
    taken: list[str] = []
    size = 0

    def feed() -> Iterator[str]:
        nonlocal size
        for line in lines:
            if keep_raw:
                taken.append(line)
                size += len(line)
                if size > MAX_LINE_CHARS:  # one record held for a split body: bounded too
                    raise UnreadableBody(
                        f"a row of more than {MAX_LINE_CHARS // (1024 * 1024)} MB (a quote never closed?): "
                        "this is not a CSV of events"
                    )
            yield line

    reader = csv.reader(feed(), delimiter=header.delimiter, strict=True)
    row = 0
    last = header.line
    pending: list[str] = []
    while True:
        error = None
        cells: list[str] | None
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            cells, error = None, f"not readable as CSV ({exc}); check the quotes of this row"
        first, last = last + 1, header.line + reader.line_num
        if keep_raw:
            pending.extend(taken)
            taken.clear()
            size = 0
        if cells is not None and not any(c.strip() for c in cells):
            continue
        row += 1
        yield Record(row=row, first_line=first, last_line=last, cells=cells, error=error, raw=pending)
        pending = []
    if pending:
        # trailing blank lines: a record with no row, so the split can keep them
        yield Record(row=0, first_line=last, last_line=last, cells=None, raw=pending)


def candidate(header: Header, record: Record) -> Candidate:
    """The canonical event of one record, or its rejection naming the row and line."""
    cells = record.cells
    event_id = None
    if cells is not None and "event_id" in header.columns:
        index = header.columns.index("event_id")
        if index < len(cells) and cells[index].strip():
            event_id = cells[index].strip()
    if record.error is not None or cells is None:
        return reject(f"{record.where}: {record.error}", event_id=event_id)
    if len(cells) != len(header.columns):
        return reject(
            f"{record.where}: {len(cells)} cells, the header has {len(header.columns)}; "
            "quote cells that contain the delimiter, a quote or a line break",
            event_id=event_id,
        )
    event: dict[str, Any] = {}
    refs: dict[str, str | list[str]] = {}
    attributes: dict[str, str] = {}
    errors: list[str] = []
    for position, (column, cell) in enumerate(zip(header.columns, cells, strict=True), 1):
        value = cell.strip()
        if not value:
            continue
        if not column:
            errors.append(f"column {position} has no name in the header but a value {value[:40]!r}")
        elif column.startswith("refs."):
            ids = list(dict.fromkeys(i.strip() for i in value.split(ITEM_SEPARATOR) if i.strip()))
            if ids:
                refs[column[5:]] = ids[0] if len(ids) == 1 else ids
        elif column.startswith(ATTRIBUTES_PREFIX):
            attributes[column[len(ATTRIBUTES_PREFIX) :]] = value
        elif column == "lines":
            lines, line_errors = parse_lines(value)
            errors += line_errors
            event["lines"] = lines
        elif "." in column:
            group, member = column.split(".", 1)
            if column in NUMERIC_COLUMNS:
                number = to_number(value)
                if number is None:
                    errors.append(f"{column}: {value[:40]!r} is not a number")
                    continue
                event.setdefault(group, {})[member] = number
            else:
                event.setdefault(group, {})[member] = value
        else:
            event[column] = value
    if errors:
        return reject([f"{record.where}: {e}" for e in errors], event_id=event_id)
    event["refs"] = refs
    if attributes:
        event["attributes"] = attributes
    return event


def parse_lines(cell: str) -> tuple[list[dict[str, Any]], list[str]]:
    """`sku:qty;sku:qty:uom` → lines. The sku may itself hold ":" (the qty is the last member
    when it is a number, else the one before the uom); empty items (a trailing ";") are
    skipped."""
    lines: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, item in enumerate(cell.split(ITEM_SEPARATOR), 1):
        item = item.strip()
        if not item:
            continue
        head, colon, last = item.rpartition(":")
        uom = ""
        if colon and is_number(last.strip()):
            sku, qty = head, last
        else:
            sku, colon, qty = head.rpartition(":")
            uom = last.strip()
        if not colon:
            errors.append(f"lines: item {number} {item[:40]!r} is not sku:qty or sku:qty:uom")
            continue
        amount = to_number(qty.strip())
        if amount is None:
            errors.append(f"lines: item {number} {item[:40]!r}: qty {qty.strip()[:20]!r} is not a number")
            continue
        line: dict[str, Any] = {"sku": sku.strip(), "qty": amount}
        if uom:
            line["uom"] = uom
        lines.append(line)
    return lines, errors
