"""X12 997 functional acknowledgements: one per received interchange, a valid 004010 997 that
reads back through the same tokenizer, deterministic from the received bytes."""

from pathlib import Path

from apps.ingestion.formats import FeedContext
from apps.ingestion.formats.base import CodeBook
from apps.ingestion.formats.x12 import X12Adapter
from apps.ingestion.formats.x12.codes import CODE_TABLES
from apps.ingestion.formats.x12.envelope import GroupEnd, InterchangeEnd, SetDone, walk
from apps.ingestion.formats.x12.tokens import Segment, read_tokens

from .test_x12_builders import SHIPMENT_214, Group, Interchange, TxSet, one, render

ADAPTER = X12Adapter()
STATUS = ["B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240101*0800*UT"]


def lines(body: bytes) -> list[str]:
    return [line.rstrip("~") for line in body.decode().splitlines()]


def assert_valid_997(body: bytes) -> list[Segment]:
    """The 997 reads back with no envelope error, as a 997, with a fixed-length ISA."""
    segs = [t for t in read_tokens(body) if isinstance(t, Segment)]
    assert len(segs[0].raw) == 105
    for item in walk(read_tokens(body)):
        if isinstance(item, SetDone):
            assert item.txset.errors == []
            assert item.txset.set_id == "997"
        elif isinstance(item, (GroupEnd, InterchangeEnd)):
            assert item.errors == []
    return segs


def test_accepted_interchange(ctx: FeedContext) -> None:
    (ack,) = ADAPTER.acknowledge(one(*SHIPMENT_214), ctx)
    assert (ack.kind, ack.interchange, ack.accepted, ack.errors) == ("997", "000000001", True, ())
    assert lines(ack.body) == [
        "ISA*00*          *00*          *ZZ*SHIPPERY       *ZZ*CARRIERX       *240108*1015*U*00401*000000001*0*P*>",
        "GS*FA*SHIPPERY*CARRIERX*20240108*1015*1*X*004010",
        "ST*997*0001",
        "AK1*QM*1",
        "AK2*214*0001",
        "AK5*A",
        "AK9*A*1*1*1",
        "SE*6*0001",
        "GE*1*1",
        "IEA*1*000000001",
    ]
    assert_valid_997(ack.body)


def test_envelope_errors_reject_sets_with_their_codes(ctx: FeedContext) -> None:
    body = render(
        Interchange(
            [
                Group(
                    [
                        TxSet(STATUS, se_count=9),
                        TxSet(STATUS, control="0002", se_control="0003"),
                        TxSet(STATUS, control="0004"),
                    ]
                ),
                Group([TxSet(STATUS)], control="2", ge_count=4, ge_control="9"),
            ],
            control="000004711",
        )
    )
    (ack,) = ADAPTER.acknowledge(body, ctx)
    assert ack.accepted is False
    assert lines(ack.body)[2:-2] == [
        "ST*997*0001",
        "AK1*QM*1",
        "AK2*214*0001",
        "AK5*R*4",  # Number of included segments does not match actual count
        "AK2*214*0002",
        "AK5*R*3",  # Transaction set control number in header and trailer do not match
        "AK2*214*0004",
        "AK5*A",
        "AK9*P*3*3*1",
        "SE*10*0001",
        "ST*997*0002",
        "AK1*QM*2",
        "AK2*214*0001",
        "AK5*A",
        "AK9*E*4*1*1*5*4",  # GE01 count and GE02 control number
        "SE*6*0002",
    ]
    assert lines(ack.body)[-2:] == ["GE*2*4711", "IEA*1*000004711"]
    assert ack.errors[0].endswith(
        "SE01 says 9 segments but the set has 5 (ST..SE inclusive); resend it with a correct SE01"
    )
    assert_valid_997(ack.body)


def test_segment_errors_are_ak3_ak4_and_unmapped_codes_are_not(ctx: FeedContext) -> None:
    body = one(
        "B10*PRO1*SH1*ABCD",
        "LX*1",
        "AT7*X6*NS***20241399*0800*UT",
        "AT7*ZZ*NS***20240101*0800*QQ",
        "AT7*ZZ*NS***20240101*0800*UT",
    )
    (ack,) = ADAPTER.acknowledge(body, ctx)
    assert lines(ack.body)[4:10] == [
        "AK2*214*0001",
        "AK3*AT7*4**8",
        "AK4*5*373*8*20241399",  # invalid date
        "AK3*AT7*5**8",
        "AK4*7*623*7*QQ",  # invalid time code
        "AK5*E*5",  # accepted, errors noted: the unmapped ZZ of segment 6 is no EDI error
    ]
    assert ack.accepted is True
    assert ack.errors == (
        "interchange 000000001, group 1, set 0001 (214): AT7 at segment 4, element 05: an element holds an invalid "
        "date ('20241399')",
        "interchange 000000001, group 1, set 0001 (214): AT7 at segment 5, element 07: an element holds an invalid "
        "code ('QQ')",
    )


def test_code_tables_do_not_change_the_997(ctx: FeedContext) -> None:
    body = one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*X1*NS***20240101*0800*UT")
    custom = FeedContext(codes=CodeBook(CODE_TABLES, {"x12.at7": (3, {"X1": None})}))
    assert ADAPTER.acknowledge(body, ctx) == ADAPTER.acknowledge(body, custom)


def test_a_set_nothing_links_and_an_unsupported_set_are_rejected(ctx: FeedContext) -> None:
    body = render(
        Interchange(
            [
                Group(
                    [
                        TxSet(["LX*1", "AT7*X6*NS***20240101*0800*UT"]),
                        TxSet(["BEG*00*SA*PO1**20240101"], set_id="850", control="0002"),
                    ]
                )
            ]
        )
    )
    (ack,) = ADAPTER.acknowledge(body, ctx)
    assert lines(ack.body)[4:10] == [
        "AK2*214*0001",
        "AK3*B10*2**3",
        "AK5*R*5",
        "AK2*850*0002",
        "AK5*R*1",
        "AK9*R*2*2*0",
    ]


def test_one_997_per_interchange_and_deterministic(ctx: FeedContext) -> None:
    body = render(
        Interchange([Group([TxSet(STATUS)])], control="000000005", date="240301", time="0700"),
        Interchange([Group([TxSet(STATUS)], control="77")], control="000000006"),
    )
    acks = ADAPTER.acknowledge(body, ctx)
    assert [a.interchange for a in acks] == ["000000005", "000000006"]
    assert lines(acks[0].body)[0].endswith("*240301*0700*U*00401*000000005*0*P*>")
    assert lines(acks[1].body)[1] == "GS*FA*SHIPPERY*CARRIERX*20240108*1015*6*X*004010"
    assert ADAPTER.acknowledge(body, ctx) == acks  # a pure function of the received bytes
    for ack in acks:
        assert_valid_997(ack.body)


def test_997s_are_not_acknowledged_and_garbage_has_none(realdata: Path, ctx: FeedContext) -> None:
    assert (
        ADAPTER.acknowledge((realdata / "x12-stupidedi/spec/fixtures/004010/FA997/pass/1.edi").read_bytes(), ctx) == []
    )
    assert ADAPTER.acknowledge(b"not x12", ctx) == []


def test_realdata_acks_read_back(realdata: Path, ctx: FeedContext) -> None:
    fixtures = realdata / "x12-stupidedi/spec/fixtures/004010"
    (empty,) = ADAPTER.acknowledge((fixtures / "QM214/pass/gh-189.edi").read_bytes(), ctx)
    assert lines(empty.body)[3:5] == ["AK1*QM*914", "AK9*R*1*0*0*5"]
    assert_valid_997(empty.body)
    (tender,) = ADAPTER.acknowledge((fixtures / "SM204/case/1.edi").read_bytes(), ctx)
    assert lines(tender.body)[0] == (
        "ISA*00*          *00*          *02*RECEIVER0002222*14*SENDER000111111*220822*1004*U*00401*000013309*0*T*>"
    )
    assert lines(tender.body)[1] == "GS*FA*RECD*SENDER000111111*20220822*1004*13309*X*004010"
    assert tender.accepted
    assert_valid_997(tender.body)
