"""EDIFACT file split: streaming in chunks of any size, bodies of at most max_events candidates
holding whole messages with the interchange's UNA/UNB verbatim and trailers recounted, the same
events as the whole file, and the original trailers checked into the report."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.events.validation import Rejection
from apps.ingestion.formats import FeedContext, SplitReport, UnreadableBody
from apps.ingestion.formats.edifact import EdifactAdapter

from .test_edifact_builders import events, iftsta, interchange, message, status

adapter = EdifactAdapter()

CUSTOM = (
    b"UNA|*.# ~UNB*UNOC|3*CARRIER|ZZZ*TOWER|ZZZ*240102|1030*IC1~"
    b"UNH*M1*IFTSTA|D|00B|UN~BGM*23*D1*9~RFF*BN|BK#~1~CNI*1~"
    b"STS*1*13~DTM*334|202401020800|203~STS*1*24~DTM*334|202401021000|203~STS*1*31~DTM*334|202401021100|203~"
    b"UNT*11*M1~UNZ*1*IC1~\r\n"
)


def statuses(n: int, start: int = 0) -> list[list[str]]:
    return [status("24", f"2024010{1 + i % 9}1{i % 10}00", refs=[("EQ", f"CONT{start + i}")]) for i in range(n)]


def file_body() -> bytes:
    groups = interchange(
        [
            [
                "UNG+IFTSTA+CARRIER:ZZZ+TOWER:ZZZ+240102:1030+G1+UN+D:00B",
                *iftsta(*statuses(5), ref="1"),
                *iftsta(*statuses(2, 5), ref="2"),
                "UNE+2+G1",
            ],
            ["UNG+IFTSTA+CARRIER:ZZZ+TOWER:ZZZ+240102:1030+G2+UN+D:00B", *iftsta(*statuses(3, 7)), "UNE+1+G2"],
        ],
        ref="IC2",
        unz_count=2,
    )
    broken = message(["BGM+23+D+9", "RFF+BN:B1", "CNI+1", *status("21")], ref="BAD", unt_count=2)
    plain = interchange(
        [iftsta(*statuses(4, 10), ref=str(i)) for i in range(1, 4)]
        + [broken, message(["BGM+220+PO+9"], ref="O1", kind="ORDERS:D:96A:UN")],
        ref="IC3",
        unz_count=9,  # wrong on purpose: the report says so, the parts are recounted
        una=True,
    )
    return CUSTOM + groups + plain


def chunked(body: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_split_gives_the_same_events_in_bodies_of_at_most_max_events(ctx: FeedContext, size: int) -> None:
    body = file_body()
    report = SplitReport()
    parts = list(adapter.split(chunked(body, size), ctx, max_events=5, report=report))
    whole = list(adapter.read(body, ctx))
    from_parts = [c for part in parts for c in adapter.read(part, ctx)]
    ids = [c["event_id"] for c in from_parts if isinstance(c, dict)]
    assert ids == [c["event_id"] for c in whole if isinstance(c, dict)]
    assert len(ids) == 3 + 10 + 12
    assert [len(adapter.candidates(part, ctx)) for part in parts] == [3, 5, 2, 3, 4, 4, 5, 1]
    # the parts' envelopes are sound: only the broken message and the ORDERS are rejected
    rejected = [c.errors[0] for c in from_parts if isinstance(c, Rejection)]
    assert len(rejected) == 2
    assert "message BAD: UNT01 says 2 segments" in rejected[0]
    assert "message O1 is ORDERS" in rejected[1]
    assert report.errors == ["interchange IC3 from CARRIER: UNZ01 says 9 messages but the interchange holds 5"]
    assert [a.body for a in report.acknowledgements] == [a.body for a in adapter.acknowledge(body, ctx)]


def test_parts_repeat_the_envelope_verbatim(ctx: FeedContext) -> None:
    parts = list(adapter.split([file_body()], ctx, max_events=5))
    assert parts[0].startswith(b"UNA|*.# ~\nUNB*UNOC|3*CARRIER|ZZZ*TOWER|ZZZ*240102|1030*IC1~\n")
    assert parts[0].endswith(b"UNZ*1*IC1~\n")
    grouped = [p for p in parts if b"UNG+" in p]
    assert len(grouped) == 3  # G1's two messages (5 and 2 statuses: 5 a part at most), G2
    assert grouped[0].count(b"UNH+") == 1
    assert grouped[0].endswith(b"UNE+1+G1'\nUNZ+1+IC2'\n")
    assert grouped[1].endswith(b"UNE+1+G1'\nUNZ+1+IC2'\n")
    plain = [p for p in parts if b"IC3" in p]
    assert all(p.startswith(b"UNA:+.? '\nUNB+UNOC:3+CARRIER:ZZZ+TOWER:ZZZ+240102:1030+IC3'\n") for p in plain)
    assert plain[0].endswith(b"UNZ+1+IC3'\n")


def test_message_larger_than_max_events_is_one_part_and_reported(ctx: FeedContext) -> None:
    report = SplitReport()
    body = interchange([iftsta(*statuses(6))])
    parts = list(adapter.split([body], ctx, max_events=4, report=report))
    assert len(parts) == 1
    assert len(events(parts[0], ctx)) == 6
    assert report.errors == [
        "interchange IC1 from CARRIER, message M1 holds 6 statuses, more than the 4 a message may hold: "
        "it is sent as one part, which will be refused; send smaller messages"
    ]


def test_missing_unz_at_the_end_of_the_file(realdata: Path, ctx: FeedContext) -> None:
    report = SplitReport()
    body = (realdata / "edifact-pydifact/tests/data/order.edi").read_bytes()
    (part,) = adapter.split(chunked(body, 5), ctx, max_events=10, report=report)
    assert part.endswith(b"UNZ+1+807'\n")
    assert report.errors == [
        "interchange 807 from 12345678: no UNZ trailer before the end of the body (the interchange is truncated "
        "or UNZ is missing)"
    ]
    assert len(report.acknowledgements) == 1
    assert not report.acknowledgements[0].accepted


def test_realdata_iftsta_split(realdata: Path, ctx: FeedContext) -> None:
    report = SplitReport()
    body = (realdata / "edifact-types/test-data/d00b_iftsta.edi").read_bytes()
    (part,) = adapter.split(chunked(body, 3), ctx, max_events=1000, report=report)
    assert part.endswith(b"UNZ+1+2803570'\n")  # recounted: the reference is UNB05's
    assert list(adapter.read(part, ctx)) == events(body, ctx)
    assert report.errors == [
        "interchange 2803570 from SENDER: UNZ02 control reference '2805570' does not match UNB05 '2803570'"
    ]


@pytest.mark.parametrize("body", [b"", b"hello world", b"UNB+UNOC:3+A+B+240101:1200+1'UNZ+0+1'"])
def test_nothing_to_split_is_unreadable(ctx: FeedContext, body: bytes) -> None:
    with pytest.raises(UnreadableBody):
        list(adapter.split([body], ctx, max_events=10))
