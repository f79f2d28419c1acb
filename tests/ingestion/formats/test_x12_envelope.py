"""X12 tokenizer and envelopes: delimiters from the ISA, chunk boundaries, and every envelope
error stated for a partner (interchange, group, set, segment)."""

import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FeedContext, UnreadableBody
from apps.ingestion.formats.x12 import X12Adapter
from apps.ingestion.formats.x12.tokens import Junk, Segment, read_tokens

from .test_x12_builders import SHIPMENT_214, Group, Interchange, TxSet, one, render, segments_of

ADAPTER = X12Adapter()
STATUS = ["B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240101*0800*UT"]
W = "interchange 000000001, group 1"


def outcome(body: bytes, ctx: FeedContext) -> tuple[list[ValidEvent], list[list[str]]]:
    out = ADAPTER.parse(body, ctx)
    return [o for o in out if isinstance(o, ValidEvent)], [o.errors for o in out if isinstance(o, Rejection)]


# --- tokenizer -------------------------------------------------------------------------


def test_delimiters_come_from_the_isa() -> None:
    body = render(Interchange([Group([TxSet(STATUS)])]), sep="|", comp="^", term="'", newline="")
    segs = segments_of(body)
    d = segs[0].delims
    assert (d.element, d.component, d.segment, d.repetition) == (b"|", b"^", b"'", None)
    assert [s.tag for s in segs] == ["ISA", "GS", "ST", "B10", "LX", "AT7", "SE", "GE", "IEA"]
    assert segs[5].el(1) == "X6"
    assert segs[5].el(7) == "UT"


def test_repetition_separator_only_from_00501_and_never_a_letter() -> None:
    ic = Interchange([Group([TxSet(STATUS)])], version="00501")
    assert segments_of(render(ic, rep="^"))[0].delims.repetition == b"^"
    assert segments_of(render(ic, rep="U"))[0].delims.repetition is None  # 945 sample: 'U' in 00501
    assert segments_of(render(Interchange([Group([TxSet(STATUS)])]), rep="^"))[0].delims.repetition is None


def test_bom_latin1_crlf_and_indentation_are_tolerated(ctx: FeedContext) -> None:
    body = one(*STATUS[:2], "AT7*X6*NS***20240101*0800*UT", "MS1*MONTR\xc9AL*QC*CA").replace(b"\xc3\x89", b"\xc9")
    pretty = b"\xef\xbb\xbf" + b"".join(b"    " + line + b"\r\n" for line in body.split(b"\n") if line)
    events, rejected = outcome(pretty, ctx)
    assert rejected == []
    assert events[0].body["location"]["code"] == "MONTR\xc9AL,QC,CA"  # Latin-1 byte read as É


def test_multibyte_terminator_and_newline_terminator() -> None:
    body = render(Interchange([Group([TxSet(STATUS)])]), term="\u2026", newline="\r\n")
    segs = segments_of(body)
    assert segs[0].delims.segment == "\u2026".encode()
    assert [s.tag for s in segs][-2:] == ["GE", "IEA"]
    nl = render(Interchange([Group([TxSet(STATUS)])]), sep="\x1e", comp="\x1d", term="\n", newline="")
    segs = segments_of(nl)
    assert (segs[0].delims.element, segs[0].delims.segment) == (b"\x1e", b"\n")
    assert segs[5].el(1) == "X6"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 105, 106, 107, 4096])
def test_segments_straddling_chunks_read_the_same(size: int) -> None:
    body = render(
        Interchange([Group([TxSet(SHIPMENT_214)])]),
        Interchange([Group([TxSet(STATUS)])], control="000000002"),
        term="\u2026",
        newline="\r\n",
    )
    whole = [t.raw if isinstance(t, Segment) else t for t in read_tokens(body)]
    assert [t.raw if isinstance(t, Segment) else t for t in read_tokens(body, chunk_size=size)] == whole
    assert len(whole) == 2 * 6 + len(SHIPMENT_214) + len(STATUS)


def test_junk_between_interchanges_is_one_token() -> None:
    a = one(*STATUS)
    tokens = list(read_tokens(a + b"garbage that is no X12\n" + a, chunk_size=3))
    junk = [t for t in tokens if isinstance(t, Junk)]
    assert junk == [Junk(size=23, sample="garbage that is no X12\n")]


# --- whole body ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not X12: the body is empty; an X12 interchange starts with an ISA segment"),
        (b"   \r\n", "not X12: the body is empty; an X12 interchange starts with an ISA segment"),
        (b'{"events": []}', "not X12: expected an ISA interchange header, found '{\"events\": []}'"),
        (
            b"UNB+UNOA:2+X+Y+200101:1200+1'",
            'not X12: expected an ISA interchange header, found "UNB+UNOA:2+X+Y+200101:1200+1\'"',
        ),
        (b"ISA*00*short", "not X12: the ISA segment does not have 16 elements separated by '*' (at 'ISA*00*short')"),
        (
            b"ISAAC NEWTON",
            "not X12: the character after 'ISA' must be the element separator, found 'A' (at 'ISAAC NEWTON')",
        ),
    ],
)
def test_not_x12_is_unreadable(ctx: FeedContext, body: bytes, message: str) -> None:
    with pytest.raises(UnreadableBody) as err:
        ADAPTER.parse(body, ctx)
    assert str(err.value) == message


def test_missing_terminator_after_isa16_is_unreadable(ctx: FeedContext) -> None:
    body = one(*STATUS).replace(b">~\n", b">GS", 1)
    with pytest.raises(UnreadableBody, match="the character after ISA16 must be the segment terminator, found 'G'"):
        ADAPTER.parse(body, ctx)


def test_broken_se_count_rejects_that_set_only(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS, se_count=9), TxSet(STATUS, control="0002")])]))
    events, rejected = outcome(body, ctx)
    assert len(events) == 1
    assert events[0].body["attributes"]["x12"]["set"] == "0002"
    assert rejected == [
        [
            f"{W}, set 0001 (214): SE01 says 9 segments but the set has 5 (ST..SE inclusive); "
            "resend it with a correct SE01"
        ]
    ]


@pytest.mark.parametrize(
    ("txset", "error"),
    [
        (TxSet(STATUS, se_control="0099"), "SE02 '0099' does not match ST02 '0001'"),
        (TxSet(STATUS, se_count=-1), "SE01 '-1' is not a segment count; it must count ST..SE inclusive"),
        (TxSet(STATUS, trailer=False), "no SE trailer before the GE at segment 7; every ST needs its SE"),
        (TxSet(STATUS, control=""), "ST02 (transaction set control number) is missing"),
    ],
)
def test_set_envelope_errors(ctx: FeedContext, txset: TxSet, error: str) -> None:
    events, rejected = outcome(render(Interchange([Group([txset])])), ctx)
    assert events == []
    assert len(rejected) == 1
    assert error in rejected[0][0]
    assert rejected[0][0].startswith(f"{W}, set ")


def test_missing_se_before_the_next_st(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS, trailer=False), TxSet(STATUS, control="0002")], ge_count=2)]))
    events, rejected = outcome(body, ctx)
    assert len(events) == 1
    assert rejected == [[f"{W}, set 0001 (214): no SE trailer before the next ST (segment 7); every ST needs its SE"]]


def test_duplicate_set_control_number(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS), TxSet(STATUS)])]))
    events, rejected = outcome(body, ctx)
    assert len(events) == 1
    assert rejected == [
        [f"{W}, set 0001 (214): set control number '0001' is used twice in the group; ST02 must be unique"]
    ]


def test_group_trailer_errors_are_one_rejection_and_sound_sets_count(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS)], ge_count=3, ge_control="7")]))
    events, rejected = outcome(body, ctx)
    assert len(events) == 1
    assert rejected == [
        [f"{W}: GE01 says 3 but the group has 1 transaction set", f"{W}: GE02 '7' does not match GS06 '1'"]
    ]


def test_interchange_trailer_errors(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS)])], iea_count=2, iea_control="000000009"))
    events, rejected = outcome(body, ctx)
    assert len(events) == 1
    assert rejected == [
        [
            "interchange 000000001: IEA01 says 2 but the interchange has 1 functional group",
            "interchange 000000001: IEA02 '000000009' does not match ISA13 '000000001'",
        ]
    ]


def test_missing_ge_and_iea(ctx: FeedContext) -> None:
    body = render(Interchange([Group([TxSet(STATUS)], trailer=False)], trailer=False))
    events, rejected = outcome(body, ctx)
    assert len(events) == 1
    assert rejected == [
        [f"{W}: no GE trailer before the end of the file; every GS needs its GE"],
        ["interchange 000000001: no IEA trailer before the end of the file; every ISA needs its IEA"],
    ]


def test_missing_iea_before_the_next_isa_with_other_delimiters(ctx: FeedContext) -> None:
    first = render(Interchange([Group([TxSet(STATUS)])], trailer=False))
    second = render(Interchange([Group([TxSet(STATUS)])], control="000000002"), sep="|", term="\n", newline="")
    events, rejected = outcome(first + second, ctx)
    assert len(events) == 2
    assert rejected == [["interchange 000000001: no IEA trailer before the next ISA; every ISA needs its IEA"]]


def test_set_outside_a_group_and_segments_between_sets(ctx: FeedContext) -> None:
    stray = ["ST*214*0009", *STATUS, "SE*5*0009"]
    body = render(Interchange([Group([TxSet(STATUS)])], extra=stray))
    events, rejected = outcome(body, ctx)
    assert len(events) == 1
    assert rejected[0] == [
        "interchange 000000001, set 0009 (214): the set is outside a functional group (no GS before its ST); wrap it "
        "in GS/GE"
    ]
    body = render(Interchange([Group([TxSet(STATUS)])])).replace(b"SE*5*0001~\n", b"SE*5*0001~\nN1*SH*X~\nK1*Y~\n")
    events, rejected = outcome(body, ctx)
    assert rejected == [
        [f"{W}: 2 segments between transaction sets (first: N1 at segment 8) belong to no set and were ignored"]
    ]


def test_malformed_isa_rejects_every_set_of_the_interchange(ctx: FeedContext) -> None:
    body = one(*STATUS).replace(b"*ZZ*CARRIERX       *", b"*ZZ*CARRIERX*", 1)
    events, rejected = outcome(body, ctx)
    assert events == []
    assert rejected == [
        [
            f"{W}, set 0001 (214): the ISA header is malformed (ISA06 must be 15 characters (got 8: 'CARRIERX')), "
            "so nothing was read"
        ]
    ]


def test_junk_after_an_interchange_is_a_file_rejection(ctx: FeedContext) -> None:
    events, rejected = outcome(one(*STATUS) + b"\r\n-- end of transmission --\r\n", ctx)
    assert len(events) == 1
    assert rejected == [
        [
            "file: 27 bytes that are not an X12 interchange (starting '-- end of transmission --\\r\\n') were ignored; "
            "every interchange starts with an ISA segment"
        ]
    ]
