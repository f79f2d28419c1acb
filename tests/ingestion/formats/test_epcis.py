"""epcis: the mapping rules, on small documents built here (the GS1 samples are in
test_epcis_realdata.py, fuzzing in test_epcis_fuzz.py)."""

from typing import Any

import orjson
import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, CodeBook, FeedContext
from apps.ingestion.formats.epcis import EpcisAdapter
from apps.ingestion.formats.epcis.codes import CODE_TABLES, short, to_urn

EPCIS = FORMATS["epcis"]
PO = "http://transaction.acme.com/po/12345678"
SHIP = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "eventTime": "2026-11-25T09:15:00.000Z",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
    "bizStep": "shipping",
    "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    "bizTransactionList": [{"type": "po", "bizTransaction": PO}],
}


def doc(*events: dict[str, Any], context: list[Any] | None = None) -> bytes:
    return orjson.dumps(
        {
            "@context": context or ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-25T10:00:00Z",
            "epcisBody": {"eventList": list(events)},
        }
    )


def event(**changes: Any) -> dict[str, Any]:
    out = {**SHIP, **changes}
    return {k: v for k, v in out.items() if v is not None}


def read(body: bytes, ctx: FeedContext) -> list[Any]:
    return list(EPCIS.read(body, ctx))


def one(body: bytes, ctx: FeedContext) -> dict[str, Any]:
    (candidate,) = read(body, ctx)
    assert isinstance(candidate, dict), candidate
    return candidate


def valid(body: bytes, ctx: FeedContext) -> list[ValidEvent]:
    outcomes = EPCIS.parse(body, ctx)
    assert all(isinstance(o, ValidEvent) for o in outcomes), outcomes
    return [o for o in outcomes if isinstance(o, ValidEvent)]


def rejected(body: bytes, ctx: FeedContext) -> Rejection:
    (candidate,) = read(body, ctx)
    assert isinstance(candidate, Rejection), candidate
    return candidate


XML_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
    b'xmlns:ex="http://ns.example.com/epcis" schemaVersion="2.0" creationDate="2026-11-25T10:00:00Z">'
    b"<EPCISBody><EventList>"
)
XML_TAIL = b"</EventList></EPCISBody></epcis:EPCISDocument>"
XML_SHIP = (
    b"<ObjectEvent><eventTime>2026-11-25T10:15:00.000+01:00</eventTime>"
    b"<eventTimeZoneOffset>+01:00</eventTimeZoneOffset>"
    b"<epcList><epc>urn:epc:id:sgtin:0614141.107346.2017</epc></epcList><action>OBSERVE</action>"
    b"<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep><disposition>urn:epcglobal:cbv:disp:in_transit"
    b"</disposition><readPoint><id>urn:epc:id:sgln:0614141.07346.1234</id></readPoint><bizTransactionList>"
    b'<bizTransaction type="urn:epcglobal:cbv:btt:po">http://transaction.acme.com/po/12345678</bizTransaction>'
    b"</bizTransactionList></ObjectEvent>"
)


def xml(*events: bytes) -> bytes:
    return XML_HEAD + b"".join(events) + XML_TAIL


def test_registered_with_its_tables() -> None:
    assert isinstance(EPCIS, EpcisAdapter)
    assert EPCIS.name == "epcis"
    assert EPCIS.content_types == ("application/json", "application/ld+json", "application/xml", "text/xml")
    assert [t.name for t in EPCIS.code_tables] == ["epcis.bizstep", "epcis.disposition"]
    assert EPCIS.code_tables == CODE_TABLES


def test_json_event_maps_to_a_canonical_event(ctx: FeedContext) -> None:
    candidate = one(doc(SHIP), ctx)
    assert candidate["type"] == "shipment.confirmed"
    assert candidate["occurred_at"] == "2026-11-25T10:15:00+01:00"
    assert candidate["source_status"] == "shipping/in_transit"
    assert candidate["refs"] == {"customer_po": PO}
    assert candidate["location"] == {"code": "urn:epc:id:sgln:0614141.07346.1234"}
    assert candidate["event_id"].startswith("ni:///sha-256;")
    assert candidate["event_id"].endswith("?ver=CBV2.0")
    assert candidate["attributes"]["epcs"] == {"epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}
    assert candidate["attributes"]["epc_counts"] == {"epcList": 1}
    (ok,) = valid(doc(SHIP), ctx)
    assert ok.refs == {"customer_po": [PO]}
    assert ok.offset_minutes == 60


def test_the_same_event_in_xml_is_the_same_canonical_event(ctx: FeedContext) -> None:
    assert one(xml(XML_SHIP), ctx) == one(doc(SHIP), ctx)


@pytest.mark.parametrize(
    "form",
    [
        "shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "https://ref.gs1.org/cbv/Bizstep-shipping",
        "cbv:BizStep-shipping",
        "  shipping ",
    ],
)
def test_every_cbv_form_of_a_bizstep_is_one_code(form: str, ctx: FeedContext) -> None:
    candidate = one(doc(event(bizStep=form, disposition="https://ref.gs1.org/cbv/Disp-in_transit")), ctx)
    assert candidate["type"] == "shipment.confirmed"
    assert candidate["source_status"] == "shipping/in_transit"
    # and the hash does not see the form either
    assert candidate["event_id"] == one(doc(SHIP), ctx)["event_id"]


def test_cbv_normalisation() -> None:
    assert short("urn:epcglobal:cbv:disp:in_transit") == "in_transit"
    assert short("http://example.com/bizstep/x") == "http://example.com/bizstep/x"
    assert to_urn("po", "btt") == "urn:epcglobal:cbv:btt:po"
    assert to_urn("https://ref.gs1.org/cbv/SDT-location", "sdt") == "urn:epcglobal:cbv:sdt:location"
    assert to_urn("urn:gs1:epcisapp:rail:btt:passage", "btt") == "urn:gs1:epcisapp:rail:btt:passage"


@pytest.mark.parametrize(
    ("biz_step", "disposition", "expected", "reason"),
    [
        ("picking", None, "pick.completed", None),
        ("packing", "in_progress", "pack.completed", None),
        ("staging_outbound", None, "pack.completed", None),
        ("loading", None, "shipment.loaded", None),
        ("shipping", "in_transit", "shipment.confirmed", None),
        ("consigning", None, "shipment.confirmed", None),
        ("departing", "in_transit", "shipment.departed", None),
        ("transporting", "in_transit", "shipment.in_transit", None),
        ("arriving", None, "shipment.arrived", None),
        ("unloading", None, "shipment.arrived", None),
        ("receiving", "in_progress", "delivery.completed", None),
        ("accepting", None, "delivery.completed", None),
        ("void_shipping", None, "exception.raised", "void_shipping"),
        ("holding", None, "exception.raised", "holding"),
        ("receiving", "returned", "return.received", None),
        ("shipping", "returned", "shipment.confirmed", None),
        ("receiving", "damaged", "exception.raised", "damaged"),
        ("inspecting", "damaged", "exception.raised", "damaged"),
        ("inspecting", "non_conformant", "exception.raised", "non_conformant"),
        ("transporting", "stolen", "exception.raised", "stolen"),
        ("shipping", "http://example.com/disp/wet", "shipment.confirmed", None),
        ("inspecting", "conformant", None, None),
        ("inspecting", "needs_replacement", None, None),
        ("commissioning", "active", None, None),
        ("sensor_reporting", None, None, None),
        ("assembling", None, None, None),
        ("encoding", None, None, None),
    ],
)
def test_default_tables(
    biz_step: str, disposition: str | None, expected: str | None, reason: str | None, ctx: FeedContext
) -> None:
    out = read(doc(event(bizStep=biz_step, disposition=disposition)), ctx)
    if expected is None:
        assert out == []
        return
    (candidate,) = out
    assert candidate["type"] == expected
    assert candidate["source_status"] == (f"{biz_step}/{disposition}" if disposition else biz_step)
    if reason is None:
        assert "reason" not in candidate
    else:
        assert candidate["reason"]["code"] == reason
        assert candidate["reason"]["text"]
    valid(doc(event(bizStep=biz_step, disposition=disposition)), ctx)


def test_missing_bizstep_is_rejected(ctx: FeedContext) -> None:
    rejection = rejected(doc(event(bizStep=None)), ctx)
    assert rejection.errors == [
        "event 1 (ObjectEvent): bizStep: missing; the business step (e.g. shipping, receiving) is what says "
        "which milestone the event is: send it"
    ]
    assert rejection.event_id
    assert rejection.event_id.startswith("ni:///sha-256;")


@pytest.mark.parametrize("code", ["http://epcis.example.org/hc/bizstep/summarising_discharge", "other"])
def test_unmapped_bizstep_is_rejected_naming_code_and_table(code: str, ctx: FeedContext) -> None:
    rejection = rejected(doc(event(bizStep=code, eventID="urn:uuid:1")), ctx)
    assert rejection.event_id == "urn:uuid:1"
    assert rejection.errors == [
        f"event 1 (ObjectEvent): source_status: code {code!r} is not in code table epcis.bizstep (version 0); "
        "map it in the feed's code tables, then replay the feed"
    ]


def test_feed_overrides_map_unmap_and_reinterpret() -> None:
    custom = "urn:example:bizstep:quarantined"
    codes = CodeBook(
        CODE_TABLES,
        {
            "epcis.bizstep": (3, {custom: "exception.raised", "receiving": None}),
            "epcis.disposition": (1, {"receiving/damaged": "delivery.completed"}),
        },
    )
    ctx = FeedContext(codes=codes, slug="f")
    assert one(doc(event(bizStep=custom)), ctx)["reason"] == {"code": custom}
    assert "version 3" in rejected(doc(event(bizStep="receiving")), ctx).errors[0]
    assert one(doc(event(bizStep="accepting", disposition="damaged")), ctx)["type"] == "exception.raised"
    # receiving is unmapped in this feed, so its pair entry is never reached: the bizStep decides first
    assert isinstance(read(doc(event(bizStep="receiving", disposition="damaged")), ctx)[0], Rejection)


def test_event_id_does_not_depend_on_the_mapping(ctx: FeedContext) -> None:
    body = doc(event(bizStep="receiving"))
    remapped = FeedContext(codes=CodeBook(CODE_TABLES, {"epcis.bizstep": (1, {"receiving": "shipment.arrived"})}))
    first, second = one(body, ctx), one(body, remapped)
    assert (first["type"], second["type"]) == ("delivery.completed", "shipment.arrived")
    assert first["event_id"] == second["event_id"]


def test_event_id_is_the_event_id_as_sent_and_stable_across_envelopes(ctx: FeedContext) -> None:
    assert one(doc(event(eventID="  urn:uuid:7b0d  ")), ctx)["event_id"] == "urn:uuid:7b0d"
    alone = one(doc(SHIP), ctx)["event_id"]
    other = event(bizStep="receiving", eventTime="2026-11-26T09:00:00Z")
    in_company = [c["event_id"] for c in read(doc(other, SHIP, context=["x", {"ex": "urn:x:"}]), ctx)]
    assert in_company[1] == alone
    assert one(orjson.dumps(SHIP), ctx)["event_id"] == alone  # a bare event (capture interface)
    assert one(doc(event(recordTime="2026-12-01T00:00:00Z")), ctx)["event_id"] == alone  # recordTime not hashed
    assert one(doc(event(epcList=["urn:epc:id:sgtin:0614141.107346.2018"])), ctx)["event_id"] != alone


def test_refs_by_business_transaction_type(ctx: FeedContext) -> None:
    transactions = [
        {"type": "po", "bizTransaction": f" {PO} "},
        {"type": "urn:epcglobal:cbv:btt:po", "bizTransaction": PO},
        {"type": "po", "bizTransaction": "PO-2"},
        {"type": "inv", "bizTransaction": "INV-9"},
        {"type": "https://ref.gs1.org/cbv/BTT-desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"},
        {"type": "bol", "bizTransaction": "BOL-55"},
        {"type": "rma", "bizTransaction": "RMA-1"},
        {"type": "prodorder", "bizTransaction": "WO-3"},
        {"type": "recadv", "bizTransaction": "RA-4"},
        {"bizTransaction": "untyped-1"},
    ]
    candidate = one(doc(event(bizTransactionList=transactions)), ctx)
    assert candidate["refs"] == {
        "customer_po": [PO, "PO-2"],
        "invoice": "INV-9",
        "shipment": "urn:epcglobal:cbv:bt:0614141073467:1152",
        "tracking_number": "BOL-55",
        "return": "RMA-1",
    }
    assert candidate["attributes"]["biz_transactions"] == [
        {"type": "prodorder", "id": "WO-3"},
        {"type": "recadv", "id": "RA-4"},
        {"id": "untyped-1"},
    ]


def test_ssccs_are_lpns_and_items_are_attributes(ctx: FeedContext) -> None:
    aggregation = {
        "type": "AggregationEvent",
        "eventTime": "2026-11-25T09:15:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:sscc:0614141.1234567890",
        "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/00/106141412345678908"],
        "action": "ADD",
        "bizStep": "packing",
    }
    candidate = one(doc(aggregation), ctx)
    assert candidate["type"] == "pack.completed"
    assert candidate["refs"] == {
        "lpn": ["urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"]
    }
    assert candidate["attributes"]["epc_counts"] == {"childEPCs": 2}
    asset = {**aggregation, "parentID": "urn:epc:id:grai:0614141.12345.400", "childEPCs": ["urn:epc:id:sgtin:1.2.3"]}
    rejection = rejected(doc(asset), ctx)
    assert rejection.errors == [
        "event 1 (AggregationEvent): no business transaction, SSCC or other reference: the event cannot be placed "
        "on an order (send its bizTransactionList: po, desadv, inv, bol or rma; or the SSCC of the logistic unit)"
    ]
    with_po = {**asset, "bizTransactionList": [{"type": "po", "bizTransaction": "PO-1"}]}
    assert one(doc(with_po), ctx)["attributes"]["parent_id"] == "urn:epc:id:grai:0614141.12345.400"


def test_epc_lists_are_capped_but_counted(ctx: FeedContext) -> None:
    epcs = [f"urn:epc:id:sgtin:0614141.107346.{n}" for n in range(250)]
    attributes = one(doc(event(epcList=epcs)), ctx)["attributes"]
    assert len(attributes["epcs"]["epcList"]) == 100
    assert attributes["epc_counts"] == {"epcList": 250}


@pytest.mark.parametrize(
    ("event_time", "offset", "expected"),
    [
        ("2026-11-25T09:15:00Z", "+01:00", "2026-11-25T10:15:00+01:00"),
        ("2026-11-25T10:15:00.5+01:00", "+01:00", "2026-11-25T10:15:00.500+01:00"),
        ("2026-11-25T03:15:00.123456-06:00", "-06:00", "2026-11-25T03:15:00.123456-06:00"),
        ("2026-11-25T09:15:00Z", "+05:30", "2026-11-25T14:45:00+05:30"),
        ("2026-11-25T09:15:00Z", None, "2026-11-25T09:15:00+00:00"),
        ("2026-11-25T10:15:00", "+01:00", "2026-11-25T10:15:00+01:00"),  # no zone: read in the declared offset
        ("2026-11-25T10:15:00", None, "2026-11-25T10:15:00+01:00"),  # neither: the feed's time zone
    ],
)
def test_times_keep_the_declared_offset(event_time: str, offset: str | None, expected: str) -> None:
    ctx = FeedContext.standard(tz="Europe/Berlin")
    candidate = one(doc(event(eventTime=event_time, eventTimeZoneOffset=offset)), ctx)
    assert candidate["occurred_at"] == expected


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"eventTime": None}, "eventTime: missing; the time the event happened is required"),
        ({"eventTime": "25/11/2026 10:15"}, "eventTime: '25/11/2026 10:15' is not an xsd:dateTime"),
        ({"eventTime": "2026-02-30T10:00:00Z"}, "is not an xsd:dateTime"),
        ({"eventTimeZoneOffset": "CET"}, "eventTimeZoneOffset: 'CET' is not a UTC offset like -06:00"),
        ({"eventTimeZoneOffset": "+15:00"}, "eventTimeZoneOffset: '+15:00' is not a UTC offset"),
        ({"epcList": [1, 2]}, "epcList: expected an array of EPC URIs (strings)"),
        ({"bizStep": 7}, "bizStep: expected a string"),
        ({"readPoint": "urn:epc:id:sgln:1.2.3"}, "readPoint: expected an object with an id"),
        ({"bizTransactionList": [{"type": "po"}]}, "bizTransactionList[0]: expected an object with bizTransaction"),
    ],
)
def test_unreadable_fields_reject_the_event(changes: dict[str, Any], error: str, ctx: FeedContext) -> None:
    rejection = rejected(doc(event(**changes)), ctx)
    assert len(rejection.errors) == 1
    assert rejection.errors[0].startswith("event 1 (ObjectEvent): ")
    assert error in rejection.errors[0]


def test_quantities_become_lines(ctx: FeedContext) -> None:
    transformation = {
        "type": "TransformationEvent",
        "eventTime": "2026-11-25T09:15:00Z",
        "eventTimeZoneOffset": "+00:00",
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 10, "uom": "KGM"}],
        "outputQuantityList": [
            {"epcClass": "urn:epc:class:lgtin:4012345.033333.5555", "quantity": 452.5, "uom": "KGM"},
            {"epcClass": "urn:epc:class:lgtin:4012345.033333.6666"},
        ],
        "quantityList": [{"epcClass": "urn:epc:idpat:sgtin:4012345.098765.*", "quantity": "12"}],
        "bizStep": "packing",
        "bizTransactionList": [{"type": "po", "bizTransaction": "PO-1"}],
    }
    candidate = one(doc(transformation), ctx)
    assert candidate["lines"] == [
        {"sku": "urn:epc:idpat:sgtin:4012345.098765.*", "qty": 12},
        {"sku": "urn:epc:class:lgtin:4012345.033333.5555", "qty": 452.5, "uom": "KGM"},
    ]
    assert candidate["attributes"]["quantities"] == [
        {"epc_class": "urn:epc:class:lgtin:4012345.033333.6666", "quantity": None}
    ]
    assert candidate["attributes"]["input_quantities"] == [
        {"epc_class": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 10, "uom": "KGM"}
    ]
    valid(doc(transformation), ctx)


def test_location_is_the_business_location_else_the_read_point(ctx: FeedContext) -> None:
    both = one(doc(event(bizLocation={"id": "urn:epc:id:sgln:0012345.11111.0"})), ctx)
    assert both["location"] == {"code": "urn:epc:id:sgln:0012345.11111.0"}
    assert both["attributes"]["read_point"] == "urn:epc:id:sgln:0614141.07346.1234"
    assert "location" not in one(doc(event(readPoint=None)), ctx)


def test_error_declaration_is_a_correction_with_the_original_id(ctx: FeedContext) -> None:
    original = one(doc(SHIP), ctx)
    declaration = {
        "declarationTime": "2026-11-26T08:00:00.000+01:00",
        "reason": "urn:epcglobal:cbv:er:incorrect_data",
        "correctiveEventIDs": ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"],
        "ex:ticket": "T-1",
    }
    corrected = one(doc(event(errorDeclaration=declaration), context=["x", {"ex": "urn:ex:"}]), ctx)
    assert corrected["event_id"] == original["event_id"]
    assert corrected["type"] == original["type"] == "shipment.confirmed"
    assert corrected["source_status"] == "shipping/in_transit/error_declared"
    assert corrected["attributes"]["error_declaration"] == {
        "reason": "incorrect_data",
        "declared_at": "2026-11-26T08:00:00+01:00",
        "corrective_event_ids": ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"],
        "extensions": {"ex:ticket": "T-1"},
    }
    with_id = one(doc(event(eventID="urn:uuid:1", errorDeclaration={"reason": "did_not_occur"})), ctx)
    assert with_id["event_id"] == "urn:uuid:1"
    assert with_id["attributes"]["error_declaration"]["reason"] == "did_not_occur"


def test_long_partner_codes_are_cut_in_source_status(ctx: FeedContext) -> None:
    step = "https://vocabulary.example.com/" + "very-long-segment/" * 6 + "shipping"
    codes = CodeBook(CODE_TABLES, {"epcis.bizstep": (1, {step: "shipment.confirmed"})})
    candidate = one(doc(event(bizStep=step, errorDeclaration={"reason": "incorrect_data"})), FeedContext(codes=codes))
    assert len(candidate["source_status"]) == 100
    assert candidate["source_status"].endswith("/error_declared")
    assert candidate["attributes"]["biz_step"] == step
    assert candidate["attributes"]["disposition"] == "in_transit"


def test_user_extensions_are_attributes_in_both_syntaxes(ctx: FeedContext) -> None:
    carrier = {"ex:scac": "ABCD", "ex:seal": ["S1", "S2"]}
    json_event = event(**{"ex:carrier": carrier, "ex:temp": 4.5})
    from_json = one(doc(json_event, context=["x", {"ex": "http://ns.example.com/epcis/"}]), ctx)
    assert from_json["attributes"]["extensions"] == {
        "ex:carrier": {"ex:scac": "ABCD", "ex:seal": ["S1", "S2"]},
        "ex:temp": 4.5,
    }
    xml_event = XML_SHIP.replace(
        b"</ObjectEvent>",
        b"<ex:carrier><ex:scac>ABCD</ex:scac><ex:seal>S1</ex:seal><ex:seal>S2</ex:seal></ex:carrier>"
        b"<ex:temp>4.5</ex:temp></ObjectEvent>",
    )
    from_xml = one(xml(xml_event), ctx)
    assert from_xml["attributes"]["extensions"] == {
        "ex:carrier": {"ex:scac": "ABCD", "ex:seal": ["S1", "S2"]},
        "ex:temp": "4.5",
    }
    assert from_xml["event_id"] == from_json["event_id"]  # same namespace, 4.5 == "4.5" in the hash


@pytest.mark.parametrize("event_time", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59.9999-01:00"])
def test_times_at_the_edge_of_the_calendar(event_time: str, ctx: FeedContext) -> None:
    rejection = rejected(doc(event(eventTime=event_time, eventTimeZoneOffset=None)), ctx)
    assert "is out of range" in rejection.errors[0]
    assert rejection.event_id


def test_an_ignored_event_is_not_checked_further(ctx: FeedContext) -> None:
    broken = event(bizStep="sensor_reporting", eventTime="yesterday", epcList=[1], bizTransactionList=None)
    assert read(doc(broken), ctx) == []
    (rejection,) = read(doc({**broken, "bizStep": "shipping"}), ctx)
    assert rejection.errors == ["event 1 (ObjectEvent): epcList: expected an array of EPC URIs (strings)"]
