"""The ERP snapshot CSV (http-api.md "ERP snapshot runs"), read into orders. Pure: no database.

The file is UTF-8 (a leading BOM is dropped; CRLF, LF or CR line ends), with a header row
(row 1) naming at least the columns of `COLUMNS` in any order (others are ignored, names are
matched without regard to case or surrounding blanks), then one row per order line. It is read
as a stream: one decoded line at a time, never the whole text at once.

A row that cannot be read is an error with its row number and a reason a person can act on,
and is left out; the rest is read. The rows of one order are grouped: each SKU's quantities
are summed; the status, invoice, amount and currency are taken from the rows that carry them,
and a later row of the order that names another one is an error of its own. A blank row is
skipped (it keeps its number). A file that cannot be read at all (not UTF-8, no header, a
missing column) gives `failure`, never an exception: `parse_snapshot` does not raise."""

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

STATUSES: tuple[str, ...] = ("open", "shipped", "delivered", "invoiced", "cancelled", "returned")
COLUMNS: tuple[str, ...] = ("order", "status", "invoice", "amount", "currency", "sku", "qty")
MAX_ERRORS = 1000  # errors kept with their text; `error_count` counts them all
MAX_ID = 100  # order and invoice ids, as the control tower stores them
MAX_SKU = 200
_QTY = re.compile(r"\d{1,12}(?:\.0+)?")
_NEGATIVE_QTY = re.compile(r"-\d+(?:\.0+)?")
_AMOUNT = re.compile(r"-?\d{1,15}(?:\.\d{1,6})?")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
CENT = Decimal("0.01")
_STATUS_HINT = f"(one of {', '.join(STATUSES)})"


@dataclass(slots=True)
class RowError:
    row: int
    error: str
    order: str = ""  # the row's order id when it names one (for the report; not in the contract's shape)

    def as_dict(self) -> dict[str, int | str]:
        return {"row": self.row, "error": self.error}


@dataclass(slots=True)
class SnapshotOrder:
    """One order of the file: what its readable rows say together."""

    order: str
    status: str
    row: int  # its first readable row
    invoice: str = ""
    amount: Decimal | None = None
    currency: str = ""
    lines: dict[str, int] = field(default_factory=dict)  # SKU -> quantity, summed over rows
    rows: int = 0  # its readable rows
    seen: dict[str, tuple[int, str]] = field(default_factory=dict)  # field -> (row, raw value) first given


@dataclass(slots=True)
class Snapshot:
    rows: int = 0  # data rows read (not blank), readable or not
    orders: dict[str, SnapshotOrder] = field(default_factory=dict)  # in the order of the file
    errors: list[RowError] = field(default_factory=list)  # the first `max_errors`, by row
    error_count: int = 0
    failure: str = ""  # why the whole file could not be read ("" when it could)
    last_row: int = 0  # the number of the last record read, the header included

    def error(self, row: int, message: str, max_errors: int, order: str = "") -> None:
        self.error_count += 1
        if len(self.errors) < max_errors:
            self.errors.append(RowError(row, message, order[:MAX_ID]))


@dataclass(slots=True)
class _Row:
    order: str
    status: str
    invoice: str
    amount: Decimal | None
    currency: str
    sku: str
    qty: int | None


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _header(fields: list[str]) -> tuple[dict[str, int], str]:
    """The position of each required column, or why the header does not do."""
    names = [name.strip().lower() for name in fields]
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in COLUMNS:
            if name in positions:
                return {}, f"header: column {name!r} appears twice"
            positions[name] = index
    missing = [name for name in COLUMNS if name not in positions]
    if missing:
        found = ", ".join(n for n in names if n) or "nothing"
        return {}, (
            f"header: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(row 1 must name {', '.join(COLUMNS)} in any order; it names {found[:300]})"
        )
    return positions, ""


def _read(fields: list[str], columns: dict[str, int], header: int) -> tuple[_Row | None, str]:
    """One data row's values, or the reason it cannot be read."""
    if len(fields) <= max(columns.values()):
        return None, f"row: {len(fields)} field{'s' if len(fields) != 1 else ''} where the header has {header}"
    if len(fields) > header and any(value.strip() for value in fields[header:]):
        return None, f"row: {len(fields)} fields where the header has {header} (a value with an unquoted comma?)"
    v = {name: fields[index].strip() for name, index in columns.items()}
    order, status = v["order"], v["status"].lower()
    if not order:
        return None, "order: empty"
    if len(order) > MAX_ID:
        return None, f"order: longer than {MAX_ID} characters"
    if not status:
        return None, f"status: empty {_STATUS_HINT}"
    if status not in STATUSES:
        return None, f"status: unknown {_shown(v['status'])} {_STATUS_HINT}"
    if len(v["invoice"]) > MAX_ID:
        return None, f"invoice: longer than {MAX_ID} characters"
    amount = None
    if v["amount"]:
        if not _AMOUNT.fullmatch(v["amount"]):
            return None, f"amount: not a decimal number {_shown(v['amount'])}"
        amount = Decimal(v["amount"])
    if v["currency"] and not _CURRENCY.fullmatch(v["currency"]):
        return None, f"currency: not a 3-letter code {_shown(v['currency'])}"
    sku, qty_text = v["sku"], v["qty"]
    qty = None
    if qty_text:
        if _NEGATIVE_QTY.fullmatch(qty_text):
            return None, f"qty: negative {_shown(qty_text)}"
        if not _QTY.fullmatch(qty_text):
            return None, "qty: not a whole number"
        qty = int(Decimal(qty_text))
        if not sku:
            return None, f"sku: empty (qty {qty} names no SKU)"
    elif sku:
        return None, f"qty: empty (SKU {_shown(sku)} needs a quantity)"
    if len(sku) > MAX_SKU:
        return None, f"sku: longer than {MAX_SKU} characters"
    return _Row(order, status, v["invoice"], amount, v["currency"].upper(), sku, qty), ""


def _disagreement(group: SnapshotOrder, name: str, value: str, row: int) -> str:
    """The error when `value` of `name` differs from what an earlier row of the order gave."""
    if not value:
        return ""
    earlier = group.seen.get(name)
    if earlier is None or earlier[1] == value:
        return ""
    return f"{name}: {_shown(value)} disagrees with row {earlier[0]} of {group.order} ({_shown(earlier[1])})"


def _add(snapshot: Snapshot, r: _Row, row: int, max_errors: int) -> None:
    group = snapshot.orders.get(r.order)
    if group is None:
        group = snapshot.orders[r.order] = SnapshotOrder(order=r.order, status=r.status, row=row)
    # "125", "125.0" and "125.00" do not disagree: amounts are compared to the cent.
    cents = "" if r.amount is None else str(to_cents(r.amount))
    values = {"status": r.status, "invoice": r.invoice, "amount": cents, "currency": r.currency}
    for name, value in values.items():
        problem = _disagreement(group, name, value, row)
        if problem:
            snapshot.error(row, problem, max_errors, r.order)
            return
    for name, value in values.items():
        if value and name not in group.seen:
            group.seen[name] = (row, value)
    group.rows += 1
    if r.invoice:
        group.invoice = r.invoice
    if r.amount is not None and group.amount is None:
        group.amount = r.amount  # later rows agree with it to the cent
    if r.currency:
        group.currency = r.currency
    if r.sku and r.qty is not None:
        group.lines[r.sku] = group.lines.get(r.sku, 0) + r.qty


def _records(text: IO[str]) -> Iterator[list[str] | csv.Error]:
    """CSV records, one at a time; a record the csv module refuses is yielded as its error."""
    reader = csv.reader(text, strict=False)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc


def parse_snapshot(source: bytes | IO[bytes], *, max_errors: int = MAX_ERRORS) -> Snapshot:
    """Read an ERP snapshot (bytes, or a binary stream read as it goes). Never raises."""
    snapshot = Snapshot()
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    text = None
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        _parse(snapshot, _records(text), max_errors)
    except UnicodeDecodeError:
        snapshot.failure = (
            f"not UTF-8: the file cannot be read as UTF-8 text (a bad byte at or after row {snapshot.last_row + 1})"
        )
    except Exception as exc:  # a safety net: the parser's promise is never to raise
        snapshot.failure = f"the file cannot be read: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        if text is not None:
            with contextlib.suppress(Exception):  # a stream that cannot be detached: nothing to leave open
                text.detach()  # leave the caller's stream open
    return snapshot


def _parse(snapshot: Snapshot, records: Iterator[list[str] | csv.Error], max_errors: int) -> None:
    columns: dict[str, int] = {}
    header = 0
    for record in records:
        snapshot.last_row = row = snapshot.last_row + 1
        if isinstance(record, csv.Error):
            if not columns:
                snapshot.failure = f"header: row 1 cannot be read as CSV ({record})"
                return
            snapshot.rows += 1
            snapshot.error(row, f"row: cannot be read as CSV ({record})", max_errors)
            continue
        if not columns:
            columns, problem = _header(record)
            if problem:
                snapshot.failure = problem
                return
            header = len(record)
            continue
        if not any(value.strip() for value in record):
            continue
        snapshot.rows += 1
        parsed, problem = _read(record, columns, header)
        if parsed is None:
            order = record[columns["order"]].strip() if len(record) > columns["order"] else ""
            snapshot.error(row, problem, max_errors, order)
        else:
            _add(snapshot, parsed, row, max_errors)
    if not columns:
        snapshot.failure = "the file is empty: row 1 must be the header " + ",".join(COLUMNS)
