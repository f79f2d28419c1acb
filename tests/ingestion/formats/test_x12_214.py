"""X12 214 shipment status: one canonical event per AT7, typed from the x12.at7 code table.
No public 214 carries AT7 statuses: the messages are built from the code lists
(vocabularies.md §2) in test_x12_builders."""

from zoneinfo import ZoneInfo

import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FeedContext
from apps.ingestion.formats.base import CodeBook
from apps.ingestion.formats.x12 import X12Adapter
from apps.ingestion.formats.x12.codes import AT7_STATUS, CODE_TABLES

from .test_x12_builders import SHIPMENT_214, Group, Interchange, TxSet, one, render

ADAPTER = X12Adapter()


def events(body: bytes, ctx: FeedContext) -> list[ValidEvent]:
    out = ADAPTER.parse(body, ctx)
    assert all(isinstance(o, ValidEvent) for o in out), [o for o in out if isinstance(o, Rejection)]
    return [o for o in out if isinstance(o, ValidEvent)]


def rejections(body: bytes, ctx: FeedContext) -> list[Rejection]:
    return [o for o in ADAPTER.parse(body, ctx) if isinstance(o, Rejection)]


def test_one_event_per_status_with_types_times_and_refs(ctx: FeedContext) -> None:
    got = events(one(*SHIPMENT_214), ctx)
    # X3 (arrived at PICK-UP) is deliberately no milestone; the LD window is its own event.
    assert [(e.type, e.source_status) for e in got] == [
        ("shipment.picked_up", "CP"),
        ("shipment.departed", "AF"),
        ("shipment.in_transit", "X6"),
        ("shipment.delayed", "SD"),
        ("shipment.eta_updated", "AB"),
        ("shipment.eta_updated", "LD"),
        ("delivery.out_for_delivery", "X1"),
        ("delivery.completed", "D1"),
    ]
    cp, af, x6, sd, ab, ld, x1, d1 = got
    # ES: Eastern Standard, a fixed -05:00; ET follows New York (January: -05:00); CT Chicago.
    assert cp.body["attributes"]["time_code"] == "ES"
    assert (cp.occurred_at.isoformat(), cp.offset_minutes) == ("2024-01-05T14:30:00+00:00", -300)
    assert (af.occurred_at.isoformat(), af.offset_minutes) == ("2024-01-05T15:00:00+00:00", -300)
    assert (x6.occurred_at.isoformat(), x6.offset_minutes) == ("2024-01-06T12:00:00+00:00", -360)
    assert (x1.occurred_at.isoformat(), x1.offset_minutes) == ("2024-01-07T21:52:00+00:00", -480)
    assert (d1.occurred_at.isoformat(), d1.offset_minutes) == ("2024-01-07T23:30:00+00:00", 0)
    assert cp.refs == {
        "shipment": ["SHP-1001"],
        "tracking_number": ["PRO123456"],
        "customer_po": ["PO-7788"],
        "order": ["ORD-42"],
    }
    assert d1.refs["lpn"] == ["00012345600000000017"]  # MAN*GM in the last LX only
    assert "lpn" not in x1.refs
    assert cp.body["attributes"]["bol"] == "BOL-555"  # B1002 is the shipment: the BOL stays an attribute
    assert cp.body["attributes"]["scac"] == "ABCD"
    assert cp.body["attributes"]["equipment"] == {"scac": "ABCD", "number": "TRL778"}
    assert cp.body["attributes"]["weight"] == {"qualifier": "G", "unit": "L", "value": "12000", "lading_quantity": "24"}
    assert x6.body["attributes"]["refs"] == {"QN": "STOP-4"}
    assert cp.body["location"] == {"code": "ATLANTA,GA,US", "name": "ATLANTA, GA"}
    assert af.body["location"]["lat"] == pytest.approx(33.749444)
    assert af.body["location"]["lon"] == pytest.approx(-84.386667)
    # SD with reason AI: the reason text comes from the 1651 list; NS means no reason.
    assert sd.body["reason"] == {"code": "AI", "text": "Mechanical breakdown"}
    assert "reason" not in cp.body
    # The appointment's time is the ETA; the event happened when the document was made (GS).
    assert ab.body["eta"] == "2024-01-07T14:00:00Z"
    assert ab.occurred_at.isoformat() == "2024-01-08T10:15:00+00:00"
    # LD (deliver no later than, a date only) is the promise: the end of that day, on every event.
    assert ld.body["promised_by"] == "2024-01-07T23:59:59Z"
    assert all(e.body["promised_by"] == "2024-01-07T23:59:59Z" for e in got)
    assert cp.body["attributes"]["windows"] == {"LD": "2024-01-07T23:59:59+00:00"}
    assert cp.body["attributes"]["x12"] == {"interchange": "000000001", "group": "1", "set": "0001"}


def test_x1_is_arrival_at_delivery_and_x3_at_pickup(ctx: FeedContext) -> None:
    # The pitfall of vocabularies.md §2: a public document swaps them.
    assert AT7_STATUS["X1"] == "delivery.out_for_delivery"
    assert AT7_STATUS["X3"] == "ignore"
    got = events(one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*X1*NS***20240107*1352*LT", "AT7*X3*NS***20240105*0800*LT"), ctx)
    assert [e.source_status for e in got] == ["X1"]
    assert AT7_STATUS["D1"] == "delivery.completed"
    assert AT7_STATUS["AH"] == "delivery.attempted"
    assert AT7_STATUS["SD"] == "shipment.delayed"
    assert AT7_STATUS["CA"] == "exception.raised"  # never order.cancelled: the shipment, not the order


def test_local_time_uses_the_feed_zone() -> None:
    ctx = FeedContext.standard(tz="America/Chicago")
    body = one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240701*0800*LT", "AT7*X4*NS***20240701*0900")
    lt, none = events(body, ctx)
    assert lt.occurred_at.isoformat() == "2024-07-01T13:00:00+00:00"  # CDT, -05:00
    assert (lt.offset_minutes, none.offset_minutes) == (-300, -300)


@pytest.mark.parametrize(
    ("code", "offset"),
    [
        ("ED", -240),
        ("PS", -480),
        ("GM", 0),
        ("UT", 0),
        ("ET", -240),
        ("PT", -420),
        ("01", 60),
        ("24", -60),
        ("13", -720),
    ],
)
def test_time_codes(ctx: FeedContext, code: str, offset: int) -> None:
    (event,) = events(one("B10*PRO1*SH1*ABCD", "LX*1", f"AT7*X6*NS***20240701*0800*{code}"), ctx)
    assert event.offset_minutes == offset


def test_unknown_time_code_rejects_the_status_naming_it(ctx: FeedContext) -> None:
    out = ADAPTER.parse(
        one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240701*0800*QQ", "AT7*D1*NS***20240701*1000*UT"), ctx
    )
    rejected, delivered = out
    assert isinstance(rejected, Rejection)
    assert isinstance(delivered, ValidEvent)
    assert rejected.errors[0].startswith(
        "interchange 000000001, group 1, set 0001 (214): AT7 at segment 4 (X6): AT707 time code 'QQ' is not an X12 "
        "time code"
    )
    assert rejected.event_id is not None
    assert rejected.event_id.startswith("x12:")


def test_bad_dates_and_missing_codes_are_rejected_per_status(ctx: FeedContext) -> None:
    body = one(
        "B10*PRO1*SH1*ABCD",
        "LX*1",
        "AT7*X6*NS***20241399*0800*UT",
        "AT7*X6*NS***20240101*2561*UT",
        "AT7*X6*NS****0800*UT",
        "AT7*****20240101*0800*UT",
        "AT7*D1*NS***240101*0800*UT",
    )
    out = ADAPTER.parse(body, ctx)
    assert [type(o).__name__ for o in out] == ["Rejection"] * 4 + ["ValidEvent"]
    texts = [o.errors[0].split("(214): ")[1] for o in out if isinstance(o, Rejection)]
    assert texts == [
        "AT7 at segment 4 (X6): AT705 '20241399' is not a date (CCYYMMDD)",
        "AT7 at segment 5 (X6): AT706 '2561' is not a time (HHMM or HHMMSS)",
        "AT7 at segment 6 (X6): no date (AT705); a status needs the date it happened",
        "AT7 at segment 7: neither a shipment status (AT701) nor an appointment status (AT703); send one",
    ]
    assert out[4].occurred_at.isoformat() == "2024-01-01T08:00:00+00:00"  # YYMMDD of old versions


def test_unmapped_status_is_rejected_with_the_code_table(ctx: FeedContext) -> None:
    out = ADAPTER.parse(one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*ZZ*NS***20240101*0800*UT"), ctx)
    (rejected,) = out
    assert isinstance(rejected, Rejection)
    assert rejected.errors == [
        "interchange 000000001, group 1, set 0001 (214), AT7 at segment 4: source_status: code 'ZZ' is not in code "
        "table x12.at7 (version 0); map it in the feed's code tables, then replay the feed"
    ]


def test_a_feed_override_changes_the_type_but_not_the_event_id(ctx: FeedContext) -> None:
    body = one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*X1*NS***20240101*0800*UT")
    (standard,) = events(body, ctx)
    custom = FeedContext(codes=CodeBook(CODE_TABLES, {"x12.at7": (2, {"X1": "shipment.arrived"})}))
    (overridden,) = events(body, custom)
    assert (standard.type, overridden.type) == ("delivery.out_for_delivery", "shipment.arrived")
    assert standard.event_key == overridden.event_key


def test_exception_statuses_say_which_in_reason(ctx: FeedContext) -> None:
    (damaged,) = events(one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*A9*NS***20240101*0800*UT"), ctx)
    assert (damaged.type, damaged.body["reason"]) == ("exception.raised", {"code": "A9", "text": "Shipment damaged"})


def test_estimates_carry_eta_and_are_dated_by_the_document(ctx: FeedContext) -> None:
    (ag,) = events(one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*AG*NS***20240110*1500*ET"), ctx)
    assert ag.type == "shipment.eta_updated"
    assert ag.body["eta"] == "2024-01-10T15:00:00-05:00"
    assert ag.occurred_at.isoformat() == "2024-01-08T10:15:00+00:00"  # GS04/GS05 in the feed's zone


def test_event_ids_ignore_envelopes_and_share_true_duplicates(ctx: FeedContext) -> None:
    status = ["B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240101*0800*UT", "AT7*X6*NS***20240101*0800*UT"]
    first = render(Interchange([Group([TxSet(status)])]))
    resent = render(Interchange([Group([TxSet(status, control="0777")], control="55")], control="000000999"))
    a, b = events(first, ctx), events(resent, ctx)
    assert [e.event_key for e in a] == [e.event_key for e in b]
    assert a[0].event_key == a[1].event_key  # the same status twice in one set: a true duplicate
    assert a[0].event_key.startswith("x12:")
    assert len(a[0].event_key) == 36
    other = events(one("B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240101*0801*UT"), ctx)
    assert other[0].event_key != a[0].event_key


def test_bill_of_lading_is_the_shipment_only_without_b1002(ctx: FeedContext) -> None:
    (event,) = events(one("B10*PRO9**ABCD", "L11*BOL-1*BM", "LX*1", "AT7*X6*NS***20240101*0800*UT"), ctx)
    assert event.refs == {"shipment": ["BOL-1"], "tracking_number": ["PRO9"]}


def test_sets_without_status_or_link_are_rejected(ctx: FeedContext) -> None:
    (no_status,) = rejections(one("B10*PRO1*SH1*ABCD", "L11*X*PO"), ctx)
    assert no_status.errors[0].endswith(
        "(214): no AT7 shipment status in the set; a 214 reports each status in an AT7 segment (LX loop)"
    )
    (no_link,) = rejections(one("LX*1", "AT7*X6*NS***20240101*0800*UT"), ctx)
    assert "nothing identifies the shipment (no B10 ids, no L11/N9/MAN reference)" in no_link.errors[0]


def test_an_at7_outside_lx_and_n9_references_are_read(ctx: FeedContext) -> None:
    body = one("B10*PRO1*SH1*ABCD", "N9*PO*PO-9", "AT7*X6*NS***20240101*0800*UT", "MS1*DALLAS*TX")
    (event,) = events(body, ctx)
    assert event.refs["customer_po"] == ["PO-9"]
    assert event.body["location"] == {"code": "DALLAS,TX", "name": "DALLAS, TX"}


def test_several_interchanges_and_groups_in_one_file(ctx: FeedContext) -> None:
    body = render(
        Interchange(
            [
                Group([TxSet(SHIPMENT_214)]),
                Group([TxSet([*SHIPMENT_214[:4], "LX*1", "AT7*X6*NS***20240101*0800*UT"])], control="2"),
            ]
        ),
        Interchange(
            [Group([TxSet(["B10*PRO7*SH7*WXYZ", "LX*1", "AT7*D1*NS***20240102*0800*UT"])])], control="000000002"
        ),
    )
    got = events(body, ctx)
    assert len(got) == 10
    assert got[-1].refs == {"shipment": ["SH7"], "tracking_number": ["PRO7"]}
    assert got[-1].body["attributes"]["x12"] == {"interchange": "000000002", "group": "1", "set": "0001"}


def test_chicago_feed_zone_is_a_zoneinfo() -> None:
    assert FeedContext.standard(tz="America/Chicago").tz == ZoneInfo("America/Chicago")
