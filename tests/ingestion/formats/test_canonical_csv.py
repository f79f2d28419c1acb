"""canonical-csv: reading, header and row errors, the writer, the streaming split."""

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody
from apps.ingestion.formats.base import TooManyEvents
from apps.ingestion.formats.canonical_csv import NotWritable, write_csv

CSV = FORMATS["canonical-csv"]
JSON = FORMATS["canonical-json"]

# A WMS/last-mile export as a partner would send it: Excel-style ";" file with a BOM, CRLF,
# quoted cells holding the delimiter, a quote and a line break.
PARTNER = (
    "\ufeffevent_id;type;occurred_at;source_status;refs.order;refs.tracking_number;refs.delivery_run;"
    "location.code;location.lat;location.lon;reason.code;reason.text;lines;eta;amount.value;amount.currency;"
    "pod.signed_by;attributes.Driver;attributes.route stop\r\n"
    "wms-1;pick.completed;2026-11-25T10:15:00+01:00;PICKED;SO-1001;;;DC-EAST;;;;;"
    '"A-1:9;B-2:1.5:KG";;;;;;\r\n'
    'lm-7;delivery.attempted;2026-11-25T16:40:00-05:00;ATT;SO-1001;"1Z99; 1Z98 ;1Z99";R-9;;40.7;-74.0;'
    'NOBODY;"Nobody home;\r\nleft a ""card""";;2026-11-26T09:00:00-05:00;;;;Jo;12\r\n'
    "lm-8;delivery.completed;2026-11-26T11:02:00-05:00;DLV;;1Z99;R-9;;;;;;;;49.90;USD;M. Smith;Jo;12\r\n"
)


def events(outcomes: list[ValidEvent | Rejection]) -> list[ValidEvent]:
    assert all(isinstance(o, ValidEvent) for o in outcomes), [o for o in outcomes if isinstance(o, Rejection)]
    return [o for o in outcomes if isinstance(o, ValidEvent)]


def errors(body: bytes | str, ctx: FeedContext) -> list[list[str]]:
    raw = body.encode() if isinstance(body, str) else body
    return [o.errors for o in CSV.parse(raw, ctx) if isinstance(o, Rejection)]


def unreadable(body: bytes | str, ctx: FeedContext) -> str:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(UnreadableBody) as caught:
        CSV.parse(raw, ctx)
    return str(caught.value)


def test_a_partner_file_gives_every_field(ctx: FeedContext) -> None:
    pick, attempt, pod = events(CSV.parse(PARTNER.encode("utf-8"), ctx))
    assert (pick.event_key, pick.type, pick.source_status) == ("wms-1", "pick.completed", "PICKED")
    assert pick.occurred_at == datetime(2026, 11, 25, 9, 15, tzinfo=UTC)
    assert pick.offset_minutes == 60
    assert pick.refs == {"order": ["SO-1001"]}
    assert pick.body == {
        "location": {"code": "DC-EAST"},
        "lines": [{"sku": "A-1", "qty": 9.0}, {"sku": "B-2", "qty": 1.5, "uom": "KG"}],
    }
    assert attempt.offset_minutes == -300
    assert attempt.refs == {"order": ["SO-1001"], "tracking_number": ["1Z99", "1Z98"], "delivery_run": ["R-9"]}
    assert attempt.body["reason"] == {"code": "NOBODY", "text": 'Nobody home;\r\nleft a "card"'}
    assert attempt.body["location"] == {"lat": 40.7, "lon": -74.0}
    assert attempt.body["eta"] == "2026-11-26T09:00:00-05:00"
    assert attempt.body["attributes"] == {"Driver": "Jo", "route stop": "12"}
    assert pod.body["amount"] == {"value": "49.90", "currency": "USD"}
    assert pod.body["pod"] == {"signed_by": "M. Smith"}
    assert pod.source_status == "DLV"


def test_count_and_announced_types_read_rows_without_mapping(ctx: FeedContext) -> None:
    body = PARTNER.encode("utf-8")
    assert CSV.count(body, ctx) == 3
    assert CSV.announced_types(body, ctx) == {"pick.completed", "delivery.attempted", "delivery.completed"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_delimiter_reads_the_same(ctx: FeedContext, delimiter: str) -> None:
    rows = [
        ["type", "occurred_at", "refs.order", "lines"],
        ["order.created", "2026-01-02T03:04:05Z", "SO-1;SO-2", "A:1;B:2"],
    ]
    body = "\n".join(delimiter.join(f'"{c}"' if ";" in c else c for c in row) for row in rows)
    (event,) = events(CSV.parse(body.encode(), ctx))
    assert event.refs == {"order": ["SO-1", "SO-2"]}
    assert event.body == {"lines": [{"sku": "A", "qty": 1.0}, {"sku": "B", "qty": 2.0}]}


def test_latin1_and_utf16_exports(ctx: FeedContext) -> None:
    text = "type,occurred_at,refs.order,customer\r\norder.created,2026-01-02T03:04:05+01:00,SO-1,Müller Café\r\n"
    for body in (text.encode("latin-1"), text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        (event,) = events(CSV.parse(body, ctx))
        assert event.body == {"customer": "Müller Café"}
    tabbed = text.replace(",", "\t").encode("utf-16")  # Excel's "Unicode text"
    assert events(CSV.parse(tabbed, ctx))[0].body == {"customer": "Müller Café"}


def test_empty_cells_blank_rows_and_whitespace(ctx: FeedContext) -> None:
    body = (
        "\n\n type , OCCURRED_AT ,refs.order,refs.shipment,customer,attributes.note\n"
        "order.created,2026-01-02T03:04:05Z, SO-1 ,,,\n"
        "\n"
        ",,,,,\n"
        "order.released,2026-01-02T04:04:05Z,SO-1,  ,  x  ,\n"
    )
    first, second = events(CSV.parse(body.encode(), ctx))
    assert first.refs == {"order": ["SO-1"]}
    assert first.body == {}
    assert second.body == {"customer": "x"}
    assert CSV.count(body.encode(), ctx) == 2


def test_without_event_id_the_key_is_the_canonical_json_key(ctx: FeedContext) -> None:
    event = {"type": "order.created", "occurred_at": "2026-01-02T03:04:05+02:00", "refs": {"order": "SO-1"}}
    (from_csv,) = events(CSV.parse(write_csv([event]), ctx))
    (from_json,) = events(JSON.parse(orjson.dumps({"events": [event]}), ctx))
    assert from_csv == from_json
    assert from_csv.event_key.startswith("sha256:")
    assert not from_csv.has_source_id


def test_header_errors_name_what_to_fix(ctx: FeedContext) -> None:
    message = unreadable("type,occurred_at,refs.order,refs.parcel,Status\norder.created,x,SO-1,P,S\n", ctx)
    assert message.startswith("line 1: unknown column(s) in the header: 'refs.parcel', 'Status'.")
    assert "refs.<kind> (order, shipment, warehouse_task, delivery_run, tracking_number" in message
    assert "attributes.<name>" in message
    assert unreadable("type,occurred_at,customer\n", ctx) == (
        "line 1: the header has no refs.<kind> column: every event needs a type, an occurred_at and at least one ref"
    )
    assert "the header has no type, occurred_at column" in unreadable("refs.order,customer\n", ctx)
    assert unreadable("type,occurred_at,refs.order,Type\n", ctx) == (
        "line 1: column(s) named twice in the header: type"
    )
    assert unreadable(b"", ctx).startswith("the body is empty: canonical-csv wants a header line")
    assert unreadable(" \r\n\r\n", ctx).startswith("the body is empty")
    assert "want column names separated by , ; tab or |" in unreadable("order.created\n", ctx)
    # a data row where the header should be
    assert "'order.created'" in unreadable("order.created,2026-01-02T03:04:05Z,SO-1\n", ctx)


def test_row_errors_name_the_row_and_its_lines(ctx: FeedContext) -> None:
    body = (
        "event_id,type,occurred_at,refs.order,location.lat,lines\n"  # line 1
        "e1,order.created,2026-01-02T03:04:05Z,SO-1,north,\n"  # row 1, line 2
        "e2,order.created,2026-01-02T03:04:05Z,SO-1\n"  # row 2, line 3
        'e3,order.created,2026-01-02T03:04:05Z,"SO-1\nSO-2",1,"A:x:EA;B;C:2"\n'  # row 3, lines 4-5
        "e4,order.created,2026-01-02T03:04:05,SO-1,,\n"  # row 4, line 6
        "e5,,2026-01-02T03:04:05Z,SO-1,,\n"  # row 5, line 7
        "e6,order.created,2026-01-02T03:04:05Z,,,\n"  # row 6, line 8
    )
    outcomes = CSV.parse(body.encode(), ctx)
    assert [o.event_id for o in outcomes if isinstance(o, Rejection)] == ["e1", "e2", "e3", "e4", "e5", "e6"]
    assert errors(body, ctx) == [
        ["row 1 (line 2): location.lat: 'north' is not a number"],
        ["row 2 (line 3): 4 cells, the header has 6; quote cells that contain the delimiter, a quote or a line break"],
        [
            "row 3 (lines 4-5): lines: item 1 'A:x:EA': qty 'x' is not a number",
            "row 3 (lines 4-5): lines: item 2 'B' is not sku:qty or sku:qty:uom",
        ],
        ["row 4 (line 6): occurred_at: naive time, offset required"],
        ["row 5 (line 7): type: required"],
        ["row 6 (line 8): refs: at least one ref is required"],
    ]
    assert [o.index for o in outcomes] == [0, 1, 2, 3, 4, 5]


def test_a_value_under_an_unnamed_column_is_rejected(ctx: FeedContext) -> None:
    body = (
        "type,occurred_at,refs.order,\n"
        "order.created,2026-01-02T03:04:05Z,SO-1,\n"
        "order.created,2026-01-02T03:04:05Z,SO-2,oops\n"
    )
    outcomes = CSV.parse(body.encode(), ctx)
    assert isinstance(outcomes[0], ValidEvent)
    assert errors(body, ctx) == [["row 2 (line 3): column 4 has no name in the header but a value 'oops'"]]


def test_broken_quotes_reject_the_row_they_are_in(ctx: FeedContext) -> None:
    unclosed = 'type,occurred_at,refs.order\norder.created,2026-01-02T03:04:05Z,"SO-1\norder.created,x,SO-2\n'
    assert errors(unclosed, ctx) == [
        ["row 1 (lines 2-3): not readable as CSV (unexpected end of data); check the quotes of this row"]
    ]
    stray = (
        'type,occurred_at,refs.order,customer\norder.created,2026-01-02T03:04:05Z,"SO"-1,\n'
        'order.created,2026-01-02T03:04:05Z,SO-2,5" pipes\n'
    )
    outcomes = CSV.parse(stray.encode(), ctx)
    assert errors(stray, ctx) == [
        ["row 1 (line 2): not readable as CSV (',' expected after '\"'); check the quotes of this row"]
    ]
    assert isinstance(outcomes[1], ValidEvent)
    assert outcomes[1].body == {"customer": '5" pipes'}  # a quote inside an unquoted cell is text


def test_more_than_the_body_limit_is_too_many(ctx: FeedContext, settings: Any) -> None:
    settings.INGEST_MAX_EVENTS = 5
    body = ("type,occurred_at,refs.order\n" + "order.created,2026-01-02T03:04:05Z,SO-1\n" * 6).encode()
    with pytest.raises(TooManyEvents):
        CSV.count(body, ctx)
    with pytest.raises(TooManyEvents):
        CSV.parse(body, ctx)
    assert CSV.count(body[: -len("order.created,2026-01-02T03:04:05Z,SO-1\n")], ctx) == 5


def test_the_writer_refuses_what_it_cannot_carry() -> None:
    base = {"type": "order.created", "occurred_at": "2026-01-02T03:04:05Z"}
    with pytest.raises(NotWritable, match=r"refs.order: 'A;B' holds ';'"):
        write_csv([{**base, "refs": {"order": "A;B"}}])
    with pytest.raises(NotWritable, match=r"lines\[1\]\.uom: '12' cannot be written"):
        write_csv([{**base, "refs": {"order": "A"}, "lines": [{"sku": "X", "qty": 1, "uom": "12"}]}])
    with pytest.raises(NotWritable, match="carrier: not a field"):
        write_csv([{**base, "refs": {"order": "A"}, "carrier": "DHL"}])
    assert write_csv([]) == b"type,occurred_at,refs.order\r\n"


def test_the_writer_output_reads_back(ctx: FeedContext) -> None:
    event = {
        "event_id": "e-1",
        "type": "delivery.completed",
        "occurred_at": "2026-01-02T03:04:05.250000+05:30",
        "refs": {"shipment": ["SH:1", "SH 2"], "return": "RMA-1"},
        "lines": [{"sku": "A:1", "qty": 2}, {"sku": "B", "qty": 0.1, "uom": "KG"}],
        "location": {"lat": -0.0, "lon": 179.999999},
        "attributes": {"nested": {"a": 1}, "plain": "x"},
    }
    body = write_csv([event])
    assert body.startswith(b"event_id,type,occurred_at,refs.shipment,refs.return,location.lat,location.lon,lines,")
    (read,) = events(CSV.parse(body, ctx))
    assert read.refs == {"shipment": ["SH:1", "SH 2"], "return": ["RMA-1"]}
    assert read.body["lines"] == [{"sku": "A:1", "qty": 2.0}, {"sku": "B", "qty": 0.1, "uom": "KG"}]
    assert read.body["attributes"] == {"nested": '{"a":1}', "plain": "x"}
    assert read.offset_minutes == 330


# --- split ---------------------------------------------------------------------------------


def _generated(rows: int) -> str:
    out = ["event_id;type;occurred_at;refs.order;reason.code;reason.text;lines\r\n"]
    for i in range(rows):
        text = f'"line one\r\nline two; ""{i}"""' if i % 3 == 0 else f"plain {i}"
        out.append(f"e{i};order.on_hold;2026-01-02T03:04:05+01:00;SO-{i % 50};CREDIT;{text};A:{i}\r\n")
        if i % 17 == 0:
            out.append("\r\n")  # blank lines in the middle are not rows
    return "".join(out)


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_split_bodies_give_the_events_of_the_whole(ctx: FeedContext, chunk: int) -> None:
    whole = _generated(250).encode("utf-8")
    bodies = list(CSV.split(_chunks(whole, chunk), ctx, max_events=40))
    assert len(bodies) == 7  # 6 x 40 + 10
    assert all(b.startswith(b"event_id;type;occurred_at;refs.order;reason.code;reason.text;lines\r\n") for b in bodies)
    assert [CSV.count(b, ctx) for b in bodies] == [40] * 6 + [10]
    split_events = [e for b in bodies for e in events(CSV.parse(b, ctx))]
    whole_events = events(CSV.parse(whole, ctx))
    strip = [(e.event_key, e.type, e.occurred_at, e.refs, e.body) for e in whole_events]
    assert [(e.event_key, e.type, e.occurred_at, e.refs, e.body) for e in split_events] == strip
    assert whole_events[3].body["reason"] == {"code": "CREDIT", "text": 'line one\r\nline two; "3"'}


def test_split_of_latin1_and_utf16_files(ctx: FeedContext) -> None:
    text = "type,occurred_at,refs.order,customer\n" + "order.created,2026-01-02T03:04:05Z,SO-1,Müller\n" * 5
    for data in (text.encode("latin-1"), text.encode("utf-16"), text.encode("utf-8")):
        bodies = list(CSV.split(_chunks(data, 3), ctx, max_events=2))
        assert len(bodies) == 3
        assert {e.body["customer"] for b in bodies for e in events(CSV.parse(b, ctx))} == {"Müller"}


def test_split_refuses_a_bad_header_and_an_endless_line(ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody, match="unknown column"):
        list(CSV.split([b"type,occurred_at,refs.order,nope\n"], ctx, max_events=10))
    with pytest.raises(UnreadableBody, match="a line of more than 8 MB"):
        list(CSV.split(iter([b"type,occurred_at,refs.order"] + [b"x" * 65536] * 200), ctx, max_events=10))
    assert list(CSV.split([b"type,occurred_at,refs.order\r\n\r\n"], ctx, max_events=10)) == []


def test_split_of_a_30_mb_file_is_bounded_in_memory(ctx: FeedContext) -> None:
    header = b"event_id,type,occurred_at,refs.order,refs.tracking_number,reason.text,lines\r\n"
    row = (
        b'e%08d,shipment.departed,2026-01-02T03:04:05+01:00,SO-%d,"1Z%d;1Z%dB","a note,\r\n'
        b'over two lines",SKU-1:2;SKU-2:3:CS\r\n'
    )
    block = b"".join(row % (i, i % 997, i, i) for i in range(8500))  # about 1 MB, made beforehand
    blocks = 30
    total_rows = 8500 * blocks
    assert len(block) * blocks > 30_000_000

    def file() -> Iterator[bytes]:
        yield header
        for _ in range(blocks):
            yield from _chunks(block, 65536 - 1)  # rows straddle chunks

    tracemalloc.start()
    try:
        rows = bodies = 0
        for body in CSV.split(file(), ctx, max_events=1000):
            bodies += 1
            rows += body.count(b"\r\ne")  # a row starts after a line break with its id
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == total_rows
    assert bodies == -(-total_rows // 1000)
    assert peak < 40 * 1024 * 1024


def test_a_real_csv_that_is_not_canonical_is_refused_naming_its_columns(realdata: Path, ctx: FeedContext) -> None:
    """The OCEL 1.0 order log (a real process-mining export): a CSV, not canonical-csv. The
    partner is told which columns are unknown, once, for the whole file."""
    body = (realdata / "ocel-pm4py-GPL3/tests/input_data/ocel/ocel_order_simulated.csv").read_bytes()
    message = unreadable(body, ctx)
    assert message.startswith(
        "line 1: unknown column(s) in the header: 'ocel:eid', 'ocel:activity', 'ocel:timestamp', "
        "'ocel:type:customers', 'ocel:type:items', 'ocel:type:orders', 'ocel:type:packages', "
        "'ocel:type:products', 'weight', 'price'. The first line must be the header;"
    )
    with pytest.raises(UnreadableBody, match="unknown column"):
        list(CSV.split(_chunks(body, 65536), ctx, max_events=1000))
