"""X12 conformance on the public samples, read in place from ../shared/realdata
(x12-stupidedi BSD-3, x12-oopfactory CDDL-1.0, x12-gozer Apache-2.0)."""

from pathlib import Path

import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FeedContext
from apps.ingestion.formats.x12 import X12Adapter

ADAPTER = X12Adapter()
STUPIDEDI = "x12-stupidedi/spec/fixtures"
OOP = "x12-oopfactory/tests/OopFactory.X12.Tests.Unit/Parsing/_SampleEdiFiles"


def parse(realdata: Path, path: str, ctx: FeedContext) -> tuple[list[ValidEvent], list[Rejection]]:
    out = ADAPTER.parse((realdata / path).read_bytes(), ctx)
    return [o for o in out if isinstance(o, ValidEvent)], [o for o in out if isinstance(o, Rejection)]


def test_204_load_tender_case(realdata: Path, ctx: FeedContext) -> None:
    (event,), rejected = parse(realdata, f"{STUPIDEDI}/004010/SM204/case/1.edi", ctx)
    assert rejected == []
    assert (event.type, event.source_status) == ("shipment.tendered", "204")
    assert event.refs == {
        "shipment": ["12345678"],
        "customer_po": ["9999999-01", "27281628-01", "O2333171-01", "O222227171-01"],
    }
    assert event.occurred_at.isoformat() == "2022-08-22T10:04:00+00:00"  # GS04/GS05, the feed's zone
    # The last delivery stop (S5*2*UL) is due by G62*70 2022-08-24 07:00 ED (Eastern daylight).
    assert event.body["promised_by"] == "2022-08-24T07:00:00-04:00"
    attrs = event.body["attributes"]
    assert [s["reason"] for s in attrs["stops"]] == ["LD", "UL"]
    assert attrs["stops"][0]["dates"] == {"69": "2022-08-23T16:30:00-05:00"}
    assert attrs["stops"][0]["party"] == {"code": "SF", "name": "FAKE_BIZ", "id": "A9"}
    assert [o["reference"] for o in attrs["orders"]] == ["4728162872", "2231522233", "2222228403", "221231238647"]
    assert attrs["orders"][0]["refs"] == {"DP": "RBU", "DJ": "237291298-01", "SI": "22982719"}
    assert attrs["refs"]["SI"] == ["666555", "888777"]
    assert attrs["dates"] == {"64": "2022-08-22T11:20:00-04:00"}


def test_204_minimal(realdata: Path, ctx: FeedContext) -> None:
    (event,), rejected = parse(realdata, f"{STUPIDEDI}/004010/SM204/pass/1.edi", ctx)
    assert rejected == []
    assert event.refs == {"shipment": ["SHIP123"]}
    assert event.body["attributes"]["scac"] == "TEST"
    assert "promised_by" not in event.body  # one stop, a complete load, no window


def test_856_minimal(realdata: Path, ctx: FeedContext) -> None:
    (event,), rejected = parse(realdata, f"{STUPIDEDI}/004010/SH856/pass/1.edi", ctx)
    assert rejected == []
    assert (event.type, event.refs) == ("shipment.confirmed", {"shipment": ["SHIP001"]})
    assert event.occurred_at.isoformat() == "2026-07-18T12:00:00+00:00"
    assert event.body["attributes"]["bol"] == "SHIP001"
    assert event.body["attributes"]["carrier"] == {"scac": "SCAC", "transport_method": "M"}


MIXED_TERMINATORS = (
    "SE01 says 25 segments but the set has 22 (ST..SE inclusive); resend it with a correct SE01; segment 11 (N1) runs "
    "over several lines: the ISA declares '$' as the segment terminator (the character after ISA16), but some segments "
    "seem to end with another character"
)


def test_856_with_mixed_terminators_is_rejected(realdata: Path, ctx: FeedContext) -> None:
    # N1, N3 and N4 end with '~' where the ISA declares '$': read by the declared terminator,
    # N1 swallows N3, N4 and HL*2, and SE01 (25) no longer matches.
    events, (rejected,) = parse(realdata, f"{STUPIDEDI}/004010/SH856/fail/2.edi", ctx)
    assert events == []
    assert rejected.errors == [f"interchange 000000089, group 000000089, set 0000001 (856): {MIXED_TERMINATORS}"]


def test_856_pass_2_x12_has_the_same_defects_and_a_16_character_isa06(realdata: Path, ctx: FeedContext) -> None:
    # stupidedi tests only */pass/**/*.edi: this .x12 is the older copy of fail/2.edi.
    events, (rejected,) = parse(realdata, f"{STUPIDEDI}/004010/SH856/pass/2.x12", ctx)
    assert events == []
    assert rejected.errors == [
        "interchange 000000089, group 000000089, set 0000001 (856): the ISA header is malformed (ISA06 must be 15 "
        f"characters (got 16: '010020001-ABCINC')), so nothing was read; {MIXED_TERMINATORS}"
    ]


def test_856_version_2001_with_an_unpadded_isa_is_rejected(realdata: Path, ctx: FeedContext) -> None:
    events, rejected = parse(realdata, f"{STUPIDEDI}/002001/SH856/fail/1.edi", ctx)
    assert events == []
    widths = (
        "ISA02 must be 10 characters (got 1: ' '); ISA04 must be 10 characters (got 1: ' '); ISA06 must be 15 "
        "characters (got 10: '054481205 '); ISA08 must be 15 characters (got 10: '123456789 ')"
    )
    assert [r.errors for r in rejected] == [
        [f"interchange 000000001, group 1, set {n} (856): the ISA header is malformed ({widths}), so nothing was read"]
        for n in ("0001", "0002")
    ]


def test_214_with_an_empty_group(realdata: Path, ctx: FeedContext) -> None:
    # 0x1E element separator, 0x1D component separator, newline terminator; GE01 says 1 set
    # but the group holds none (X12: GE01 counts the sets of the group).
    events, rejected = parse(realdata, f"{STUPIDEDI}/004010/QM214/pass/gh-189.edi", ctx)
    assert events == []
    assert [r.errors for r in rejected] == [
        ["interchange 000000893, group 914: GE01 says 1 but the group has 0 transaction sets"]
    ]


@pytest.mark.parametrize(
    ("name", "shipment", "invoice", "value", "currency", "bol", "day"),
    [
        ("CN_FreightInvoiceSample1.txt", "291226", "28066945", "2754.33", "USD", "291226", "2006-06-28"),
        ("CN_FreightInvoiceSample2.txt", "102141", "28061234", "2083.60", "CAD", "102141", "2006-06-28"),
        (
            "DBSchenker_SampleMotorFreightDetailsAndInvoice.txt",
            "084125T1",
            "210028835",
            "46.40",
            "USD",
            None,
            "2003-09-03",
        ),
    ],
)
def test_210_freight_invoices(
    realdata: Path,
    ctx: FeedContext,
    name: str,
    shipment: str,
    invoice: str,
    value: str,
    currency: str,
    bol: str | None,
    day: str,
) -> None:
    (event,), rejected = parse(realdata, f"{OOP}/TAM/_210/{name}", ctx)
    assert (event.type, event.source_status) == ("freight.cost_updated", "210")
    assert event.refs == {"shipment": [shipment]}
    assert event.body["amount"] == {"value": value, "currency": currency}
    attrs = event.body["attributes"]
    assert attrs["freight_invoice"] == invoice
    assert "invoice" not in event.refs  # the carrier's freight bill is not the customer's invoice
    assert attrs.get("bol") == bol
    assert event.occurred_at.isoformat() == f"{day}T00:00:00+00:00"
    if name.startswith("DBSchenker"):  # '.' terminator; its GE02 (24) is not its GS06 (1)
        assert attrs["charges"][1] == {"charge": "1.40", "special_charge": "405", "description": "FUEL SURCHARGE"}
        assert attrs["refs"] == {"IT": "152596", "CR": "700152596"}
        assert [r.errors for r in rejected] == [["interchange 000000024, group 1: GE02 '24' does not match GS06 '1'"]]
    else:
        assert rejected == []


def test_940_warehouse_shipping_order(realdata: Path, ctx: FeedContext) -> None:
    (event,), rejected = parse(realdata, f"{OOP}/WAR/_940/simplot.txt", ctx)
    assert (event.type, event.source_status) == ("order.released", "940")
    assert event.refs == {"order": ["01235639"], "customer_po": ["3353558"]}
    assert event.occurred_at.isoformat() == "2011-12-11T09:30:00+00:00"  # no date of its own: GS04/GS05
    assert event.body["promised_by"] == "2011-01-14T23:59:59Z"  # G62*02 delivery requested, a date: end of day
    assert event.body["customer"] == "McLane Foodservice Inc"
    assert event.body["lines"] == [
        {"sku": "10071179009894", "qty": 972, "uom": "CA"},
        {"sku": "10071179017073", "qty": 189, "uom": "CA"},
    ]
    assert event.body["attributes"]["line_ids"][0] == {
        "sku_qualifier": "UK",
        "ids": {"UA": "007117900989", "UK": "10071179009894"},
        "description": "KFC Fries Seas Wedge 14Cut 6/6#",
        "refs": {"LI": "1000", "PJ": "PBU"},
    }
    assert event.body["attributes"]["refs"] == {"SI": "03908202"}
    # Its trailers carry another control number than its headers: both reported, the set kept.
    assert [r.errors for r in rejected] == [
        ["interchange 398161180, group 177818711: GE02 '940001777' does not match GS06 '177818711'"],
        ["interchange 398161180: IEA02 '940001777' does not match ISA13 '398161180'"],
    ]


def test_945_without_depositor_order_links_by_shipment(realdata: Path, ctx: FeedContext) -> None:
    (event,), rejected = parse(realdata, f"{OOP}/WAR/_945/inter-americanproducts.txt", ctx)
    assert (event.type, event.source_status) == ("shipment.confirmed", "945")
    assert event.refs == {"shipment": ["2144"]}
    assert event.occurred_at.isoformat() == "2002-09-16T00:00:00+00:00"
    assert [(line["sku"], line["qty"]) for line in event.body["lines"]] == [
        ("339408", 120),
        ("100021", 400),
        ("133848", 400),
    ]
    assert event.body["attributes"]["unlinked_order"].startswith("W0602 (depositor order number) is empty")
    # Its GS holds 10 elements (GS02 '513**000'), so GS06 is not what GE02 repeats.
    assert rejected[0].errors == [
        "interchange 000000031, group 20021104: the GS has 10 elements where 8 are defined (GS01..GS08), so GS06 "
        "reads as '20021104'",
        "interchange 000000031, group 20021104: GE02 '31' does not match GS06 '20021104'",
    ]


@pytest.mark.parametrize(
    ("name", "refs", "occurred", "skus"),
    [
        (
            "Example1.txt",
            {"shipment": ["123456"], "customer_po": ["123456"]},
            "2001-04-20T14:21:00",
            ["1234-123456", "1234-654321", "1234-223456"],
        ),
        (
            "Example2.txt",  # no BSN02: the bill of lading is the shipment
            {"shipment": ["25673"], "tracking_number": ["88145"], "customer_po": ["B00000389", "B00003489"]},
            "2003-06-19T12:35:00",
            ["rt2371", "lt2372"],
        ),
        (
            "Example3.txt",  # '…' segment terminator
            {"shipment": ["146940"], "tracking_number": ["0123456789"], "customer_po": ["5500005194"]},
            "2005-04-12T20:52:00",
            ["000 260 056 524", "000 260 120 524", "000 260 121 524"],
        ),
        (
            "Example4.txt",
            {"shipment": ["DELIVERYNUMBER"], "tracking_number": ["620940"], "customer_po": ["PO NUMBER"]},
            "2011-09-09T19:32:35",
            ["25555120", "25555130", "20520130", "20520150", "21520150", "20520160", "25555150"],
        ),
        (
            "FromGregarican.txt",
            {
                "shipment": ["521649209219"],
                "tracking_number": ["521649209219"],
                "customer_po": ["SO/VINCE1"],
                "lpn": ["00007121610006156802"],
            },
            "2012-05-15T08:51:00",
            ["883932284904"],
        ),
        (
            "edi1Source.txt",
            {"shipment": ["829716"], "tracking_number": ["5787970539"], "customer_po": ["99999817"]},
            "2011-12-06T14:24:28",
            ["87787D", "99887D"],
        ),
    ],
)
def test_856_asns(
    realdata: Path, ctx: FeedContext, name: str, refs: dict[str, list[str]], occurred: str, skus: list[str]
) -> None:
    (event,), rejected = parse(realdata, f"{OOP}/ORD/_856/{name}", ctx)
    assert rejected == []
    assert (event.type, event.source_status) == ("shipment.confirmed", "856")
    assert event.refs == refs
    assert event.occurred_at.isoformat() == f"{occurred}+00:00"
    assert [line["sku"] for line in event.body["lines"]] == skus


def test_856_details(realdata: Path, ctx: FeedContext) -> None:
    (greg,), _ = parse(realdata, f"{OOP}/ORD/_856/FromGregarican.txt", ctx)
    attrs = greg.body["attributes"]
    assert attrs["line_ids"] == [
        {"sku_qualifier": "UP", "ids": {"UP": "883932284904", "PR": "507.5", "EN": "R08916DSSDDBDI7"}}
    ]
    assert attrs["carrier"] == {"scac": "FED2", "transport_method": "M", "routing": "FEDX 2 DAY"}
    assert (attrs["bol"], attrs["invoice"], attrs["hierarchy"]) == ("521649209219", "S1429672", "SOPI")
    (example1,), _ = parse(realdata, f"{OOP}/ORD/_856/Example1.txt", ctx)  # '~' elements, '*' terminator
    assert example1.body["eta"] == "2001-04-22T08:00:00Z"  # DTM*017 estimated delivery
    assert example1.body["lines"][1] == {"sku": "1234-654321", "qty": 23, "uom": "LB"}


def test_the_same_asn_in_two_envelopes_is_one_event(realdata: Path, ctx: FeedContext) -> None:
    (oop,), _ = parse(realdata, f"{OOP}/ORD/_856/edi1Source.txt", ctx)
    (gozer,), gozer_rejected = parse(realdata, "x12-gozer/src/test/resources/asn856/asn856.txt", ctx)
    # Other ISA sender, control number, date and terminator; the same GS02, BSN and content.
    assert oop.event_key == gozer.event_key
    assert (oop.type, oop.refs, oop.occurred_at) == (gozer.type, gozer.refs, gozer.occurred_at)
    assert [r.errors for r in gozer_rejected] == [
        ["interchange 000003438: IEA02 '000000049' does not match ISA13 '000003438'"]
    ]


def test_source_times_keep_the_feed_zone(realdata: Path) -> None:
    ctx = FeedContext.standard(tz="America/New_York")
    (event,), _ = parse(realdata, f"{OOP}/ORD/_856/edi1Source.txt", ctx)
    assert (event.occurred_at.isoformat(), event.offset_minutes) == ("2011-12-06T19:24:28+00:00", -300)


@pytest.mark.parametrize(
    ("path", "sets", "what"),
    [
        (f"{STUPIDEDI}/004010/PO850/pass/1.edi", 1, "is an 850 (purchase order)"),
        (f"{STUPIDEDI}/004010/IN810/pass/1.edi", 1, "set 5639689 is an 810 (invoice)"),
        (f"{STUPIDEDI}/004010/FA997/pass/1.edi", 1, "set 300044350 is a 997 (functional acknowledgment)"),
        (f"{STUPIDEDI}/004010/PR855/pass/1.edi", 1, "set 000002015 is an 855 (purchase order acknowledgment)"),
        (f"{STUPIDEDI}/004010/QO315/pass/1.edi", 1, "set 0001 is a 315 (status details (ocean))"),
        (f"{STUPIDEDI}/004010/AR943/pass/1.edi", 1, "set 0001 is a 943 (warehouse stock transfer shipment advice)"),
        (f"{STUPIDEDI}/004010/RE944/pass/1.edi", 1, "set 0001 is a 944 (warehouse stock transfer receipt advice)"),
        (f"{OOP}/ORD/_810/Example3_MultiInvoice.txt", 2, "is an 810 (invoice)"),
        (f"{OOP}/ORD/_850/Example1_PGWGlass.txt", 1, "set 0001 is an 850 (purchase order)"),
        (f"{OOP}/ORD/_850/Example2_Adobe_TLP.txt", 1, "set 114640004 is an 850 (purchase order)"),
        (f"{OOP}/ORD/_857/Kroger_DeliveryExample.txt", 1, "set 0001 is an 857 (shipment and billing notice)"),
        (f"{OOP}/TAM/_110/FedEx_SampleInvoice1.txt", 1, "set 0053 is a 110 (air freight details and invoice)"),
        (f"{OOP}/TOS/_322/322Status.txt", 17, "is a 322 (terminal operations and intermodal ramp activity)"),
    ],
)
def test_other_sets_are_rejected_naming_the_set(
    realdata: Path, ctx: FeedContext, path: str, sets: int, what: str
) -> None:
    events, rejected = parse(realdata, path, ctx)
    assert events == []
    per_set = [r for r in rejected if "(ST..SE" in r.errors[0] or " is a" in r.errors[0]]
    assert len(per_set) == sets
    assert all(what in r.errors[0] for r in per_set)
    assert all(r.errors[0].endswith("; this feed maps 214, 856, 940, 945, 204, 210") for r in per_set)
