"""CONTRL acknowledgements: one per interchange, a pure function of the received bytes, syntax
errors only, and a valid interchange that parses back (with this scanner and with pydifact)."""

import warnings
from pathlib import Path

from pydifact.parser import Parser

from apps.ingestion.formats import Acknowledgement, FeedContext
from apps.ingestion.formats.edifact import EdifactAdapter
from apps.ingestion.formats.edifact.envelope import Closed, Read, envelopes
from apps.ingestion.formats.edifact.syntax import scan

from .test_edifact_builders import iftsta, interchange, message, status

adapter = EdifactAdapter()


def lines(ack: Acknowledgement) -> list[str]:
    return ack.body.decode().split("\n")[:-1]


def parses_back(ack: Acknowledgement) -> list[tuple[str, list[object]]]:
    """The CONTRL read by this adapter's envelope checks (no issue at all) and by pydifact."""
    read = list(envelopes(scan([ack.body])))
    messages = [e.message for e in read if isinstance(e, Read)]
    closed = [e.interchange for e in read if isinstance(e, Closed)]
    assert len(messages) == 1
    assert messages[0].type == "CONTRL"
    assert not messages[0].issues
    assert len(closed) == 1
    assert closed[0].issues == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydifact warns it has no CONTRL directory
        return [(s.tag, list(s.elements)) for s in Parser().parse(ack.body.decode())]


def test_realdata_iftsta_contrl(realdata: Path, ctx: FeedContext) -> None:
    body = (realdata / "edifact-types/test-data/d00b_iftsta.edi").read_bytes()
    (ack,) = adapter.acknowledge(body, ctx)
    assert (ack.kind, ack.interchange, ack.accepted) == ("CONTRL", "2803570", False)
    assert ack.errors == (
        "interchange 2803570 from SENDER: UNZ02 control reference '2805570' does not match UNB05 '2803570'",
    )
    assert lines(ack) == [
        "UNB+UNOC:3+RECEIVER:ZZZ+SENDER:ZZZ+220101:1021+C2803570'",  # swapped, received date/time
        "UNH+1+CONTRL:D:3:UN'",
        "UCI+2803570+SENDER:ZZZ+RECEIVER:ZZZ+4+28+UNZ'",  # rejected: references do not match, in UNZ
        "UNT+3+1'",
        "UNZ+1+C2803570'",
    ]
    parsed = parses_back(ack)
    assert [tag for tag, _ in parsed] == ["UNB", "UNH", "UCI", "UNT", "UNZ"]
    assert parsed[2][1] == ["2803570", ["SENDER", "ZZZ"], ["RECEIVER", "ZZZ"], "4", "28", "UNZ"]


def test_realdata_orders_contrl(realdata: Path, ctx: FeedContext) -> None:
    (ack,) = adapter.acknowledge((realdata / "edifact-pydifact/tests/data/order.edi").read_bytes(), ctx)
    assert lines(ack)[2:4] == [
        "UCI+807+12345678:8+WBDZDD:ZZ+4+13+UNZ'",  # UNZ missing
        "UCM+1+ORDERS:D:96A:UN:EAN008+4+14+UNH'",  # a message type this feed does not read
    ]
    parses_back(ack)


def test_clean_interchange_is_acknowledged(ctx: FeedContext) -> None:
    (ack,) = adapter.acknowledge(interchange([iftsta(status("21"))], ref="REF42"), ctx)
    assert (ack.accepted, ack.errors, ack.interchange) == (True, (), "REF42")
    assert lines(ack) == [
        "UNB+UNOC:3+TOWER:ZZZ+CARRIER:ZZZ+240102:1030+CREF42'",
        "UNH+1+CONTRL:D:3:UN'",
        "UCI+REF42+CARRIER:ZZZ+TOWER:ZZZ+7'",
        "UNT+3+1'",
        "UNZ+1+CREF42'",
    ]
    parses_back(ack)


def test_unmapped_codes_are_not_syntax_errors(ctx: FeedContext) -> None:
    (ack,) = adapter.acknowledge(interchange([iftsta(status("99"), header=[])]), ctx)
    assert ack.accepted
    assert "UCI+IC1+CARRIER:ZZZ+TOWER:ZZZ+7'" in lines(ack)


def test_rejected_messages_get_a_ucm_with_segment_errors(ctx: FeedContext) -> None:
    bad_count = message(["BGM+23+D+9", "RFF+BN:B1", *status("24")], ref="M2", unt_count=3)
    bad_tag = iftsta(status("21", extra=["rf+x"]), ref="M3")
    body = interchange([iftsta(status("21"), ref="M1"), bad_count, bad_tag])
    (ack,) = adapter.acknowledge(body, ctx)
    assert not ack.accepted
    assert lines(ack)[2:7] == [
        "UCI+IC1+CARRIER:ZZZ+TOWER:ZZZ+7'",  # the interchange is fine, two of its messages are not
        "UCM+M2+IFTSTA:D:00B:UN+4+29+UNT'",  # control count does not match
        "UCM+M3+IFTSTA:D:00B:UN+4'",
        "UCS+9+12'",  # segment 9 of M3: invalid
        "UNT+6+1'",
    ]
    assert len(ack.errors) == 2
    assert "UNT01 says 3 segments" in ack.errors[0]
    parses_back(ack)


def test_groups_are_acknowledged_per_group(ctx: FeedContext) -> None:
    body = interchange(
        [
            [
                "UNG+IFTSTA+CARRIER:ZZZ+TOWER:ZZZ+240102:1030+G1+UN+D:00B",
                *iftsta(status("21")),
                "UNE+2+G1",
            ]
        ]
    )
    (ack,) = adapter.acknowledge(body, ctx)
    assert lines(ack)[2:4] == [
        "UCI+IC1+CARRIER:ZZZ+TOWER:ZZZ+7'",
        "UCF+G1+CARRIER:ZZZ+TOWER:ZZZ+4+29+UNE'",
    ]
    parses_back(ack)


def test_one_contrl_per_interchange_deterministic(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21"))], ref="A1") + interchange([iftsta(status("24"))], ref="A2")
    first = adapter.acknowledge(body, ctx)
    assert [a.interchange for a in first] == ["A1", "A2"]
    assert [a.body for a in first] == [a.body for a in adapter.acknowledge(body, ctx)]
    assert [lines(a)[-1] for a in first] == ["UNZ+1+CA1'", "UNZ+1+CA2'"]


def test_long_control_reference_is_hashed_to_fit(ctx: FeedContext) -> None:
    (ack,) = adapter.acknowledge(interchange([iftsta(status("21"))], ref="ABCDEFGHIJKLMN"), ctx)
    ours = lines(ack)[-1].removeprefix("UNZ+1+").rstrip("'")
    assert len(ours) == 14
    assert ours.startswith("C")
    assert ours != "CABCDEFGHIJKLMN"
    assert "UCI+ABCDEFGHIJKLMN+" in lines(ack)[2]


def test_a_contrl_is_not_acknowledged(ctx: FeedContext) -> None:
    (ack,) = adapter.acknowledge(interchange([iftsta(status("21"))]), ctx)
    assert adapter.acknowledge(ack.body, ctx) == []
