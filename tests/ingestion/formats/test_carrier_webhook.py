"""carrier-webhook: the EasyPost examples in place (webhooks, trackers, events, batch and
manifest webhooks, shipments, orders), AfterShip and Shippo shapes built from their docs,
deduplication across deliveries, tables and unreadable bodies."""

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, CodeBook, FeedContext

HOOK = FORMATS["carrier-webhook"]
EP = "easypost-examples/official"


def load(realdata: Path, name: str) -> bytes:
    return (realdata / EP / name).read_bytes()


def valid(outcomes: list[ValidEvent | Rejection]) -> list[ValidEvent]:
    assert all(isinstance(o, ValidEvent) for o in outcomes), [o for o in outcomes if isinstance(o, Rejection)]
    return [o for o in outcomes if isinstance(o, ValidEvent)]


def rejections(outcomes: list[ValidEvent | Rejection]) -> list[list[str]]:
    return [o.errors for o in outcomes if isinstance(o, Rejection)]


def parse(doc: Any, ctx: FeedContext) -> list[ValidEvent | Rejection]:
    return HOOK.parse(orjson.dumps(doc), ctx)


def overridden(**tables: dict[str, str | None]) -> FeedContext:
    book = CodeBook(list(HOOK.code_tables), {name: (1, entries) for name, entries in tables.items()})
    return FeedContext(codes=book, slug="t")


# --- EasyPost ----------------------------------------------------------------------------------


def test_tracker_updated_fixture_gives_one_event_per_detail(realdata: Path, ctx: FeedContext) -> None:
    out = valid(HOOK.parse(load(realdata, "fixtures/event-body.json"), ctx))
    assert [(e.type, e.source_status, e.occurred_at) for e in out] == [
        ("shipment.planned", "pre_transit/label_created", datetime(2024, 7, 31, 15, 0, tzinfo=UTC)),
        ("shipment.arrived", "in_transit/arrived_at_facility", datetime(2024, 7, 31, 19, 27, tzinfo=UTC)),
        ("shipment.arrived", "in_transit/arrived_at_facility", datetime(2024, 7, 31, 22, 35, tzinfo=UTC)),
        ("shipment.departed", "in_transit/departed_facility", datetime(2024, 8, 1, 14, 42, 13, tzinfo=UTC)),
        ("shipment.in_transit", "in_transit/unknown", datetime(2024, 8, 2, 2, 46, 19, tzinfo=UTC)),
        ("shipment.in_transit", "in_transit/unknown", datetime(2024, 8, 2, 18, 35, 20, tzinfo=UTC)),
        ("shipment.arrived", "in_transit/arrived_at_facility", datetime(2024, 8, 2, 18, 50, tzinfo=UTC)),
    ]
    assert all(e.refs == {"tracking_number": ["1"]} for e in out)
    assert all(e.event_key.startswith("easypost:") for e in out)
    assert len({e.event_key for e in out}) == 7
    # The tracker's estimate is stated with the newest scan only.
    assert [e.body.get("eta") for e in out] == [None] * 6 + ["2024-08-05T00:00:00Z"]
    assert out[0].body["location"] == {"name": "32837, US"}
    assert out[1].body["location"] == {"name": "ORLANDO, FL, 32809, US"}
    assert out[1].body["attributes"] == {
        "carrier": "FedEx",
        "tracker": "trk_1",
        "service": "FEDEX_GROUND",
        "public_url": "https://track.easypost.com/1",
        "is_return": False,
        "message": "Picked up",
        "carrier_code": "PU",
        "source": "FedEx",
        "tracking_location": {"city": "ORLANDO", "state": "FL", "country": "US", "zip": "32809"},
    }


def test_a_delivered_scan_dated_before_earlier_scans_is_kept_as_sent(realdata: Path, ctx: FeedContext) -> None:
    out = valid(HOOK.parse(load(realdata, "guides/tracking-guide/json/tracking-webhook.json"), ctx))
    assert [e.type for e in out] == [
        "shipment.planned",
        "shipment.in_transit",
        "shipment.in_transit",
        "shipment.in_transit",
        "delivery.out_for_delivery",
        "delivery.completed",
    ]
    delivered = out[-1]
    assert delivered.occurred_at == datetime(2014, 11, 19, 10, 51, 54, tzinfo=UTC)
    assert delivered.occurred_at < out[0].occurred_at  # as the carrier sent it
    assert delivered.body["pod"] == {"signed_by": "John Tester"}
    assert delivered.source_status == "delivered"
    # The newest scan by time (out for delivery, 11-24) carries the tracker's estimate.
    assert out[4].body["eta"] == "2014-11-27T00:00:00Z"
    assert "eta" not in delivered.body
    assert "pod" not in out[4].body
    assert "location" not in out[0].body  # every field of its tracking_location is null


def test_landing_page_webhook(realdata: Path, ctx: FeedContext) -> None:
    out = valid(HOOK.parse(load(realdata, "landing_pages/tracking_webhooks/tracking_webhook_response.json"), ctx))
    assert len(out) == 6
    assert out[-1].type == "delivery.completed"
    assert out[-1].occurred_at == datetime(2014, 8, 24, 15, 33, tzinfo=UTC)
    assert out[-1].body["eta"] == "2014-08-27T00:00:00Z"
    assert out[-1].body["attributes"]["tracker"] == "trk_Txyy1vaM"


def test_trackers_retrieve_create_and_list_give_the_same_events(realdata: Path, ctx: FeedContext) -> None:
    got = {
        name: valid(HOOK.parse(load(realdata, f"docs/responses/trackers/trackers-{name}.json"), ctx))
        for name in ("retrieve", "create", "list")
    }
    keys = {name: [e.event_key for e in out] for name, out in got.items()}
    assert keys["retrieve"] == keys["create"] == keys["list"]
    first, second = got["list"]
    assert (first.type, first.source_status, first.refs) == (
        "shipment.planned",
        "pre_transit/status_update",
        {"tracking_number": ["EZ1000000001"]},
    )
    assert second.body["location"] == {"name": "HOUSTON, TX, 77063"}
    assert second.body["eta"] == "2025-05-09T20:40:17Z"
    assert first.body["attributes"]["carrier"] == "USPS"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (
            "docs/responses/events/events-retrieve.json",
            "result: the EasyPost Event evt_ad2365c22d1511f0b5364ffbb3e7a1f1 (tracker.created) carries no result "
            "object; nothing to map (tracker webhooks carry the Tracker in result)",
        ),
        (
            "docs/responses/events/events-list.json",
            "result: the EasyPost Event evt_ad2365c22d1511f0b5364ffbb3e7a1f1 (tracker.created) carries no result "
            "object; nothing to map (tracker webhooks carry the Tracker in result)",
        ),
        (
            "guides/webhooks-guide/event/event_example.json",
            "result: the EasyPost Event evt_55a53eb2556b11ed8945059f515d2b6d (tracker.updated) carries no result "
            "object; nothing to map (tracker webhooks carry the Tracker in result)",
        ),
        (
            "guides/webhooks-guide/event/post_json_example.json",
            "result.object: the EasyPost Event evt_... (batch.created) carries a Batch, not a Tracker; this feed "
            "maps tracker webhooks (tracker.created, tracker.updated)",
        ),
        (
            "guides/batch-guide/json/batch-webhooks.json",
            "result.object: the EasyPost Event evt_... (batch.updated) carries a Batch, not a Tracker; this feed "
            "maps tracker webhooks (tracker.created, tracker.updated)",
        ),
        (
            "guides/manifest-guide/webhook_post_example.json",
            "result.object: the EasyPost Event evt_... (scan_form.created) carries a ScanForm, not a Tracker; this "
            "feed maps tracker webhooks (tracker.created, tracker.updated)",
        ),
    ],
)
def test_envelopes_without_a_tracker_are_one_clear_rejection(
    realdata: Path, ctx: FeedContext, name: str, error: str
) -> None:
    assert rejections(HOOK.parse(load(realdata, name), ctx)) == [[error]]


@pytest.mark.parametrize(
    "name",
    [
        "docs/responses/shipments/shipments-buy.json",
        "docs/responses/orders/orders-buy.json",
        "docs/responses/orders/orders-create.json",
    ],
)
def test_shipments_and_orders_whose_trackers_have_no_details_give_nothing(
    realdata: Path, ctx: FeedContext, name: str
) -> None:
    assert HOOK.parse(load(realdata, name), ctx) == []


def test_a_shipment_with_a_scanned_tracker(realdata: Path, ctx: FeedContext) -> None:
    shipment = orjson.loads(load(realdata, "docs/responses/shipments/shipments-buy.json"))
    tracker = orjson.loads(load(realdata, "docs/responses/trackers/trackers-retrieve.json"))
    shipment["tracker"]["tracking_details"] = tracker["tracking_details"]
    out = valid(parse(shipment, ctx))
    assert len(out) == 2
    # The EasyPost shipment id stays an attribute: it would otherwise claim the tracking number.
    assert out[0].refs == {"tracking_number": ["9434600208303109842228"]}
    assert out[0].body["attributes"]["easypost_shipment"] == "shp_40b6f049f00348b18de3804a26f7fd62"
    assert out[0].body["attributes"]["tracker"] == "trk_bebe7357cc7e4ebc9248bdd7191084af"
    order = orjson.loads(load(realdata, "docs/responses/orders/orders-buy.json"))
    order["shipments"][1]["tracker"]["tracking_details"] = tracker["tracking_details"][:1]
    (one,) = valid(parse(order, ctx))
    assert one.refs == {"tracking_number": ["9434600208303109842303"]}


def test_a_later_delivery_repeats_the_ids_of_the_scans_it_repeats(realdata: Path, ctx: FeedContext) -> None:
    later = orjson.loads(load(realdata, "fixtures/event-body.json"))
    earlier = copy.deepcopy(later)
    earlier["result"]["tracking_details"] = earlier["result"]["tracking_details"][:6]
    later["id"], later["created_at"] = "evt_2", "2024-08-02T20:00:00.000Z"  # a new delivery, a new Event id
    later["result"]["updated_at"] = "2024-08-02T20:00:00Z"
    first = [e.event_key for e in valid(parse(earlier, ctx))]
    second = [e.event_key for e in valid(parse(later, ctx))]
    assert len(first) == 6
    assert len(second) == 7
    assert second[:6] == first
    # A carrier rewording its message is still the same scan.
    later["result"]["tracking_details"][0]["message"] = "Label created"
    assert valid(parse(later, ctx))[0].event_key == first[0]
    # Another scan time is another scan.
    later["result"]["tracking_details"][0]["datetime"] = "2024-07-31T15:01:00Z"
    assert valid(parse(later, ctx))[0].event_key != first[0]


def test_ids_do_not_follow_the_mapped_type(realdata: Path, ctx: FeedContext) -> None:
    raw = load(realdata, "fixtures/event-body.json")
    standard = valid(HOOK.parse(raw, ctx))
    remapped = valid(HOOK.parse(raw, overridden(**{"carrier.easypost_detail": {"arrived_at_facility": None}})))
    assert [e.event_key for e in standard] == [e.event_key for e in remapped]
    assert remapped[1].type == "shipment.in_transit"  # the detail removed: its status decides


def tracker(*details: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "object": "Tracker",
        "id": "trk_x",
        "tracking_code": "TRK1",
        "carrier": "UPS",
        "tracking_details": list(details),
        **fields,
    }


def detail(status: str, when: str, status_detail: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"object": "TrackingDetail", "status": status, "status_detail": status_detail, "datetime": when, **fields}


def test_easypost_statuses_and_details(ctx: FeedContext) -> None:
    doc = tracker(
        detail("in_transit", "2024-01-02T10:00:00Z", "weather_delay", message="Severe weather"),
        detail("in_transit", "2024-01-03T10:00:00Z", "refused", message="Refused by recipient"),
        detail("return_to_sender", "2024-01-04T10:00:00Z", "return"),
        detail("available_for_pickup", "2024-01-05T10:00:00-08:00"),
        detail("cancelled", "2024-01-06T10:00:00Z"),
        detail("unknown", "2024-01-07T10:00:00Z"),
        detail("error", "2024-01-07T11:00:00Z"),
        detail("teleported", "2024-01-08T10:00:00Z"),
        detail("in_transit", "yesterday"),
        detail("in_transit", "2024-01-09T10:00:00"),
        "not a detail",
    )
    out = parse(doc, ctx)
    events = [o for o in out if isinstance(o, ValidEvent)]
    assert [(e.type, e.body.get("reason")) for e in events] == [
        ("shipment.delayed", {"code": "weather_delay", "text": "Severe weather"}),
        ("delivery.attempted", {"code": "refused", "text": "Refused by recipient"}),
        ("delivery.failed", {"code": "return"}),
        ("shipment.arrived", None),
        ("exception.raised", {"code": "cancelled"}),
        ("shipment.in_transit", None),
    ]
    assert events[3].offset_minutes == -480
    assert events[5].occurred_at == datetime(2024, 1, 9, 10, tzinfo=UTC)  # no offset: the feed's zone (UTC)
    assert rejections(out) == [
        [
            "tracking_details[7].source_status: code 'teleported' is not in code table carrier.easypost (version 0); "
            "map it in the feed's code tables, then replay the feed"
        ],
        ["tracking_details[8]: time 'yesterday' is not an ISO 8601 date-time (e.g. 2024-08-02T19:26:52Z)"],
        ["tracking_details[10]: want a TrackingDetail object"],
    ]


def test_a_time_without_offset_is_read_in_the_feeds_zone() -> None:
    ctx = FeedContext.standard(tz="America/New_York")
    (e,) = valid(parse(tracker(detail("in_transit", "2024-07-01T09:00:00")), ctx))
    assert e.offset_minutes == -240
    assert e.occurred_at == datetime(2024, 7, 1, 13, tzinfo=UTC)


def test_a_tracker_without_tracking_code_is_rejected(ctx: FeedContext) -> None:
    doc = tracker(detail("in_transit", "2024-01-02T10:00:00Z"), tracking_code=None)
    assert rejections(parse({"object": "Event", "id": "evt_1", "result": doc}, ctx)) == [
        ["result.tracking_code: required (the carrier's tracking number)"]
    ]
