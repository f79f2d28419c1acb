"""dcsa-tnt: the DCSA conformance samples in place (2.2 and 3.0, valid and wrong-*): types,
refs, times, ETAs, rejections naming the field, ids across envelopes and table changes."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, CodeBook, FeedContext, UnreadableBody

DCSA = FORMATS["dcsa-tnt"]
TNT = "dcsa-conformance-gateway/tnt/src/main/resources/standards/tnt/messages"
AN = "dcsa-conformance-gateway/arrival-notice/src/main/resources/standards/an/messages"


def body(realdata: Path, name: str) -> bytes:
    return (realdata / TNT / name).read_bytes()


def valid(outcomes: list[ValidEvent | Rejection]) -> list[ValidEvent]:
    assert all(isinstance(o, ValidEvent) for o in outcomes), [o for o in outcomes if isinstance(o, Rejection)]
    return [o for o in outcomes if isinstance(o, ValidEvent)]


def overridden(**tables: dict[str, str | None]) -> FeedContext:
    """The DCSA tables with a feed's overrides (version 1 of each)."""
    book = CodeBook(list(DCSA.code_tables), {name: (1, entries) for name, entries in tables.items()})
    return FeedContext(codes=book, slug="t")


def event(**fields: Any) -> dict[str, Any]:
    """A 2.2 transport event with a booking, overridable field by field."""
    base: dict[str, Any] = {
        "eventID": "5e4bd3f2-5a52-4d3c-bd4a-0f0bd9e7e0b1",
        "eventCreatedDateTime": "2024-03-01T10:00:00Z",
        "eventType": "TRANSPORT",
        "eventClassifierCode": "ACT",
        "eventDateTime": "2024-03-01T08:30:00-05:00",
        "transportEventTypeCode": "ARRI",
        "transportCall": {"transportCallID": "tc-1", "UNLocationCode": "USNYC", "modeOfTransport": "VESSEL"},
        "documentReferences": [{"documentReferenceType": "BKG", "documentReferenceValue": "BK-1"}],
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def parse(items: Any, ctx: FeedContext) -> list[ValidEvent | Rejection]:
    return DCSA.parse(orjson.dumps(items), ctx)


# --- 2.2 -------------------------------------------------------------------------------------


def test_220_response_maps_every_event(realdata: Path, ctx: FeedContext) -> None:
    """7 events: 2 actual arrivals, 3 drafted documents (planned), 2 estimated loads (no ETA:
    an estimated load is not an arrival → ignored)."""
    raw = list(DCSA.read(body(realdata, "tnt-220-response.json"), ctx))
    out = valid(DCSA.parse(body(realdata, "tnt-220-response.json"), ctx))
    assert [(e.event_key, e.type, e.source_status) for e in out] == [
        ("dcsa:3cecb101-7a1a-43a4-9d62-e88a131651e2", "shipment.arrived", "ARRI/ACT"),
        ("dcsa:3cecb101-7a1a-43a4-9d62-e88a131651e3", "shipment.planned", "DRFT/ACT"),
        ("dcsa:3cecb101-7a1a-43a4-9d62-e88a131651e5", "shipment.arrived", "ARRI/ACT"),
        ("dcsa:3cecb101-7a1a-43a4-9d62-e88a131651e6", "shipment.planned", "DRFT/ACT"),
        ("dcsa:3cecb101-7a1a-43a4-9d62-e88a131651e8", "shipment.planned", "DRFT/ACT"),
    ]
    arrival, drafted_si, arrival2, drafted_bkg, drafted_td = out
    assert raw[0]["occurred_at"] == "2021-01-09T14:12:56+01:00"
    assert arrival.occurred_at == datetime(2021, 1, 9, 13, 12, 56, tzinfo=UTC)
    assert arrival.offset_minutes == 60
    assert arrival.refs == {"shipment": ["ABC123123123"], "tracking_number": ["reserved-HHL123"]}
    assert arrival.body["location"] == {"code": "FRPAR"}
    assert arrival.body["reason"] == {"code": "WEA", "text": "Bad weather"}
    attributes = arrival.body["attributes"]
    assert attributes["equipment"] == ["APZU4812090"]
    assert attributes["references"] == [{"referenceType": "FF", "referenceValue": "string"}]
    assert attributes["eventCreatedDateTime"] == "2021-01-23T12:34:56Z"
    assert attributes["transportCall"]["vessel"]["vesselIMONumber"] == "9321483"
    assert attributes["transportCall"]["exportVoyageNumber"] == "2103S"
    assert "UNLocationCode" not in attributes["transportCall"]
    assert "eta" not in arrival.body
    assert arrival2.body["location"] == {"code": "FRPAR", "lat": 48.85855, "lon": 2.294492036}
    # A shipping instruction is no ref kind: the container is all the event names → a load.
    assert drafted_si.refs == {"load": ["APZU4812090"]}
    assert drafted_si.offset_minutes == 510
    assert drafted_si.body["attributes"]["documentTypeCode"] == "SHI"
    assert drafted_si.body["attributes"]["documentID"] == "reserved-HHL123"
    assert drafted_bkg.refs == {"shipment": ["ABC123123123"]}
    assert drafted_td.refs == {"tracking_number": ["reserved-HHL123"]}


def test_an_estimated_load_becomes_an_eta_only_when_the_feed_maps_it(realdata: Path) -> None:
    ctx = overridden(**{"dcsa.equipment": {"LOAD/EST": "shipment.eta_updated"}})
    raw = [c for c in DCSA.read(body(realdata, "tnt-220-response.json"), ctx) if c["source_status"] == "LOAD/EST"]
    assert len(raw) == 2
    # An estimate happens when it is issued; the time it names goes to eta.
    assert raw[0]["occurred_at"] == "2021-01-23T12:34:56+00:00"
    assert raw[0]["eta"] == "2019-11-12T07:41:00+08:30"
    assert raw[0]["refs"] == {"shipment": "ABC123123123", "tracking_number": "reserved-HHL123"}
    assert raw[0]["location"]["name"] == "Eiffel Tower"
    assert raw[0]["attributes"]["eventDateTime"] == "2019-11-12T07:41:00+08:30"


def test_wrong_attribute_values_are_rejected_naming_the_field(realdata: Path, ctx: FeedContext) -> None:
    out = DCSA.parse(body(realdata, "tnt-220-response-wrong-attribute-values.json"), ctx)
    assert all(isinstance(o, Rejection) for o in out)
    first, third = out  # the VOID of an arrival notice is a document event: ignored
    assert isinstance(first, Rejection)
    assert isinstance(third, Rejection)
    assert first.errors == [
        "events[0].transportCall.location.UNLocationCode: 'XYBCD' is not a UN/LOCODE "
        "('XY' is not an ISO 3166 country code)",
        "events[0].transportCall.UNLocationCode: 'XYABC' is not a UN/LOCODE ('XY' is not an ISO 3166 country code)",
    ]
    assert first.event_id is not None
    assert first.event_id.startswith("dcsa:")
    assert third.event_id == "dcsa:3cecb101-7a1a-43a4-9d62-e88a131651e4"
    assert (
        "events[2].eventLocation.UNLocationCode: 'XYABC' is not a UN/LOCODE ('XY' is not an ISO 3166 country code)"
        in (third.errors)
    )
    assert "events[2].equipmentReference: 'APZU2134567' fails the ISO 6346 check digit (expected 4, got 7)" in (
        third.errors
    )


def test_wrong_date_times_are_rejected_naming_the_field(realdata: Path, ctx: FeedContext) -> None:
    out = DCSA.parse(body(realdata, "tnt-220-response-wrong-date-times.json"), ctx)
    assert all(isinstance(o, Rejection) for o in out)
    assert [o.errors for o in out if isinstance(o, Rejection)] == [
        # the baseline: its times are right, but a shipping instruction id is no ref
        [
            "events[0].refs: the event names no booking (BKG/CBR), transport document (TRD), purchase order (PO) "
            "or equipment; there is nothing to correlate it with"
        ],
        ["events[1].eventCreatedDateTime: required (DCSA T&T 2.x: when the event was created)"],
        ["events[2].eventDateTime: required (when the event happened or will happen)"],
        [
            "events[3].eventCreatedDateTime: '2021 01 01 14:12:56' is not an RFC 3339 date-time "
            "(want e.g. 2021-01-09T14:12:56+01:00)"
        ],
        [
            "events[4].eventDateTime: '2019/11/12 07:41:00 +08:30' is not an RFC 3339 date-time "
            "(want e.g. 2021-01-09T14:12:56+01:00)"
        ],
        [
            "events[5].eventDateTime: the actual event at 2019-11-12T07:41:00+08:30 is after its "
            "eventCreatedDateTime 1999-01-01T14:12:56Z; an event cannot be recorded before it happened"
        ],
        ["events[6].eventCreatedDateTime: 2099-01-01T14:12:56Z is in the future"],
    ]


def test_wrong_event_ids_are_rejected_naming_the_field(realdata: Path, ctx: FeedContext) -> None:
    out = DCSA.parse(body(realdata, "tnt-220-response-wrong-event-ids.json"), ctx)
    rejected = {o.index: o.errors for o in out if isinstance(o, Rejection)}
    assert rejected == {
        0: ["events[0].eventID: must be a non-empty string (a UUID), got 123456789"],
        1: ["events[1].eventID: 'incorrect' is not a UUID (DCSA T&T 2.x event ids are UUIDs)"],
        3: ["events[3].eventID: repeats event 2 of this body; every DCSA event has its own eventID"],
        6: ["events[6].eventID: repeats event 5 of this body; every DCSA event has its own eventID"],
    }
    kept = [o for o in out if isinstance(o, ValidEvent)]
    assert [e.event_key for e in kept] == [
        "dcsa:3cecb101-7a1a-43a4-9d62-e88a131651e8",
        "dcsa:1ed826d0-3643-42e3-974b-eb88357c8e40",
        "dcsa:af7728dc-0e1e-42d2-ad78-61c5c0c25878",
    ]


def test_wrong_structure_is_unreadable(realdata: Path, ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody) as caught:
        DCSA.parse(body(realdata, "tnt-220-response-wrong-structure.json"), ctx)
    assert str(caught.value).startswith(
        "not DCSA Track & Trace events: none of the 2 items is an event (item 0 is an object with keys "
        "'someEvents'); the events must be the array's own elements"
    )


# --- 3.0 -------------------------------------------------------------------------------------

V300 = [
    "tnt-300-request-shipment.json",
    "tnt-300-request-transport.json",
    "tnt-300-request-equipment.json",
    "tnt-300-request-iot.json",
    "tnt-300-request-reefer.json",
    "tnt-300-response.json",
    "tnt-300-response-nextpage.json",
]


def test_300_samples(realdata: Path, ctx: FeedContext) -> None:
    got = {name: valid(DCSA.parse(body(realdata, name), ctx)) for name in V300}
    summary = {name: [(e.type, e.source_status) for e in out] for name, out in got.items()}
    assert summary == {
        "tnt-300-request-shipment.json": [("shipment.tender_accepted", "CONF/ACT")],
        "tnt-300-request-transport.json": [("shipment.arrived", "ARRI/ACT")],
        "tnt-300-request-equipment.json": [("shipment.loaded", "LOAD/ACT")],
        "tnt-300-request-iot.json": [],  # IoT telemetry: ignored by default
        "tnt-300-request-reefer.json": [],
        "tnt-300-response.json": [
            ("shipment.tender_accepted", "CONF/ACT"),
            ("shipment.departed", "DEPA/ACT"),
            ("shipment.arrived", "GTIN/ACT"),
        ],
        "tnt-300-response-nextpage.json": [  # APPR (approved) is a document step: ignored
            ("shipment.eta_updated", "ARRI/EST"),
            ("shipment.arrived", "DISC/ACT"),
        ],
    }
    # One shipment's events: the booking and its transport document, or its container.
    booking = {"shipment": ["ABC709951"], "tracking_number": ["HHL71800000"]}
    container = {"load": ["APZU4812090"]}
    for out in got.values():
        for e in out:
            assert e.refs == (container if e.source_status[:4] in ("LOAD", "GTIN", "DISC") else booking)
            if e.refs == container:
                assert e.body["attributes"]["equipment"] == ["APZU4812090"]
    transport = got["tnt-300-request-transport.json"][0]
    assert transport.event_key == "dcsa:SMDG/LCL/EXCO:evt-trans-001-2026-01-20T12:30:00Z@2025-01-25T01:23:45Z"
    assert transport.occurred_at == datetime(2026, 1, 20, 12, 30, tzinfo=UTC)
    assert transport.body["location"] == {"code": "DEHAM", "name": "Sample Port Terminal"}
    call = transport.body["attributes"]["transportDetails"]["transportCall"]
    assert call["vesselTransport"]["vesselIMONumber"] == "1234567"
    eta = got["tnt-300-response-nextpage.json"][0]
    assert eta.occurred_at == datetime(2025, 2, 10, 1, 23, 45, tzinfo=UTC)  # when the estimate was issued
    assert eta.body["eta"] == "2026-01-20T10:15:00Z"
    assert eta.body["location"]["code"] == "ESBCN"


def test_300_iot_and_reefer_when_a_feed_maps_them(realdata: Path) -> None:
    ctx = overridden(**{"dcsa.iot": {"DRO": "exception.raised"}, "dcsa.reefer": {"MEAS": "shipment.in_transit"}})
    (door,) = valid(DCSA.parse(body(realdata, "tnt-300-request-iot.json"), ctx))
    assert (door.type, door.source_status, door.refs) == ("exception.raised", "DRO/ACT", {"load": ["APZU4812090"]})
    assert door.body["reason"] == {"code": "DRO"}
    assert door.body["attributes"]["iotEventTypeCode"] == "DETC"
    assert door.body["location"] == {"name": "Container Storage Area", "lat": 52.3676, "lon": 4.9041}
    (reefer,) = valid(DCSA.parse(body(realdata, "tnt-300-request-reefer.json"), ctx))
    assert reefer.refs == {"load": ["APZU4812090"]}
    assert reefer.body["attributes"]["reeferDetails"]["internalSetpointTemperature"] == -18.5


def test_the_same_event_in_another_envelope_has_the_same_id(realdata: Path, ctx: FeedContext) -> None:
    wrapped = orjson.loads(body(realdata, "tnt-300-request-shipment.json"))
    (one,) = valid(DCSA.parse(orjson.dumps(wrapped["events"][0]), ctx))
    (listed,) = valid(DCSA.parse(orjson.dumps(wrapped["events"]), ctx))
    (enveloped,) = valid(DCSA.parse(orjson.dumps(wrapped), ctx))
    assert (
        one.event_key
        == listed.event_key
        == enveloped.event_key
        == "dcsa:SMDG/LCL/EXCO:evt-ship-001@2025-01-23T01:23:45Z"
    )
    # 3.0 updates an event by re-sending its eventID: a new version is a new record.
    wrapped["events"][0]["eventUpdatedDateTime"] = "2025-01-24T00:00:00Z"
    (updated,) = valid(DCSA.parse(orjson.dumps(wrapped), ctx))
    assert updated.event_key == "dcsa:SMDG/LCL/EXCO:evt-ship-001@2025-01-24T00:00:00Z"


def test_ids_do_not_follow_the_mapped_type(realdata: Path, ctx: FeedContext) -> None:
    standard = valid(DCSA.parse(body(realdata, "tnt-300-response.json"), ctx))
    remapped = valid(
        DCSA.parse(
            body(realdata, "tnt-300-response.json"), overridden(**{"dcsa.transport": {"DEPA": "shipment.in_transit"}})
        )
    )
    assert [e.event_key for e in standard] == [e.event_key for e in remapped]
    assert [e.type for e in remapped][1] == "shipment.in_transit"


def test_spelled_out_30_codes(ctx: FeedContext) -> None:
    item = {
        "eventID": "e-1",
        "eventDateTime": "2026-02-01T06:00:00+01:00",
        "eventUpdatedDateTime": "2026-01-20T10:00:00Z",
        "eventClassification": {
            "eventType": "TRANSPORT",
            "eventClassifier": "ESTIMATED",
            "transportEventType": "ARRIVED",
        },
        "shipmentDetails": {
            "documentReference": {"type": "BOOKING", "reference": "BK-9"},
            "additionalDocumentReferences": [
                {"type": "TRANSPORT_DOCUMENT", "reference": "BL-9"},
                {"type": "INVOICE", "reference": "I-1"},
            ],
            "shipmentReferences": [{"typeCode": "PO", "reference": "PO-77"}, {"typeCode": "FF", "reference": "F-1"}],
        },
        "transportDetails": {"delayReasonCodes": ["WEA", "STR"], "changeRemark": "storm"},
    }
    (e,) = valid(parse({"events": [item]}, ctx))
    assert (e.type, e.source_status) == ("shipment.eta_updated", "ARRIVED/ESTIMATED")
    assert e.refs == {"shipment": ["BK-9"], "tracking_number": ["BL-9"], "customer_po": ["PO-77"]}
    assert e.body["eta"] == "2026-02-01T06:00:00+01:00"
    assert e.body["reason"] == {"code": "WEA", "text": "storm"}
    details = e.body["attributes"]["shipmentDetails"]
    assert details["additionalDocumentReferences"] == [{"type": "INVOICE", "reference": "I-1"}]
    assert details["shipmentReferences"] == [{"typeCode": "FF", "reference": "F-1"}]
    assert e.body["attributes"]["transportDetails"]["delayReasonCodes"] == ["WEA", "STR"]
