"""canonical-csv, by property: canonical events written as CSV read back as the same events
(and as the same events canonical JSON gives); no input raises anything but UnreadableBody."""

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.events.taxonomy import EVENT_TYPES
from apps.events.validation import ValidEvent
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody
from apps.ingestion.formats.canonical_csv import write_csv

CSV = FORMATS["canonical-csv"]
JSON = FORMATS["canonical-json"]
CTX = FeedContext.standard(slug="prop-feed")
REF_KINDS = ["order", "shipment", "warehouse_task", "delivery_run", "tracking_number"]
REF_KINDS += ["customer_po", "invoice", "lpn", "load", "return"]


def _stripped(text: str) -> bool:
    return bool(text) and text == text.strip()


texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30).filter(_stripped)
ids = st.text(st.characters(exclude_categories=("Cs",), exclude_characters=";"), min_size=1, max_size=40).filter(
    _stripped
)
offsets = st.sampled_from([0, 60, -300, 330, 345, -570, 840]).map(lambda m: timezone(timedelta(minutes=m)))
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=offsets).map(  # noqa: DTZ001
    lambda d: d.isoformat()
)
numbers = st.floats(min_value=0, max_value=1e9, allow_nan=False) | st.integers(0, 10**9)
refs = st.dictionaries(
    st.sampled_from(REF_KINDS),
    ids | st.lists(ids, min_size=2, max_size=4, unique_by=str.strip),
    min_size=1,
    max_size=4,
)
lines = st.lists(
    st.fixed_dictionaries(
        {"sku": ids, "qty": numbers},
        optional={"uom": st.text("ABCDEFGHKLMPTXZ", min_size=1, max_size=3)},
    ),
    min_size=1,
    max_size=5,
)
events = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(EVENT_TYPES)), "occurred_at": times, "refs": refs},
    optional={
        "event_id": ids,
        "source_status": texts,
        "location": st.fixed_dictionaries(
            {},
            optional={
                "code": texts,
                "name": texts,
                "lat": st.floats(-90, 90, allow_nan=False),
                "lon": st.floats(-180, 180, allow_nan=False),
                "tz": st.sampled_from(["Europe/Berlin", "America/New_York"]),
            },
        ).filter(bool),
        "reason": st.fixed_dictionaries({"code": texts}, optional={"text": texts}),
        "lines": lines,
        "eta": times,
        "promised_by": times,
        "service_level": texts,
        "customer": texts,
        "amount": st.fixed_dictionaries(
            {
                "value": st.from_regex(r"-?[0-9]{1,7}(\.[0-9]{1,2})?", fullmatch=True),
                "currency": st.sampled_from(["EUR", "USD"]),
            }
        ),
        "pod": st.fixed_dictionaries(
            {}, optional={"signed_by": texts, "document_ref": texts, "photo_ref": texts}
        ).filter(bool),
        "attributes": st.dictionaries(
            st.from_regex(r"[A-Za-z][A-Za-z0-9_ ]{0,9}", fullmatch=True).filter(_stripped),
            texts,
            min_size=1,
            max_size=3,
        ),
    },
)


def _valid(outcomes: list[Any]) -> list[ValidEvent]:
    assert all(isinstance(o, ValidEvent) for o in outcomes), outcomes
    return outcomes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, min_size=1, max_size=8), st.sampled_from([",", ";", "\t", "|"]))
def test_written_events_read_back_as_canonical_json_reads_them(batch: list[dict[str, Any]], delimiter: str) -> None:
    from_json = _valid(JSON.parse(orjson.dumps({"events": batch}), CTX))
    body = write_csv(batch)
    from_csv = _valid(CSV.parse(body, CTX))
    assert from_csv == from_json
    # the same rows with another delimiter (the writer's cells, re-quoted): the same events
    import csv as stdlib_csv
    import io

    rows = list(stdlib_csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    out = io.StringIO()
    stdlib_csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    assert _valid(CSV.parse(out.getvalue().encode("utf-8"), CTX)) == from_json


@settings(max_examples=50, deadline=None)
@given(st.lists(events, min_size=1, max_size=30), st.integers(1, 7), st.integers(1, 300))
def test_split_bodies_read_as_the_whole(batch: list[dict[str, Any]], max_events: int, chunk: int) -> None:
    whole = write_csv(batch)
    bodies = list(CSV.split((whole[i : i + chunk] for i in range(0, len(whole), chunk)), CTX, max_events=max_events))
    assert all(CSV.count(b, CTX) <= max_events for b in bodies)
    parts = [e for b in bodies for e in _valid(CSV.parse(b, CTX))]
    key = [(e.event_key, e.type, e.occurred_at, e.offset_minutes, e.refs, e.body) for e in parts]
    assert key == [
        (e.event_key, e.type, e.occurred_at, e.offset_minutes, e.refs, e.body) for e in _valid(CSV.parse(whole, CTX))
    ]


# --- fuzz ------------------------------------------------------------------------------------

SAMPLE = write_csv(
    [
        {
            "event_id": "e-1",
            "type": "delivery.attempted",
            "occurred_at": "2026-11-25T16:40:00-05:00",
            "refs": {"order": "SO-1", "tracking_number": ["1Z9", "1Z8"]},
            "reason": {"code": "NOBODY", "text": 'not home, "card"\nleft'},
            "lines": [{"sku": "A", "qty": 2, "uom": "EA"}],
            "location": {"lat": 40.7, "lon": -74.0},
            "attributes": {"driver": "Jo"},
        },
        {"type": "delivery.completed", "occurred_at": "2026-11-25T17:00:00Z", "refs": {"order": "SO-1"}},
    ]
)


def _survives(body: bytes) -> None:
    try:
        CSV.parse(body, CTX)
        CSV.count(body, CTX)
        CSV.announced_types(body, CTX)
    except UnreadableBody:
        pass
    try:
        for part in CSV.split([body[: len(body) // 2], body[len(body) // 2 :]], CTX, max_events=1):
            CSV.parse(part, CTX)
    except UnreadableBody:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes(body: bytes) -> None:
    _survives(body)
    _survives(SAMPLE.split(b"\r\n", 1)[0] + b"\r\n" + body)  # a good header, then noise


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_sample(data: st.DataObject) -> None:
    body = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 6))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "drop"]))
        at = data.draw(st.integers(0, max(len(body) - 1, 0)))
        if action == "flip" and body:
            body[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del body[at:]
        elif action == "insert":
            body[at:at] = data.draw(
                st.sampled_from([b",", b";", b"\t", b"|", b'"', b"\r", b"\n", b"\x00", b"\xff", b":"])
            )
        elif body:
            del body[at]
    _survives(bytes(body))


def test_pathological_sizes_take_linear_time() -> None:
    header = b"type,occurred_at,refs.order,reason.text\r\n"
    cases = [
        header + b'order.created,2026-01-02T03:04:05Z,SO-1,"' + b"x" * 2_000_000,  # a quote never closed
        header + b"," * 2_000_000,  # one row of two million cells
        header + b"order.created,2026-01-02T03:04:05Z,SO-1,x\r\n" * 45_000,  # beyond the body limit
        b"type," * 400_000 + b"\r\n",  # a header naming a column 400,000 times
        b"x" * 2_000_000,  # one line, no delimiter
        header + b'"' * 2_000_000,
        header + b'order.created,2026-01-02T03:04:05Z,SO-1,"' + b'"",' * 600_000 + b'"\r\n',
    ]
    for body in cases:
        started = time.monotonic()
        _survives(body)
        assert time.monotonic() - started < 5, body[:60]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"\xff\xfe\x00\xd8", "not UTF-16 text"),
        (b"nope\r\n", "want column names separated by"),
    ],
)
def test_a_split_of_an_unreadable_file_says_so(body: bytes, message: str) -> None:
    with pytest.raises(UnreadableBody, match=message):
        list(CSV.split([body], CTX, max_events=3))


def test_times_are_kept_with_their_offset() -> None:
    (event,) = _valid(
        CSV.parse(b"type,occurred_at,refs.order\r\norder.created,2026-03-29T02:30:00+13:45,SO-1\r\n", CTX)
    )
    assert event.occurred_at == datetime(2026, 3, 28, 12, 45, tzinfo=UTC)
    assert event.offset_minutes == 825
