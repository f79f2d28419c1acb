"""EDIFACT syntax and envelopes: UNA and its delimiters, the release character, several
interchanges, groups, encodings, and every broken envelope (a rejection naming the control
references), or UnreadableBody when nothing can be read."""

import pytest

from apps.events.validation import Rejection
from apps.ingestion.formats import FeedContext, UnreadableBody
from apps.ingestion.formats.edifact import EdifactAdapter
from apps.ingestion.formats.edifact.syntax import Delimiters, scan

from .test_edifact_builders import events, iftsta, interchange, message, status

adapter = EdifactAdapter()


def rejections(body: bytes, ctx: FeedContext) -> list[str]:
    return [e for c in adapter.read(body, ctx) if isinstance(c, Rejection) for e in c.errors]


# --- service characters ------------------------------------------------------------------


def test_release_character_inside_values(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("24"), header=["RFF+BN:ABC?'123?:X?+Y??Z", "RFF+CO:END??"])])
    (event,) = events(body, ctx)
    assert event["refs"] == {"shipment": "ABC'123:X+Y?Z", "customer_po": "END?"}


def test_custom_una_delimiters(ctx: FeedContext) -> None:
    body = (
        b"UNA|*.# ~UNB*UNOC|3*CARRIER|ZZZ*TOWER|ZZZ*240102|1030*IC9~UNH*M1*IFTSTA|D|00B|UN~BGM*23*D1*9~"
        b"RFF*BN|BK#~1#*2~RFF*CO|A+B:C'D?~CNI*1~STS*1*24~DTM*334|202401021030|203~LOC*175*DEHAM|||HAM#|BURG~"
        b"UNT*9*M1~UNZ*1*IC9~"
    )
    (event,) = events(body, ctx)
    assert event["refs"] == {"shipment": "BK~1*2", "customer_po": "A+B:C'D?"}  # '?' is no release here
    assert event["occurred_at"] == "2024-01-02T10:30:00+00:00"
    assert event["location"] == {"code": "DEHAM", "name": "HAM|BURG"}
    assert rejections(body, ctx) == []


def test_una_without_release_character(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("24"), header=["RFF+BN:WHAT?"])], una=False)
    body = b"UNA:+.  '" + body  # release position is a space: none
    (event,) = events(body, ctx)
    assert event["refs"] == {"shipment": "WHAT?"}


def test_una_with_clashing_characters_is_unreadable(ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody, match="syntax error 20"):
        list(adapter.read(b"UNA++.? 'UNB+UNOC:3+A+B+240101:1200+1'", ctx))


def test_several_interchanges_each_with_its_delimiters(ctx: FeedContext) -> None:
    custom = (
        b"UNA|*.# ~UNB*UNOC|3*CARRIER|ZZZ*TOWER|ZZZ*240102|1030*IC1~UNH*M1*IFTSTA|D|00B|UN~BGM*23*D1*9~"
        b"RFF*BN|BK-1~CNI*1~STS*1*13~DTM*334|202401020800|203~UNT*7*M1~UNZ*1*IC1~\n"
    )
    plain = interchange([iftsta(status("24"), header=["RFF+BN:BK-2"])], ref="IC2")
    with_una = interchange([iftsta(status("21"), header=["RFF+BN:BK-3"])], ref="IC3", una=True)
    out = events(custom + plain + with_una, ctx)
    assert [(e["type"], e["refs"]["shipment"]) for e in out] == [
        ("shipment.picked_up", "BK-1"),
        ("shipment.departed", "BK-2"),
        ("delivery.completed", "BK-3"),
    ]
    assert [a.interchange for a in adapter.acknowledge(custom + plain + with_una, ctx)] == ["IC1", "IC2", "IC3"]


@pytest.mark.parametrize("separator", [b"", b"\n", b"\r\n", b"\r\n\r\n  "])
def test_line_breaks_between_segments(ctx: FeedContext, separator: bytes) -> None:
    body = interchange([iftsta(status("24"))]).replace(b"'\n", b"'" + separator)
    assert [e["type"] for e in events(b"\r\n" + body, ctx)] == ["shipment.departed"]


def test_scanner_segments_straddle_chunks() -> None:
    body = b"UNA:+.? 'UNB+UNOC:3+A+B+240101:1200+1'RFF+BN:X?'Y'UNZ+0+1'"
    whole = [getattr(i, "raw", b"") for i in scan([body])]
    for size in (1, 2, 3, 5, 8):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        assert [getattr(i, "raw", b"") for i in scan(chunks)] == whole
    assert whole[2] == b"RFF+BN:X?'Y'"


def test_delimiters_escape_round_trip() -> None:
    d = Delimiters()
    text = d.segment("RFF", ["BN", "A+B:C'D?E"]).decode()
    assert text == "RFF+BN:A?+B?:C?'D??E'"
    assert d.split(text[:-1]) == [["RFF"], ["BN", "A+B:C'D?E"]]


# --- encodings ---------------------------------------------------------------------------


def test_utf8_byte_order_mark(ctx: FeedContext) -> None:
    body = "\ufeff".encode() + interchange([iftsta(status("24", loc="LOC+175+CHZRH:139:6:ZÜRICH"))])
    assert events(body, ctx)[0]["location"] == {"code": "CHZRH", "name": "ZÜRICH"}


def test_latin1_unoc(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("24", loc="LOC+175+CHZRH:139:6:ZÜRICH"))]).decode().encode("latin-1")
    assert events(body, ctx)[0]["location"] == {"code": "CHZRH", "name": "ZÜRICH"}


def test_utf16_with_byte_order_mark(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("24", loc="LOC+175+CHZRH:139:6:ZÜRICH"))]).decode().encode("utf-16")
    assert events(body, ctx)[0]["location"] == {"code": "CHZRH", "name": "ZÜRICH"}


# --- not EDIFACT -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty body"),
        (b"  \r\n ", "empty body"),
        (b'{"events": []}', "not EDIFACT"),
        (b"ISA*00*          *00*          *ZZ*SENDER~", "not EDIFACT"),
        (b"garbage'UNB+UNOC:3+A+B+240101:1200+1'", "not EDIFACT"),
        (b"UNA:+", "UNA must be followed by six service characters"),
        (b"UNB+UNOC:3+A+B+240101:1200+1", "not EDIFACT"),  # no terminator at all
    ],
)
def test_not_edifact_is_unreadable(ctx: FeedContext, body: bytes, why: str) -> None:
    with pytest.raises(UnreadableBody, match=why):
        list(adapter.read(body, ctx))


# --- broken envelopes --------------------------------------------------------------------


def test_unt_count_mismatch_rejects_that_message_only(ctx: FeedContext) -> None:
    bad = message(["BGM+23+D+9", "RFF+BN:B1", "CNI+1", *status("24")], ref="M2", unt_count=5)
    body = interchange([iftsta(status("21"), ref="M1"), bad])
    out = list(adapter.read(body, ctx))
    assert [o["type"] if isinstance(o, dict) else "rejected" for o in out] == ["delivery.completed", "rejected"]
    rejected = out[1]
    assert isinstance(rejected, Rejection)
    assert rejected.event_id is not None
    assert rejected.errors == [
        "interchange IC1 from CARRIER, message M2: UNT01 says 5 segments but the message has 8 from UNH "
        "to UNT; correct and resend the message"
    ]


def test_unt_reference_mismatch(ctx: FeedContext) -> None:
    body = interchange([message(["BGM+23+D+9", "RFF+BN:B1", *status("24")], ref="M7", unt_ref="M8")])
    assert rejections(body, ctx) == [
        "interchange IC1 from CARRIER, message M7: UNT02 'M8' does not match the UNH message reference "
        "'M7'; correct and resend the message"
    ]


def test_missing_unt_before_the_next_unh(ctx: FeedContext) -> None:
    first = message(["BGM+23+D+9", "RFF+BN:B1", *status("24")], ref="M1", unt=False)
    body = interchange([first, iftsta(status("21"), ref="M2")])
    out = list(adapter.read(body, ctx))
    assert isinstance(out[0], Rejection)
    assert out[0].errors[0].startswith("interchange IC1 from CARRIER, message M1: no UNT trailer before the next UNH")
    assert isinstance(out[1], dict)
    assert out[1]["type"] == "delivery.completed"


def test_truncated_body(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21"), ref="M1"), iftsta(status("24"), ref="M2")])
    cut = body[: body.index(b"DTM+137", body.index(b"UNH+M2")) + 6]  # inside a segment
    out = list(adapter.read(cut, ctx))
    assert isinstance(out[0], dict)
    assert out[0]["type"] == "delivery.completed"
    texts = [e for o in out[1:] if isinstance(o, Rejection) for e in o.errors]
    assert texts[0].startswith("interchange IC1 from CARRIER, message M2: no UNT trailer before")
    assert any("the body ends inside a segment" in t for t in texts)
    assert texts[-1] == (
        "interchange IC1 from CARRIER: no UNZ trailer before the end of the body (the interchange is truncated "
        "or UNZ is missing)"
    )


def test_unz_count_and_reference(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21"), ref="1"), iftsta(status("24"), ref="2")], unz_count=3, unz_ref="IC2")
    assert len(events(body, ctx)) == 2  # whole messages are still read
    assert rejections(body, ctx) == [
        "interchange IC1 from CARRIER: UNZ01 says 3 messages but the interchange holds 2",
        "interchange IC1 from CARRIER: UNZ02 control reference 'IC2' does not match UNB05 'IC1'",
    ]


def test_missing_unz_before_the_next_unb(ctx: FeedContext) -> None:
    first = interchange([iftsta(status("21"))], ref="IC1", unz=False)
    second = interchange([iftsta(status("24"))], ref="IC2")
    assert [e["type"] for e in events(first + second, ctx)] == ["delivery.completed", "shipment.departed"]
    assert rejections(first + second, ctx) == [
        "interchange IC1 from CARRIER: no UNZ trailer before the next UNB (the interchange is truncated or UNZ "
        "is missing)"
    ]


def test_duplicate_interchange_in_one_body(ctx: FeedContext) -> None:
    one = interchange([iftsta(status("21"))], ref="IC1")
    out = events(one + one, ctx)
    assert len(out) == 2
    assert out[0]["event_id"] == out[1]["event_id"]
    assert rejections(one + one, ctx) == [
        "interchange IC1 from CARRIER: an earlier interchange in this body has the same sender and control reference"
    ]


def test_segment_outside_a_message(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21")), ["RFF+BN:LOST"]], unz_count=1)
    assert len(events(body, ctx)) == 1
    assert rejections(body, ctx)[0].startswith("interchange IC1 from CARRIER: segment 'RFF' at byte ")
    assert rejections(body, ctx)[0].endswith("is outside a message")


def test_segment_after_the_last_unz(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21"))]) + b"BGM+23+X+9'"
    assert len(events(body, ctx)) == 1
    (text,) = rejections(body, ctx)
    assert text.endswith("segment BGM is outside any interchange (after UNZ, before UNB)")


def test_invalid_segment_tag_rejects_the_message(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21", extra=["rf+x"]))])
    (text,) = rejections(body, ctx)
    assert "segment 9 'rf+x' has no valid segment tag" in text


def test_unh_without_message_type(ctx: FeedContext) -> None:
    body = interchange([message(["BGM+23+D+9"], kind="")])
    (text, *_) = rejections(body, ctx)
    assert text.startswith("interchange IC1 from CARRIER, message M1: UNH02 message type is missing")


def test_unb_without_control_reference(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21"))], ref="", unz_ref="")
    assert len(events(body, ctx)) == 1
    assert rejections(body, ctx) == ["interchange (no UNB05) from CARRIER: UNB05 control reference is missing"]


def group(
    messages: list[list[str]], ref: str = "G1", count: int | None = None, une_ref: str | None = None
) -> list[str]:
    out = [f"UNG+IFTSTA+CARRIER:ZZZ+TOWER:ZZZ+240102:1030+{ref}+UN+D:00B"]
    for msg in messages:
        out += msg
    return [*out, f"UNE+{len(messages) if count is None else count}+{ref if une_ref is None else une_ref}"]


def test_groups(ctx: FeedContext) -> None:
    body = interchange(
        [group([iftsta(status("21"), ref="1"), iftsta(status("24"), ref="2")]), group([iftsta(status("13"))], "G2")],
        unz_count=2,
    )
    assert [e["type"] for e in events(body, ctx)] == ["delivery.completed", "shipment.departed", "shipment.picked_up"]
    assert rejections(body, ctx) == []


def test_group_trailer_errors(ctx: FeedContext) -> None:
    body = interchange([group([iftsta(status("21"))], count=4, une_ref="G9")], unz_count=2)
    assert len(events(body, ctx)) == 1
    assert rejections(body, ctx) == [
        "interchange IC1 from CARRIER, group G1: UNE01 says 4 messages but the group holds 1",
        "interchange IC1 from CARRIER, group G1: UNE02 'G9' does not match the UNG group reference 'G1'",
        "interchange IC1 from CARRIER: UNZ01 says 2 groups but the interchange holds 1",
    ]
