"""One demo feed per standard partner format, each with a small sample an admin can dry-run
(feed page → onboarding's dry run, or `POST /api/v1/feeds/<slug>/dry-run/`) or upload as a file.
The samples are written for the demo (not copied from anywhere); `seed_demo` creates the feeds
and writes the samples to var/demo-samples/."""

from dataclasses import dataclass, field
from typing import Any

import orjson

ISA = "ISA*00*          *00*          *02*DEMOCARRIER    *ZZ*CONTROLTOWER   *261203*0900*U*00401*000000101*0*P*>~\n"
X12_214 = (
    ISA
    + "~\n".join(
        [
            "GS*QM*DEMOCARRIER*CONTROLTOWER*20261203*0900*101*X*004010",
            "ST*214*0001",
            "B10*PRO-DEMO-1*DEMO-SH-1*DMCR",
            "L11*DEMO-SO-1*OQ",
            "LX*1",
            "AT7*AF*NS***20261203*0815*UT",
            "MS1*CHICAGO*IL*US",
            "LX*2",
            "AT7*X6*NS***20261203*0850*UT",
            "MS1*GARY*IN*US",
            "SE*10*0001",
            "GE*1*101",
            "IEA*1*000000101",
        ]
    )
    + "~\n"
)

IFTSTA = (
    "UNA:+.? '\n"
    "UNB+UNOC:3+DEMOFORWARDER+CONTROLTOWER+261203:0900+DEMO0001'\n"
    "UNH+1+IFTSTA:D:00B:UN'\n"
    "BGM+23+DEMO-STATUS-1+9'\n"
    "RFF+BN:DEMO-SH-2'\n"
    "CNI+1+DEMO-SH-2'\n"
    "STS+1+24::6:Departure completed'\n"
    "DTM+334:202612030830:203'\n"
    "LOC+175+DEHAM:139:6:Hamburg'\n"
    "UNT+8+1'\n"
    "UNZ+1+DEMO0001'\n"
)

CSV = (
    "event_id,type,occurred_at,refs.order,refs.warehouse_task,source_status,lines\n"
    "demo-csv-1,pick.completed,2026-12-03T08:40:00+01:00,DEMO-SO-3,DEMO-WT-3,PICKED,A-1:2;B-7:1\n"
    "demo-csv-2,pack.completed,2026-12-03T08:55:00+01:00,DEMO-SO-3,DEMO-WT-3,PACKED,\n"
)

EPCIS: dict[str, Any] = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-12-03T09:00:00.000+01:00",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "eventID": "urn:uuid:3f1c2a4e-9d8b-4c2a-8e1f-0d6b5a4c3b21",
                "eventTime": "2026-12-03T07:45:00.000Z",
                "eventTimeZoneOffset": "+01:00",
                "epcList": ["urn:epc:id:sgtin:4012345.011111.1001"],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
                "bizTransactionList": [{"type": "po", "bizTransaction": "DEMO-PO-4"}],
            }
        ]
    },
}

DCSA: list[dict[str, Any]] = [
    {
        "eventID": "5e51e72c-d872-11ea-811c-0f8f10a32ea1",
        "eventType": "TRANSPORT",
        "eventClassifierCode": "ACT",
        "eventCreatedDateTime": "2026-12-03T08:10:00+01:00",
        "eventDateTime": "2026-12-03T08:00:00+01:00",
        "transportEventTypeCode": "ARRI",
        "documentReferences": [{"documentReferenceType": "BKG", "documentReferenceValue": "DEMO-SH-5"}],
        "transportCall": {
            "transportCallID": "8b64d20b-523b-4491-b2e5-32cfa5174eed",
            "modeOfTransport": "VESSEL",
            "UNLocationCode": "NLRTM",
            "facilityCode": "ADT",
            "facilityCodeListProvider": "SMDG",
        },
    }
]

WEBHOOK: dict[str, Any] = {
    "object": "Event",
    "description": "tracker.updated",
    "result": {
        "object": "Tracker",
        "id": "trk_demo0001",
        "tracking_code": "DEMO-1Z-6",
        "carrier": "UPS",
        "status": "out_for_delivery",
        "tracking_details": [
            {
                "object": "TrackingDetail",
                "status": "in_transit",
                "status_detail": "arrived_at_facility",
                "message": "Arrived at facility",
                "datetime": "2026-12-03T06:30:00Z",
                "tracking_location": {"city": "BERLIN", "country": "DE"},
            },
            {
                "object": "TrackingDetail",
                "status": "out_for_delivery",
                "message": "Out for delivery",
                "datetime": "2026-12-03T08:05:00Z",
                "tracking_location": {"city": "BERLIN", "country": "DE"},
            },
        ],
    },
}

CUSTOM_MAPPING: dict[str, Any] = {
    "version": 1,
    "events": "$.stops[*]",
    "fields": {
        "event_id": "stop_id",
        "occurred_at": "done_at",
        "type": {"path": "state", "table": "custom.stop_state"},
        "refs.delivery_run": "$.route",
        "refs.tracking_number": "parcel",
        "pod.signed_by": {"path": "signature", "optional": True},
    },
    "tables": {"custom.stop_state": {"DELIVERED": "delivery.completed", "FAILED": "delivery.attempted"}},
}
CUSTOM: dict[str, Any] = {
    "route": "DEMO-RUN-7",
    "stops": [
        {"stop_id": "s-701", "done_at": "2026-12-03T08:20:00+01:00", "state": "DELIVERED", "parcel": "DEMO-1Z-7",
         "signature": "M. Weber"},
    ],
}  # fmt: skip


@dataclass(frozen=True)
class FormatSample:
    fmt: str
    slug: str
    partner: str
    system: str
    filename: str
    content_type: str
    body: bytes
    mapping: dict[str, Any] = field(default_factory=dict)


FORMAT_SAMPLES: tuple[FormatSample, ...] = (
    FormatSample("canonical-csv", "demo-csv", "Nordlager WMS export", "wms", "nordlager.csv", "text/csv", CSV.encode()),
    FormatSample("x12", "demo-x12", "Midwest Freight (EDI 214)", "tms", "midwest-214.edi", "application/edi-x12",
                 X12_214.encode()),
    FormatSample("edifact", "demo-edifact", "Hanse Forwarding (IFTSTA)", "tms", "hanse-iftsta.edi",
                 "application/edifact", IFTSTA.encode()),
    FormatSample("epcis", "demo-epcis", "Brandwerk (GS1 EPCIS)", "wms", "brandwerk-epcis.jsonld",
                 "application/ld+json", orjson.dumps(EPCIS)),
    FormatSample("dcsa-tnt", "demo-dcsa", "Blue Ocean Line (DCSA T&T)", "tms", "blueocean-tnt.json",
                 "application/json", orjson.dumps(DCSA)),
    FormatSample("carrier-webhook", "demo-webhook", "Parcel tracker (EasyPost)", "lastmile", "tracker-updated.json",
                 "application/json", orjson.dumps(WEBHOOK)),
    FormatSample("custom-json", "demo-custom", "CityCourier (own JSON)", "lastmile", "citycourier.json",
                 "application/json", orjson.dumps(CUSTOM), CUSTOM_MAPPING),
)  # fmt: skip
