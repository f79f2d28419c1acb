"""EDIFACT conformance: the realdata samples read in place, IFTSTA per-STS mapping (code
tables, references, times, places, reasons), DESADV, event ids."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import CodeBook, FeedContext, UnreadableBody
from apps.ingestion.formats.edifact import EdifactAdapter
from apps.ingestion.formats.edifact.codes import CODE_TABLES

from .test_edifact_builders import events, iftsta, interchange, message, status

IFTSTA_SAMPLE = "edifact-types/test-data/d00b_iftsta.edi"
ORDERS_SAMPLE = "edifact-pydifact/tests/data/order.edi"
adapter = EdifactAdapter()


def overridden(**tables: dict[str, str | None]) -> FeedContext:
    overrides = {name.replace("_", ".", 1): (1, entries) for name, entries in tables.items()}
    return FeedContext(codes=CodeBook(CODE_TABLES, overrides), slug="f", system="tms")


# --- realdata ---------------------------------------------------------------------------


def test_d00b_iftsta_gives_one_departure_per_sts(realdata: Path, ctx: FeedContext) -> None:
    body = (realdata / IFTSTA_SAMPLE).read_bytes()
    out = list(adapter.read(body, ctx))
    assert len(out) == 2
    event, envelope = out
    assert isinstance(event, dict)
    # STS+1+P::HS:Rail Departed…: STS01 "1" is the status category (transport), not Rec 24
    # "1 arrival"; the status is P (X12 157 "departure from location").
    assert event["type"] == "shipment.departed"
    assert event["source_status"] == "P"
    assert event["occurred_at"] == "2022-11-19T07:10:00+00:00"  # DTM+334, format 203, read in ctx.tz (UTC)
    assert event["refs"] == {
        "shipment": "24O4023815",  # RFF+BN booking
        "tracking_number": "ABCD224O4023815X",  # RFF+BM bill of lading
        "customer_po": "2023521591",  # RFF+CO
    }
    assert event["location"] == {"code": "USSYR", "name": "SYRACUSE"}
    assert event["eta"] == "2022-11-21T07:00:00+00:00"  # DTM+132 at LOC+7 place of delivery, Woodridge
    assert event["event_id"].startswith("edifact:")
    assert len(event["event_id"]) == 40
    attributes = event["attributes"]
    assert attributes["status_text"] == "Rail Departed from In-Transit Locat"
    assert attributes["status_category"] == "1"
    # the header RFF+EQ differs from the status's container: noted, the status's one kept
    assert attributes["equipment"] == ["TRHU4561222"]
    assert attributes["containers"] == ["TRHU4561222"]
    assert attributes["reference_mismatch"] == [
        {"qualifier": "EQ", "status": ["TRHU4561222"], "message": ["TRHU4307252"]}
    ]
    assert attributes["references"] == {"4F": ["100113938"], "AAZ": ["ABCD"], "FF": ["31075687"]}
    leg = attributes["transport"][0]
    assert (leg["mode"], leg["mode_name"], leg["carrier"]) == ("2", "rail", "ABCD")
    assert leg["means_of_transport"] == {"name": "CSX TRANSPORTATION"}
    assert [(stop["qualifier"], stop["code"]) for stop in leg["locations"]] == [
        ("9", "COCTG"),
        ("11", "USNYC"),
        ("29", "USCHI"),
        ("7", "USWOQ"),
    ]
    assert leg["locations"][0]["dates"] == {"186": "2022-11-09T14:15:00+00:00"}
    assert attributes["equipment_details"] == [
        {"qualifier": "CN", "id": "TRHU4561222", "size_type": "45G1", "full_empty": "5"}
    ]
    # the sample's own UNZ02 (2805570) is not its UNB05 (2803570): one envelope rejection
    assert isinstance(envelope, Rejection)
    assert envelope.event_id is None
    assert envelope.errors == [
        "interchange 2803570 from SENDER: UNZ02 control reference '2805570' does not match UNB05 '2803570'"
    ]


def test_d00b_iftsta_passes_the_canonical_validator(realdata: Path, ctx: FeedContext) -> None:
    outcomes = adapter.parse((realdata / IFTSTA_SAMPLE).read_bytes(), ctx)
    valid = [o for o in outcomes if isinstance(o, ValidEvent)]
    assert len(valid) == 1
    assert valid[0].type == "shipment.departed"
    assert valid[0].offset_minutes == 0
    assert valid[0].refs == {
        "shipment": ["24O4023815"],
        "tracking_number": ["ABCD224O4023815X"],
        "customer_po": ["2023521591"],
    }
    assert [o.index for o in outcomes if isinstance(o, Rejection)] == [1]


def test_d00b_iftsta_time_without_zone_is_read_in_the_feed_zone(realdata: Path) -> None:
    ctx = FeedContext.standard(tz="America/New_York")
    event = events((realdata / IFTSTA_SAMPLE).read_bytes(), ctx)[0]
    assert event["occurred_at"] == "2022-11-19T07:10:00-05:00"
    assert event["eta"] == "2022-11-21T07:00:00-05:00"


def test_pydifact_orders_is_rejected_per_message(realdata: Path, ctx: FeedContext) -> None:
    out = list(adapter.read((realdata / ORDERS_SAMPLE).read_bytes(), ctx))
    assert all(isinstance(o, Rejection) for o in out)
    orders, envelope = out
    assert isinstance(orders, Rejection)
    assert isinstance(envelope, Rejection)
    assert orders.errors == [
        "interchange 807 from 12345678: message 1 is ORDERS (purchase order); this feed maps IFTSTA "
        "and DESADV; send those, or map ORDERS to ignore in code table edifact.message_type"
    ]
    assert orders.event_id is not None
    assert orders.event_id.startswith("edifact:")
    # the sample has no UNZ trailer
    assert envelope.errors == [
        "interchange 807 from 12345678: no UNZ trailer before the end of the body (the interchange is "
        "truncated or UNZ is missing)"
    ]


def test_orders_mapped_to_ignore_is_dropped(realdata: Path) -> None:
    ctx = overridden(edifact_message_type={"ORDERS": "ignore"})
    out = list(adapter.read((realdata / ORDERS_SAMPLE).read_bytes(), ctx))
    assert len(out) == 1
    assert isinstance(out[0], Rejection)
    assert "no UNZ trailer" in out[0].errors[0]


# --- IFTSTA mapping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("1", "shipment.arrived"),  # Rec 24 arrival completed
        ("13", "shipment.picked_up"),  # collection completed
        ("21", "delivery.completed"),
        ("22", "delivery.completed"),
        ("23", "delivery.attempted"),  # delivery not completed
        ("24", "shipment.departed"),
        ("20", "shipment.delayed"),
        ("25", "shipment.delayed"),
        ("31", "shipment.in_transit"),  # en route
        ("18", "exception.raised"),  # damaged
        ("AE", "shipment.loaded"),  # X12 157 loaded on vessel
        ("D", "delivery.completed"),  # X12 157 delivered
    ],
)
def test_status_code_table(ctx: FeedContext, code: str, kind: str) -> None:
    (event,) = events(interchange([iftsta(status(code))]), ctx)
    assert (event["type"], event["source_status"]) == (kind, code)


def test_every_default_type_is_canonical() -> None:
    from apps.events.taxonomy import EVENT_TYPES

    for table in CODE_TABLES:
        assert set(table.entries.values()) <= EVENT_TYPES | {"ignore"}, table.name


def test_unmapped_status_is_rejected_naming_the_table(ctx: FeedContext) -> None:
    (out,) = adapter.read(interchange([iftsta(status("99::ZZZ:Mystery"))]), ctx)
    assert isinstance(out, Rejection)
    assert out.errors == [
        "interchange IC1 from CARRIER, message M1, STS 1 (99: Mystery): source_status: code '99' is not "
        "in code table edifact.iftsta (version 0); map it in the feed's code tables, then replay the feed"
    ]
    assert out.event_id is not None
    assert out.event_id.startswith("edifact:")


def test_ignored_status_yields_nothing(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("12"), status("21"))])  # 12 cleared by customs: ignore
    assert [e["source_status"] for e in events(body, ctx)] == ["21"]


def test_override_changes_the_type_not_the_event_id(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21"))])
    (before,) = events(body, ctx)
    (after,) = events(body, overridden(edifact_iftsta={"21": "delivery.attempted"}))
    assert (before["type"], after["type"]) == ("delivery.completed", "delivery.attempted")
    assert before["event_id"] == after["event_id"]


def test_feed_time_zone_change_keeps_event_ids(realdata: Path, ctx: FeedContext) -> None:
    body = (realdata / IFTSTA_SAMPLE).read_bytes()
    (utc,) = events(body, ctx)
    (tokyo,) = events(body, FeedContext.standard(tz="Asia/Tokyo"))
    assert utc["occurred_at"] != tokyo["occurred_at"]
    assert utc["event_id"] == tokyo["event_id"]  # a replay corrects the time, it adds no event


def test_agency_qualified_code_is_looked_up_first(realdata: Path) -> None:
    ctx = overridden(edifact_iftsta={"HS:P": "shipment.in_transit"})
    (event,) = events((realdata / IFTSTA_SAMPLE).read_bytes(), ctx)
    assert (event["type"], event["source_status"]) == ("shipment.in_transit", "P")
    (other,) = events(interchange([iftsta(status("P::ZZZ"))]), ctx)
    assert other["type"] == "shipment.departed"  # another list's P: the plain entry


def test_resend_in_another_envelope_keeps_event_ids(ctx: FeedContext) -> None:
    first = interchange([iftsta(status("21"), status("24"), ref="A1", document="D1")], ref="IC1")
    again = interchange([iftsta(status("21"), status("24"), ref="Z9", document="D2")], ref="IC77", date="240105:0900")
    ids = [e["event_id"] for e in events(first, ctx)]
    assert ids == [e["event_id"] for e in events(again, ctx)]
    assert len(set(ids)) == 2
    other_sender = interchange([iftsta(status("21"), status("24"))], sender="OTHER")
    assert not set(ids) & {e["event_id"] for e in events(other_sender, ctx)}


def test_one_event_per_sts_across_consignments(ctx: FeedContext) -> None:
    msg = iftsta(
        status("13", "202401020800", refs=[("EQ", "MSKU1")]),
        status("24", "202401021000", refs=[("EQ", "MSKU1")]),
        ["CNI+2+CONS-2"],
        status("21", "202401031600"),
        header=["RFF+BM:BL-9"],
        cni="CNI+1+CONS-1",
    )
    out = events(interchange([msg]), ctx)
    assert [(e["type"], e["refs"]) for e in out] == [
        ("shipment.picked_up", {"tracking_number": "BL-9", "shipment": "CONS-1"}),
        ("shipment.departed", {"tracking_number": "BL-9", "shipment": "CONS-1"}),
        ("delivery.completed", {"tracking_number": "BL-9", "shipment": "CONS-2"}),
    ]
    assert out[0]["attributes"]["equipment"] == ["MSKU1"]
    assert len({e["event_id"] for e in out}) == 3


def test_booking_wins_over_the_consignment_number(ctx: FeedContext) -> None:
    (event,) = events(interchange([iftsta(status("24"), header=["RFF+BN:BK-7"], cni="CNI+1+CONS-1")]), ctx)
    assert event["refs"] == {"shipment": "BK-7"}
    assert event["attributes"]["consignment"] == {"item": "1", "number": "CONS-1"}


def test_order_references(ctx: FeedContext) -> None:
    header = ["RFF+ON:SO-1", "RFF+CU:SO-2", "RFF+CO:PO-3", "RFF+IV:INV-4", "RFF+ZZZ:misc", "RFF+AAS:TD-5"]
    (event,) = events(interchange([iftsta(status("21"), header=header, cni="CNI+1+C1")]), ctx)
    assert event["refs"] == {
        "order": ["SO-1", "SO-2"],
        "customer_po": "PO-3",
        "invoice": "INV-4",
        "shipment": "C1",
    }
    assert event["attributes"]["references"] == {"ZZZ": ["misc"], "AAS": ["TD-5"]}


def test_no_reference_at_all_is_rejected(ctx: FeedContext) -> None:
    (out,) = adapter.read(interchange([iftsta(status("21"), header=[])]), ctx)
    assert isinstance(out, Rejection)
    assert out.errors[0].endswith(
        "STS 1 (21): no reference to correlate it by (RFF+BN booking, BM bill of lading, ON/CO/CU order, "
        "or a CNI consignment number)"
    )


def test_reason_and_remarks(ctx: FeedContext) -> None:
    sts = status("23", reason="7:::Business closed", extra=["FTX+AAI+++Closed for inventory"])
    (event,) = events(interchange([iftsta(sts)]), ctx)
    assert event["type"] == "delivery.attempted"
    assert event["reason"] == {"code": "7", "text": "Business closed"}
    assert event["attributes"]["remarks"] == ["Closed for inventory"]


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("20240102", "102", "2024-01-02T00:00:00+01:00"),  # date only: midnight in the feed's zone
        ("202401021030", "203", "2024-01-02T10:30:00+01:00"),
        ("202407021030", "203", "2024-07-02T10:30:00+02:00"),  # summer time
        ("20240102103005", "204", "2024-01-02T10:30:05+01:00"),
        ("202401021030?+02", "303", "2024-01-02T10:30:00+02:00"),  # CCYYMMDDHHMMZZZ, '+' released
        ("202401021030-05", "303", "2024-01-02T10:30:00-05:00"),
        ("202401021030UTC", "303", "2024-01-02T10:30:00+00:00"),
        ("20240102103005?+0530", "304", "2024-01-02T10:30:05+05:30"),
        ("202401021030?+0100", "205", "2024-01-02T10:30:00+01:00"),
        ("2401021030", "201", "2024-01-02T10:30:00+01:00"),
        ("202401021030", "", "2024-01-02T10:30:00+01:00"),  # no 2379: told apart by length
    ],
)
def test_event_times(value: str, fmt: str, expected: str) -> None:
    ctx = FeedContext.standard(tz="Europe/Berlin")
    (event,) = events(interchange([iftsta(status("21", value, fmt))]), ctx)
    assert event["occurred_at"] == expected


@pytest.mark.parametrize(
    ("value", "fmt", "why"),
    [
        ("20241340", "102", "'20241340' is not a valid date/time in format 102"),
        ("02101030", "305", "date format '305' is not a calendar date/time this feed reads"),
        ("202401021030X", "303", "'202401021030X': time zone 'X' is not an offset such as +01 or -0500"),
        ("2024", "203", "'2024' is not a date/time in format 203"),
    ],
)
def test_bad_event_times_are_rejected(ctx: FeedContext, value: str, fmt: str, why: str) -> None:
    (out,) = adapter.read(interchange([iftsta(status("21", value, fmt))]), ctx)
    assert isinstance(out, Rejection)
    assert f"STS 1 (21): DTM+334: {why}" in out.errors[0]


def test_status_without_event_time_is_rejected(ctx: FeedContext) -> None:
    sts = ["STS+1+21", "LOC+175+DEHAM"]
    (out,) = adapter.read(interchange([iftsta(sts)]), ctx)
    assert isinstance(out, Rejection)
    assert out.errors[0].endswith("STS 1 (21): no status event date/time (DTM+334) in the status group")


def test_iftsta_without_sts_is_rejected(ctx: FeedContext) -> None:
    (out,) = adapter.read(interchange([iftsta()]), ctx)
    assert isinstance(out, Rejection)
    assert out.errors == ["interchange IC1 from CARRIER, message M1: the IFTSTA holds no status (STS segment)"]


def test_iftsta_mapped_to_ignore(ctx: FeedContext) -> None:
    body = interchange([iftsta(status("21"))])
    assert list(adapter.read(body, overridden(edifact_message_type={"IFTSTA": "ignore"}))) == []


# --- DESADV -----------------------------------------------------------------------------

DESADV = [
    "BGM+351+DA-20240315-7+9",
    "DTM+137:20240315093000:204",
    "DTM+11:202403150815?+01:303",
    "DTM+17:20240318:102",
    "RFF+ON:PO-4711",
    "RFF+CO:CUST-PO-99",
    "NAD+SU+5412345000013::9",
    "NAD+BY+5498765000016::9",
    "NAD+SF+5412345000020::9++WAREHOUSE NORTH",
    "TDT+20++3++DHLF:172::DHL FREIGHT",
    "CPS+1",
    "PAC+2++PX",
    "CPS+2+1",
    "PAC+1++201",
    "PCI+33E",
    "GIN+BJ+354123450000000014+354123450000000021",
    "LIN+1++4012345000016:EN",
    "PIA+1+ART-1:SA",
    "QTY+12:10:PCE",
    "QTY+21:12",
    "RFF+ON:PO-4712",
    "LIN+2",
    "PIA+5+ART-2:SA",
    "QTY+12:2,5:KGM",
    "LIN+3++4012345000023:EN",
    "QTY+21:4",
    "CNT+2:3",
]


def test_desadv_is_one_shipment_confirmed(ctx: FeedContext) -> None:
    (event,) = events(interchange([message(DESADV, kind="DESADV:D:96A:UN:EAN005")], sender="5412345000013"), ctx)
    assert event["type"] == "shipment.confirmed"
    assert event["source_status"] == "DESADV"
    assert event["occurred_at"] == "2024-03-15T08:15:00+01:00"  # DTM+11 despatch, 303 with zone
    assert event["refs"] == {
        "shipment": "DA-20240315-7",
        "order": ["PO-4711", "PO-4712"],
        "customer_po": "CUST-PO-99",
        "lpn": ["354123450000000014", "354123450000000021"],
    }
    assert event["lines"] == [
        {"sku": "4012345000016", "qty": 10.0, "uom": "PCE"},
        {"sku": "ART-2", "qty": 2.5, "uom": "KGM"},  # no LIN item id: the PIA's; decimal comma
    ]
    assert event["eta"] == "2024-03-18T00:00:00+00:00"
    assert event["location"] == {"code": "5412345000020", "name": "WAREHOUSE NORTH"}
    attributes = event["attributes"]
    assert attributes["packages"] == 3
    assert attributes["lines_without_despatch_quantity"] == [
        {"line": "3", "item": "4012345000023", "item_type": "EN", "quantities": {"21": "4"}}
    ]
    assert attributes["transport"] == [
        {"stage": "20", "mode": "3", "mode_name": "road", "carrier": "DHLF", "carrier_name": "DHL FREIGHT"}
    ]
    assert set(attributes["parties"]) == {"SU", "BY", "SF"}


def test_desadv_event_id_is_its_document_number(ctx: FeedContext) -> None:
    one = interchange([message(DESADV, kind="DESADV:D:96A:UN")], ref="A")
    changed = [s.replace("QTY+12:10:PCE", "QTY+12:9:PCE") for s in DESADV]
    two = interchange([message(changed, ref="X", kind="DESADV:D:96A:UN")], ref="B")
    assert events(one, ctx)[0]["event_id"] == events(two, ctx)[0]["event_id"]  # a correction, not a new event


def test_desadv_cancellation_and_missing_number_are_rejected(ctx: FeedContext) -> None:
    cancelled = [s.replace("BGM+351+DA-20240315-7+9", "BGM+351+DA-20240315-7+1") for s in DESADV]
    (out,) = adapter.read(interchange([message(cancelled, kind="DESADV:D:96A:UN")]), ctx)
    assert isinstance(out, Rejection)
    assert out.errors[0].endswith("BGM03 1 is a cancellation; a cancelled despatch advice confirms no shipment")
    unnumbered = [s.replace("BGM+351+DA-20240315-7+9", "BGM+351") for s in DESADV]
    (out,) = adapter.read(interchange([message(unnumbered, kind="DESADV:D:96A:UN")]), ctx)
    assert isinstance(out, Rejection)
    assert "BGM02 has no despatch advice number" in out.errors[0]


def test_desadv_removed_from_the_table_is_unmapped() -> None:
    ctx = overridden(edifact_message_type={"DESADV": None})
    (out,) = adapter.read(interchange([message(DESADV, kind="DESADV:D:96A:UN")]), ctx)
    assert isinstance(out, Rejection)
    assert "code 'DESADV' is not in code table edifact.message_type (version 1)" in out.errors[0]


def test_desadv_time_without_zone_uses_the_feed_zone() -> None:
    plain = [s for s in DESADV if not s.startswith("DTM+11")]
    ctx = FeedContext(codes=FeedContext.standard().codes, tz=ZoneInfo("Asia/Tokyo"))
    (event,) = events(interchange([message(plain, kind="DESADV:D:96A:UN")]), ctx)
    assert event["occurred_at"] == "2024-03-15T09:30:00+09:00"  # DTM+137 document date


def test_mixed_interchange_keeps_source_order(ctx: FeedContext) -> None:
    body = interchange(
        [
            iftsta(status("24"), ref="1"),
            message(DESADV, ref="2", kind="DESADV:D:96A:UN"),
            message(["BGM+220+PO1+9"], ref="3", kind="ORDERS:D:96A:UN"),
        ]
    )
    out = list(adapter.read(body, ctx))
    assert [o["type"] if isinstance(o, dict) else "rejected" for o in out] == [
        "shipment.departed",
        "shipment.confirmed",
        "rejected",
    ]


def test_no_message_is_unreadable(ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody, match="no message"):
        list(adapter.read(interchange([]), ctx))
