"""The ERP snapshot CSV parser (apps/finance/snapshot_csv.py): grouping, each row error with its
number and reason, whole-file failures, the error cap, and fuzzing: it never raises."""

import csv
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.finance.snapshot_csv import COLUMNS, STATUSES, parse_snapshot

HEADER = "order,status,invoice,amount,currency,sku,qty\n"


def csv_of(*rows: str) -> bytes:
    return (HEADER + "".join(f"{r}\n" for r in rows)).encode()


# --- the parser ------------------------------------------------------------------------------


def test_parser_groups_rows_per_order_and_sums_skus() -> None:
    s = parse_snapshot(
        b"\xef\xbb\xbfQTY,sku,order,status,invoice,amount,currency,note\r\n"
        b"9,A-1,SO-1,invoiced,INV-1,125.00,EUR,x\r\n"
        b"3,A-1,SO-1,Invoiced,,125,,\r\n"
        b"1,B-2,SO-1,invoiced,,,EUR,\r\n"
        b"\r\n"
        b",,SO-2,open,,,,\r\n"
    )
    assert (s.failure, s.rows, s.error_count) == ("", 4, 0)
    so1 = s.orders["SO-1"]
    assert (so1.status, so1.invoice, str(so1.amount), so1.currency) == ("invoiced", "INV-1", "125.00", "EUR")
    assert so1.lines == {"A-1": 12, "B-2": 1}
    assert so1.rows == 3
    assert s.orders["SO-2"].lines == {}


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (",open,,,,A-1,1", "order: empty"),
        (
            "SO-1,shiped,,,,A-1,1",
            "status: unknown 'shiped' (one of open, shipped, delivered, invoiced, cancelled, returned)",
        ),
        ("SO-1,,,,,A-1,1", "status: empty (one of open, shipped, delivered, invoiced, cancelled, returned)"),
        ("SO-1,open,,,,A-1,2.5", "qty: not a whole number"),
        ("SO-1,open,,,,A-1,two", "qty: not a whole number"),
        ("SO-1,open,,,,A-1,-2", "qty: negative '-2'"),
        ("SO-1,open,,,,A-1,", "qty: empty (SKU 'A-1' needs a quantity)"),
        ("SO-1,open,,,,,3", "sku: empty (qty 3 names no SKU)"),
        ('SO-1,invoiced,INV-1,"12,5",EUR,A-1,1', "amount: not a decimal number '12,5'"),
        (
            "SO-1,invoiced,INV-1,12,5,EUR,A-1,1",
            "row: 8 fields where the header has 7 (a value with an unquoted comma?)",
        ),
        ("SO-1,invoiced,INV-1,12.50,EURO,A-1,1", "currency: not a 3-letter code 'EURO'"),
        ("SO-1,open", "row: 2 fields where the header has 7"),
        ("S" * 101 + ",open,,,,A-1,1", "order: longer than 100 characters"),
    ],
)
def test_parser_row_errors_say_what_to_fix(row: str, error: str) -> None:
    s = parse_snapshot(csv_of("SO-0,open,,,,A-1,1", row, "SO-2,open,,,,A-1,1"))
    assert [(e.row, e.error) for e in s.errors] == [(3, error)]
    assert list(s.orders) == ["SO-0", "SO-2"]
    assert s.rows == 3


def test_parser_a_later_row_that_disagrees_is_an_error() -> None:
    s = parse_snapshot(
        csv_of(
            "SO-1,invoiced,INV-1,125.00,EUR,A-1,1",
            "SO-1,shipped,,,,B-2,1",
            "SO-1,invoiced,INV-2,,,C-3,1",
            "SO-1,invoiced,,130.00,,D-4,1",
            "SO-1,invoiced,,125,,E-5,1",
        )
    )
    assert [e.as_dict() for e in s.errors] == [
        {"row": 3, "error": "status: 'shipped' disagrees with row 2 of SO-1 ('invoiced')"},
        {"row": 4, "error": "invoice: 'INV-2' disagrees with row 2 of SO-1 ('INV-1')"},
        {"row": 5, "error": "amount: '130.00' disagrees with row 2 of SO-1 ('125.00')"},
    ]
    assert s.orders["SO-1"].lines == {"A-1": 1, "E-5": 1}


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        (b"", "the file is empty"),
        (b"order,status,invoice,amount,sku\nSO-1,open,,,A\n", "header: missing columns currency, qty"),
        (b"order,status,invoice,amount,currency,sku,qty,Order\n", "header: column 'order' appears twice"),
        (HEADER.encode() + b"SO-1,open,,,,A-1,1\nSO-\xe9,open,,,,A-1,1\n", "not UTF-8"),
        (HEADER.encode("utf-16"), "not UTF-8"),
    ],
)
def test_parser_a_file_it_cannot_read_fails_whole(body: bytes, failure: str) -> None:
    assert parse_snapshot(body).failure.startswith(failure)


def test_parser_keeps_the_first_errors_and_counts_them_all() -> None:
    s = parse_snapshot(csv_of(*[f"SO-{n},open,,,,A-1,x" for n in range(1500)]))
    assert (s.error_count, len(s.errors), s.errors[-1].row) == (1500, 1000, 1001)


def _accounted(s: Any) -> None:
    """Every data row is an error or belongs to an order, unless the whole file failed."""
    if not s.failure:
        assert s.rows == s.error_count + sum(o.rows for o in s.orders.values())
        assert all(o.status in STATUSES and o.order for o in s.orders.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_parser_never_raises_on_bytes(body: bytes) -> None:
    _accounted(parse_snapshot(body))
    _accounted(parse_snapshot(HEADER.encode() + body))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=1000))
def test_parser_never_raises_on_text(text: str) -> None:
    _accounted(parse_snapshot(text.encode("utf-8", "surrogatepass")))
    _accounted(parse_snapshot((HEADER + text).encode("utf-8", "surrogatepass")))


_cell = st.one_of(
    st.sampled_from(["", "SO-1", "SO-2", "INV-1", "A-1", "open", "shipped", "12.50", "3", "EUR", "x", "-1", '"']),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_cell, max_size=9), max_size=30), st.permutations(COLUMNS))
def test_parser_never_raises_on_csv_shaped_rows(rows: list[list[str]], header: list[str]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    _accounted(parse_snapshot(out.getvalue().encode("utf-8", "surrogatepass")))
