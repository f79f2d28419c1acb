"""X12 file split: bodies of at most max_events candidates, each the interchange's ISA and GS
verbatim + whole sets + recounted GE/IEA, giving exactly the events of the whole file; the
original trailers checked on the way and one 997 per interchange in the report."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FeedContext, SplitReport, UnreadableBody
from apps.ingestion.formats.x12 import X12Adapter
from apps.ingestion.formats.x12.tokens import Segment, read_tokens

from .test_x12_builders import SHIPMENT_214, Group, Interchange, TxSet, render

ADAPTER = X12Adapter()
OOP = "x12-oopfactory/tests/OopFactory.X12.Tests.Unit/Parsing/_SampleEdiFiles"
STATUS = ["B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240101*0800*UT"]


def chunked(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def summary(outcomes: list[ValidEvent | Rejection]) -> list[tuple[object, ...]]:
    return [(e.event_key, e.type, e.refs, e.occurred_at, e.body) for e in outcomes if isinstance(e, ValidEvent)]


def split(body: bytes, ctx: FeedContext, max_events: int, size: int = 97) -> tuple[list[bytes], SplitReport]:
    report = SplitReport()
    return list(ADAPTER.split(chunked(body, size), ctx, max_events=max_events, report=report)), report


def multi_file() -> bytes:
    return render(
        Interchange(
            [
                Group([TxSet(SHIPMENT_214), TxSet(STATUS, control="0002"), TxSet(STATUS, control="0003", se_count=2)]),
                Group([TxSet(STATUS), TxSet(SHIPMENT_214, control="0009")], control="2", ge_control="99"),
            ]
        ),
        Interchange([Group([TxSet(STATUS)])], control="000000002", iea_control="000000003"),
    ) + render(Interchange([Group([TxSet(SHIPMENT_214)])], control="000000004"), sep="|", term="\n", newline="")


@pytest.mark.parametrize(("max_events", "size"), [(1, 1), (3, 97), (4, 1 << 20), (1000, 5)])
def test_split_bodies_give_the_events_of_the_whole_file(ctx: FeedContext, max_events: int, size: int) -> None:
    body = multi_file()
    bodies, _report = split(body, ctx, max_events, size)
    whole = ADAPTER.parse(body, ctx)
    parts = [o for b in bodies for o in ADAPTER.parse(b, ctx)]
    assert summary(parts) == summary(whole)
    assert len(summary(whole)) == 8 + 1 + 1 + 8 + 1 + 8
    # The set with a broken SE travels as it came and is rejected the same way.
    broken = [r.errors for r in parts if isinstance(r, Rejection) and "SE01 says 2" in r.errors[0]]
    assert len(broken) == 1
    for b in bodies:
        n = len(ADAPTER.candidates(b, ctx))
        sets = sum(1 for t in read_tokens(b) if isinstance(t, Segment) and t.tag == "ST")
        assert n <= max_events or sets == 1  # a set with more statuses than max_events goes alone
    # A new body at each group: no body mixes two groups or two interchanges.
    for b in bodies:
        tags = [t.tag for t in read_tokens(b) if isinstance(t, Segment)]
        assert (tags.count("ISA"), tags.count("GS"), tags.count("GE"), tags.count("IEA")) == (1, 1, 1, 1)


def test_bodies_repeat_the_headers_verbatim_and_recount_trailers(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS), TxSet(STATUS, control="0002"), TxSet(STATUS, control="0003")])]))
    bodies, _ = split(body, ctx, 2)
    assert len(bodies) == 2
    first = [t for t in read_tokens(bodies[0]) if isinstance(t, Segment)]
    original = [t for t in read_tokens(body) if isinstance(t, Segment)]
    assert (first[0].raw, first[1].raw) == (original[0].raw, original[1].raw)
    assert [t.raw for t in first[-2:]] == [b"GE*2*1", b"IEA*1*000000001"]
    second = [t for t in read_tokens(bodies[1]) if isinstance(t, Segment)]
    assert [t.raw for t in second[-2:]] == [b"GE*1*1", b"IEA*1*000000001"]
    assert all(not isinstance(o, Rejection) for b in bodies for o in ADAPTER.parse(b, ctx))


def test_original_trailers_are_checked_and_acknowledged(ctx: FeedContext) -> None:
    body = multi_file()
    _, report = split(body, ctx, 3)
    assert report.errors == [
        "interchange 000000001, group 2: GE02 '99' does not match GS06 '2'",
        "interchange 000000002: IEA02 '000000003' does not match ISA13 '000000002'",
    ]
    assert report.acknowledgements == ADAPTER.acknowledge(body, ctx)
    assert [a.interchange for a in report.acknowledgements] == ["000000001", "000000002", "000000004"]


def test_a_set_outside_a_group_is_reported_not_split(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS)])], extra=["ST*214*0009", *STATUS, "SE*5*0009"]))
    bodies, report = split(body, ctx, 10)
    assert len(bodies) == 1
    assert report.errors == [
        "interchange 000000001, set 0009 (214): the set is outside a functional group (no GS before its ST); wrap it "
        "in GS/GE"
    ]


def test_not_x12_cannot_be_split(ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody, match="not X12: expected an ISA interchange header"):
        list(ADAPTER.split(iter([b"id,type\n1,x\n"]), ctx, max_events=10))
    with pytest.raises(UnreadableBody, match="the body is empty"):
        list(ADAPTER.split(iter([]), ctx, max_events=10))


def test_realdata_files_concatenated(realdata: Path, ctx: FeedContext) -> None:
    # Other delimiters per interchange ('…', '\r', '.', '\n'), BOMs, pretty printing.
    names = [
        f"{OOP}/ORD/_856/Example3.txt",
        f"{OOP}/WAR/_940/simplot.txt",
        f"{OOP}/TAM/_210/DBSchenker_SampleMotorFreightDetailsAndInvoice.txt",
        "x12-gozer/src/test/resources/asn856/asn856.txt",
        f"{OOP}/ORD/_856/edi1Source.txt",
        "x12-stupidedi/spec/fixtures/004010/SM204/case/1.edi",
    ]
    body = b"\r\n".join((realdata / n).read_bytes() for n in names)
    bodies, report = split(body, ctx, 1, size=64)
    whole = ADAPTER.parse(body, ctx)
    assert summary([o for b in bodies for o in ADAPTER.parse(b, ctx)]) == summary(whole)
    assert [e.type for e in whole if isinstance(e, ValidEvent)] == [
        "shipment.confirmed",
        "order.released",
        "freight.cost_updated",
        "shipment.confirmed",
        "shipment.confirmed",
        "shipment.tendered",
    ]
    assert len(bodies) == 6
    assert len(report.acknowledgements) == 6
    assert report.errors == [
        "interchange 398161180, group 177818711: GE02 '940001777' does not match GS06 '177818711'",
        "interchange 398161180: IEA02 '940001777' does not match ISA13 '398161180'",
        "interchange 000000024, group 1: GE02 '24' does not match GS06 '1'",
        "interchange 000003438: IEA02 '000000049' does not match ISA13 '000003438'",
    ]
