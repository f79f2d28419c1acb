"""carrier-webhook: AfterShip and Shippo bodies built from their documentation, bodies that are
not tracker webhooks, times and the code tables."""

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from apps.events.taxonomy import EVENT_TYPES
from apps.ingestion.formats import FeedContext, UnreadableBody
from apps.ingestion.formats.base import IGNORE

from .test_carrier_webhook import HOOK, detail, parse, rejections, tracker, valid

# --- AfterShip (shape from AfterShip's webhook documentation) -----------------------------------

AFTERSHIP = {
    "event": "tracking_update",
    "event_id": "b3e1c5b0-7a8a-4d3f-9a1c-1d2e3f4a5b6c",
    "is_tracking_first_tag": False,
    "msg": {
        "id": "5b7658cec7c33c0e007de3c5",
        "tracking_number": "1234567890",
        "slug": "dhl",
        "tag": "Delivered",
        "subtag": "Delivered_001",
        "expected_delivery": "2024-08-05T17:00:00+02:00",
        "signed_by": "J. DOE",
        "order_id": "#1001",
        "title": "Order #1001",
        "checkpoints": [
            {
                "slug": "dhl",
                "location": "BUDAPEST, HUNGARY",
                "country_name": "HUNGARY",
                "country_iso3": "HUN",
                "message": "Shipment information received",
                "tag": "InfoReceived",
                "subtag": "InfoReceived_001",
                "subtag_message": "Info Received",
                "checkpoint_time": "2024-08-01T10:00:00",
                "raw_tag": "PU",
            },
            {
                "slug": "dhl",
                "city": "Vienna",
                "country_iso3": "AUT",
                "message": "Departed facility",
                "tag": "InTransit",
                "subtag": "InTransit_007",
                "checkpoint_time": "2024-08-02T08:00:00+02:00",
            },
            {
                "slug": "dhl",
                "city": "Berlin",
                "zip": "10115",
                "country_iso3": "DEU",
                "message": "Recipient not available",
                "tag": "AttemptFail",
                "subtag": "AttemptFail_003",
                "subtag_message": "Business closed",
                "checkpoint_time": "2024-08-03T15:00:00+02:00",
            },
            {
                "slug": "dhl",
                "city": "Berlin",
                "country_iso3": "DEU",
                "message": "Delivered",
                "tag": "Delivered",
                "subtag": "Delivered_001",
                "checkpoint_time": "2024-08-04T11:30:00+02:00",
            },
            {"tag": "Pending", "checkpoint_time": "2024-08-04T12:00:00+02:00"},
        ],
    },
    "ts": 1722764400,
}


def test_aftership_checkpoints() -> None:
    ctx = FeedContext.standard(tz="Europe/Budapest")
    out = valid(parse(AFTERSHIP, ctx))
    assert [(e.type, e.source_status) for e in out] == [
        ("shipment.planned", "InfoReceived/InfoReceived_001"),
        ("shipment.in_transit", "InTransit/InTransit_007"),
        ("delivery.attempted", "AttemptFail/AttemptFail_003"),
        ("delivery.completed", "Delivered/Delivered_001"),
    ]
    info, moving, attempt, delivered = out
    assert info.offset_minutes == 120
    assert info.occurred_at == datetime(2024, 8, 1, 8, tzinfo=UTC)
    assert moving.offset_minutes == 120
    assert info.refs == {"tracking_number": ["1234567890"]}
    assert info.body["location"] == {"name": "BUDAPEST, HUNGARY"}
    assert moving.body["location"] == {"name": "Vienna, AUT"}
    assert attempt.body["reason"] == {"code": "AttemptFail_003", "text": "Business closed"}
    assert delivered.body["pod"] == {"signed_by": "J. DOE"}
    assert delivered.body["eta"] == "2024-08-05T17:00:00+02:00"
    assert "eta" not in attempt.body
    assert info.body["attributes"]["order_id"] == "#1001"  # the storefront's id: not an order ref
    assert info.body["attributes"]["carrier"] == "dhl"
    assert all(e.event_key.startswith("aftership:") for e in out)
    again = copy.deepcopy(AFTERSHIP)
    again["event_id"], again["ts"] = "another-delivery", 1722800000
    assert [e.event_key for e in valid(parse(again, ctx))] == [e.event_key for e in out]


# --- Shippo (shape from Shippo's track_updated webhook documentation) ---------------------------

SHIPPO = {
    "event": "track_updated",
    "test": True,
    "data": {
        "carrier": "usps",
        "tracking_number": "9205590164917312751089",
        "eta": "2024-08-05T18:00:00Z",
        "servicelevel": {"token": "usps_priority", "name": "Priority Mail"},
        "metadata": "Order 1001",
        "tracking_status": {
            "object_id": "ts-4",
            "status": "DELIVERED",
            "status_details": "Your package has been delivered.",
            "status_date": "2024-08-04T16:05:00Z",
            "substatus": {"code": "delivered", "text": "Package has been delivered.", "action_required": False},
            "location": {"city": "Chicago", "state": "IL", "zip": "60611", "country": "US"},
        },
        "tracking_history": [
            {
                "object_id": "ts-1",
                "status": "PRE_TRANSIT",
                "status_details": "Shipping label created.",
                "status_date": "2024-08-01T09:00:00Z",
                "substatus": {
                    "code": "information_received",
                    "text": "Information received.",
                    "action_required": False,
                },
                "location": {"city": "San Francisco", "state": "CA", "zip": "94103", "country": "US"},
            },
            {
                "object_id": "ts-2",
                "status": "TRANSIT",
                "status_details": "Departed USPS facility.",
                "status_date": "2024-08-02T03:00:00Z",
                "substatus": {"code": "package_departed", "text": "Package departed.", "action_required": False},
                "location": {"city": "Oakland", "state": "CA", "zip": "94621", "country": "US"},
            },
            {
                "object_id": "ts-3",
                "status": "TRANSIT",
                "status_details": "Out for delivery.",
                "status_date": "2024-08-04T07:30:00Z",
                "substatus": {"code": "out_for_delivery", "text": "Out for delivery.", "action_required": False},
                "location": {"city": "Chicago", "state": "IL", "zip": "60611", "country": "US"},
            },
            {
                "object_id": "ts-4",
                "status": "DELIVERED",
                "status_details": "Your package has been delivered.",
                "status_date": "2024-08-04T16:05:00Z",
                "substatus": None,
                "location": {"city": "Chicago", "state": "IL", "zip": "60611", "country": "US"},
            },
        ],
    },
}


def test_shippo_history(ctx: FeedContext) -> None:
    out = valid(parse(SHIPPO, ctx))
    assert [(e.event_key, e.type, e.source_status) for e in out] == [
        ("shippo:ts-1", "shipment.planned", "PRE_TRANSIT/information_received"),
        ("shippo:ts-2", "shipment.departed", "TRANSIT/package_departed"),
        ("shippo:ts-3", "delivery.out_for_delivery", "TRANSIT/out_for_delivery"),
        ("shippo:ts-4", "delivery.completed", "DELIVERED"),
    ]
    assert out[3].occurred_at == datetime(2024, 8, 4, 16, 5, tzinfo=UTC)
    assert out[3].body["eta"] == "2024-08-05T18:00:00Z"
    assert out[1].body["location"] == {"name": "Oakland, CA, 94621, US"}
    assert out[1].body["attributes"] == {
        "carrier": "usps",
        "service": "Priority Mail",
        "metadata": "Order 1001",
        "message": "Departed USPS facility.",
        "substatus": "Package departed.",
        "action_required": False,
    }
    only_status = copy.deepcopy(SHIPPO)
    only_status["data"]["tracking_history"] = []
    (current,) = valid(parse(only_status, ctx))
    assert (current.event_key, current.type) == ("shippo:ts-4", "delivery.completed")


def test_shippo_history_without_ids_hashes_the_scan(ctx: FeedContext) -> None:
    doc = copy.deepcopy(SHIPPO)
    for entry in doc["data"]["tracking_history"]:
        entry.pop("object_id")
    keys = [e.event_key for e in valid(parse(doc, ctx))]
    assert all(k.startswith("shippo:") and len(k) == len("shippo:") + 32 for k in keys)
    assert keys == [e.event_key for e in valid(parse(doc, ctx))]


# --- bodies that are not tracker webhooks ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty body: want a tracker webhook as JSON"),
        (b"not json", "body is not JSON ("),
        (b"[1, 2]", "not a carrier tracker webhook: the body is an array"),
        (b'"tracker"', "not a carrier tracker webhook: the body is not an object"),
        (b'{"foo": 1, "bar": 2}', "not a carrier tracker webhook: an object with keys 'foo', 'bar'"),
        (b"{}", "not a carrier tracker webhook: an object with keys none"),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "JSON nested deeper than 64 levels"),
    ],
)
def test_unreadable_bodies(ctx: FeedContext, raw: bytes, message: str) -> None:
    with pytest.raises(UnreadableBody) as caught:
        HOOK.parse(raw, ctx)
    assert message in str(caught.value)


def test_another_easypost_object_is_a_rejection(ctx: FeedContext) -> None:
    assert rejections(parse({"object": "Address", "id": "adr_1"}, ctx)) == [
        ["object: an EasyPost 'Address', not a Tracker; this feed maps tracker webhooks"]
    ]


def test_every_time_keeps_its_offset(ctx: FeedContext) -> None:
    (e,) = valid(parse(tracker(detail("delivered", "2024-03-10T23:59:59.5+05:30"), signed_by="A"), ctx))
    assert e.occurred_at == datetime(2024, 3, 10, 23, 59, 59, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert e.offset_minutes == 330
    assert e.body["pod"] == {"signed_by": "A"}


def test_every_table_entry_is_a_canonical_type_or_ignore() -> None:
    for table in HOOK.code_tables:
        assert table.entries, table.name
        assert set(table.entries.values()) <= EVENT_TYPES | {IGNORE}, table.name
