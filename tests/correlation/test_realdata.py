"""Correlation against public third-party data, read in place from ../shared/realdata (beside
the repository; skipped when absent). Nothing is copied into the repository.

a. pm4py's simulated order-management log (OCEL 1.0 CSV, GPL-3.0 data): orders, items and
   packages, where one package consolidates the items of several orders and one order's items
   leave in several packages. Every order's timeline is checked against the log's own object
   relations, computed here from the CSV without the application's graph code.
b. EasyPost API fixtures (MIT): an order with two shipments and their trackers; tracker status
   histories sent by tracking number before the shipments that bind the numbers (late binding)."""

import ast
import csv
import itertools
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory

ROOT = Path(__file__).resolve().parents[2]
REALDATA = (ROOT / "../shared/realdata").resolve()
OCEL_CSV = REALDATA / "ocel-pm4py-GPL3/tests/input_data/ocel/ocel_order_simulated.csv"
EASYPOST = REALDATA / "easypost-examples/official"

SYSTEMS = ("erp", "wms", "tms", "lastmile")
_feeds = itertools.count(1)


def _feeds_for(tag: str) -> dict[str, Any]:
    n = next(_feeds)
    return {s: FeedFactory(system=s, slug=f"{tag}-{n}-{s}") for s in SYSTEMS}


def _send(feeds: dict[str, Any], stream: list[tuple[str, dict[str, Any]]], *, window: int = 1000) -> None:
    """The stream in windows of `window` events, each window one message per system."""
    for start in range(0, len(stream), window):
        by_system: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for system, event in stream[start : start + window]:
            by_system[system].append(event)
        for system, events in by_system.items():
            message = message_receive(
                feed=feeds[system], body=orjson.dumps({"events": events}), content_type="application/json"
            )
            assert message_process(message_id=message.id) == "processed"
            message.refresh_from_db()
            assert (message.accepted, message.rejections) == (len(events), [])


def _timeline_keys(order: str) -> set[str]:
    return set(
        TimelineEntry.objects.filter(order__kind="order", order__value=order).values_list("event__event_key", flat=True)
    )


# --- a. OCEL order management --------------------------------------------------------------

# activity → (system, canonical type); refs are built per activity in _ocel_event.
OCEL_TYPES = {
    "place order": ("erp", "order.created"),
    "confirm order": ("erp", "order.released"),
    "payment reminder": ("erp", "order.changed"),
    "pay order": ("erp", "invoice.posted"),
    "pick item": ("wms", "pick.completed"),
    "item out of stock": ("wms", "inventory.short"),
    "reorder item": ("wms", "exception.raised"),
    "create package": ("wms", "pack.completed"),
    "send package": ("tms", "shipment.departed"),
    "package delivered": ("lastmile", "delivery.completed"),
    "failed delivery": ("lastmile", "delivery.attempted"),
}
REASONS = {
    "item out of stock": {"code": "OUT_OF_STOCK"},
    "reorder item": {"code": "REORDER", "text": "item reordered from the supplier"},
    "failed delivery": {"code": "DELIVERY_FAILED"},
}
STAGES = [
    "created",
    "released",
    "allocated",
    "picking",
    "picked",
    "packed",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "invoiced",
]

# The stage each activity implies under the mapping above (canonical-events.md §3).
ORDER_LEVEL = {"place order": "created", "confirm order": "released", "pick item": "picked", "create package": "packed"}
PACKAGE_LEVEL = {"send package": "in_transit", "package delivered": "delivered"}


class OcelLog:
    """The CSV as OCEL: each event with its activity, time and related objects by type."""

    def __init__(self, path: Path) -> None:
        self.events: list[dict[str, Any]] = []
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                self.events.append(
                    {
                        "eid": row["ocel:eid"].removesuffix(".0"),
                        "activity": row["ocel:activity"],
                        "time": row["ocel:timestamp"],
                        "orders": _objects(row["ocel:type:orders"]),
                        "items": _objects(row["ocel:type:items"]),
                        "packages": _objects(row["ocel:type:packages"]),
                        "weight": row["weight"],
                        "price": row["price"],
                    }
                )
        self.events.sort(key=lambda e: (e["time"], float(e["eid"])))
        self.items_of: dict[str, set[str]] = defaultdict(set)
        self.order_of: dict[str, str] = {}
        for e in self.events:
            if e["activity"] == "place order":
                (order,) = e["orders"]
                self.items_of[order].update(e["items"])
                self.order_of.update(dict.fromkeys(e["items"], order))
        self.packages_of: dict[str, set[str]] = defaultdict(set)
        self.orders_in: dict[str, set[str]] = defaultdict(set)
        for e in self.events:
            if e["activity"] == "create package":
                (package,) = e["packages"]
                for item in e["items"]:
                    self.packages_of[self.order_of[item]].add(package)
                    self.orders_in[package].add(self.order_of[item])

    def objects_of(self, order: str) -> set[str]:
        return {order} | self.items_of[order] | self.packages_of[order]

    def subset(self, orders: set[str]) -> list[dict[str, Any]]:
        """Every event touching these orders, their items or their packages."""
        objects = {obj for o in orders for obj in self.objects_of(o)}
        return [e for e in self.events if objects & {*e["orders"], *e["items"], *e["packages"]}]

    def expected_timelines(self, events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """The log's own answer, per order: the events related to the order, to one of its
        items, or to a package holding one of its items."""
        by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in events:
            for obj in {*e["orders"], *e["items"], *e["packages"]}:
                by_object[obj].append(e)
        out = {}
        for order in {o for e in events for o in e["orders"]}:
            mine = {e["eid"]: e for obj in self.objects_of(order) for e in by_object.get(obj, [])}
            out[order] = list(mine.values())
        return out

    def expected_stage(self, order: str, mine: list[dict[str, Any]]) -> tuple[str, bool]:
        """§3 by hand from the order's events: the furthest order-level stage, or the least
        advanced package once all packages have left; invoiced once paid; partial while the
        packages disagree."""
        acts = {e["activity"] for e in mine}
        package_rank: dict[str, int | None] = dict.fromkeys(self.packages_of[order])
        for e in mine:
            if e["activity"] in PACKAGE_LEVEL:
                rank = STAGES.index(PACKAGE_LEVEL[e["activity"]])
                (package,) = e["packages"]
                current = package_rank[package]
                package_rank[package] = rank if current is None else max(current, rank)
        order_level = max((STAGES.index(stage) for a, stage in ORDER_LEVEL.items() if a in acts), default=-1)
        ranks = [r if r is not None else -1 for r in package_rank.values()]
        least = min(ranks) if ranks else -1
        stage = "invoiced" if "pay order" in acts else STAGES[max(order_level, least)]
        return stage, len(set(ranks)) > 1


def _objects(cell: str) -> list[str]:
    cell = cell.strip()
    return list(ast.literal_eval(cell)) if cell else []


def _ocel_event(e: dict[str, Any], log: OcelLog) -> tuple[str, dict[str, Any]]:
    system, type_ = OCEL_TYPES[e["activity"]]
    activity = e["activity"]
    if activity in {"place order", "confirm order", "payment reminder", "pay order"}:
        refs: dict[str, Any] = {"order": e["orders"]}
    elif activity == "pick item":
        # The log relates items to orders only in "place order"; the WMS pick task knows its order.
        refs = {"warehouse_task": e["items"], "order": sorted({log.order_of[i] for i in e["items"]})}
    elif activity in {"item out of stock", "reorder item"}:
        refs = {"warehouse_task": e["items"]}
    elif activity == "create package":
        refs = {"shipment": e["packages"], "warehouse_task": e["items"]}  # shipment ↔ orders only through tasks
    else:
        refs = {"shipment": e["packages"]}
    event: dict[str, Any] = {
        "event_id": f"ocel-{e['eid']}",
        "type": type_,
        "occurred_at": e["time"].replace(" ", "T").removesuffix("Z") + "+00:00",
        "source_status": activity,
        "refs": refs,
        "attributes": {"weight": e["weight"], "price": e["price"]},
    }
    if activity in REASONS:
        event["reason"] = REASONS[activity]
    return system, event


@pytest.fixture(scope="module")
def ocel_log() -> OcelLog:
    if not OCEL_CSV.is_file():
        pytest.skip(f"real data not found: {OCEL_CSV}")
    return OcelLog(OCEL_CSV)


# The first ORDERS orders (990001…) and every event touching them, their items and packages:
# 300 orders are 3,430 events (~3 s on SQLite). OCEL_ORDERS=2000 runs the whole log (22,367
# events; ~19 s of ingestion on SQLite).
ORDERS = int(os.environ.get("OCEL_ORDERS", "300"))


@pytest.mark.django_db
def test_ocel_order_log_timelines_follow_the_logs_object_relations(ocel_log):
    log = ocel_log
    orders = {f"{990000 + n}" for n in range(1, ORDERS + 1)}
    assert orders <= log.items_of.keys()
    events = log.subset(orders)
    stream = [_ocel_event(e, log) for e in events]
    started = time.perf_counter()
    _send(_feeds_for("ocel"), stream)
    elapsed = time.perf_counter() - started
    print(f"\nOCEL: {len(stream)} events of {len(orders)} orders correlated in {elapsed:.1f}s")

    assert CanonicalEvent.objects.count() == len(stream)
    projections = {p.order_key: p for p in OrderProjection.objects.filter(order_key__in=orders)}
    assert projections.keys() == orders  # each order its own process: none merged, none lost
    expected = log.expected_timelines(events)
    actual: dict[str, set[str]] = defaultdict(set)
    for order, key in TimelineEntry.objects.filter(order__kind="order").values_list("order__value", "event__event_key"):
        actual[order].add(key)
    for order in sorted(orders):
        mine = expected[order]
        assert actual[order] == {f"ocel-{e['eid']}" for e in mine}, order
        projection = projections[order]
        assert projection.event_count == len(mine), order
        assert projection.warehouse_tasks == sorted(log.items_of[order]), order
        assert [s["id"] for s in projection.shipments] == sorted(log.packages_of[order]), order
        assert (projection.stage, projection.partial) == log.expected_stage(order, mine), order

    # Consolidation: a package holding the items of several orders is on each of their
    # timelines, while the orders stay apart (each keeps its own items and its own events).
    consolidated = [p for p, os in log.orders_in.items() if len(os & orders) > 1]
    placed = {f"ocel-{e['eid']}" for e in events if e["activity"] == "place order"}
    assert len(consolidated) > 50
    for package in consolidated:
        mine = sorted(log.orders_in[package] & orders)
        keys = {
            f"ocel-{e['eid']}"
            for e in events
            if package in e["packages"] and e["activity"] in {"create package", "send package"}
        }
        assert len(keys) == 2, package
        for order in mine:
            assert keys <= actual[order], (package, order)
        a, b = mine[:2]
        assert not (actual[a] & actual[b] & placed)  # never each other's "place order"
        assert not set(projections[a].warehouse_tasks) & set(projections[b].warehouse_tasks)
    # Late binding on real data: out-of-stock scans precede the pick that ties the item to its
    # order, yet every event of the subset ends on some order's timeline.
    assert not CanonicalEvent.objects.filter(matched=False).exists()


# --- b. EasyPost: order → shipments → trackers --------------------------------------------

# EasyPost tracker status (and detail) → canonical type.
TRACKER_TYPES = {
    "pre_transit": "shipment.tender_accepted",
    "in_transit": "shipment.in_transit",
    "out_for_delivery": "delivery.out_for_delivery",
    "delivered": "delivery.completed",
    "available_for_pickup": "delivery.attempted",
    "return_to_sender": "delivery.failed",
    "failure": "delivery.failed",
}
DETAIL_TYPES = {"arrived_at_facility": "shipment.arrived", "departed_facility": "shipment.departed"}


def _easypost(path: str) -> dict[str, Any]:
    file = EASYPOST / path
    if not file.is_file():
        pytest.skip(f"real data not found: {file}")
    data: dict[str, Any] = json.loads(file.read_text())
    return data


def _tracker_events(tracker: dict[str, Any], tracking_code: str) -> list[dict[str, Any]]:
    """One last-mile event per tracking detail, by tracking number only."""
    out = []
    for n, detail in enumerate(tracker["tracking_details"], 1):
        type_ = TRACKER_TYPES[detail["status"]]
        if detail["status"] == "in_transit":  # the detail says whether it arrived or departed
            type_ = DETAIL_TYPES.get(detail.get("status_detail") or "", type_)
        location = detail.get("tracking_location") or {}
        event: dict[str, Any] = {
            "event_id": f"{tracker['id']}-{n}",
            "type": type_,
            "occurred_at": detail["datetime"].replace("Z", "+00:00"),
            "source_status": "/".join(filter(None, [detail["status"], detail.get("status_detail")])),
            "refs": {"tracking_number": tracking_code},
            "attributes": {"message": detail["message"], "carrier": tracker["carrier"]},
        }
        if location.get("city"):
            event["location"] = {"name": ", ".join(filter(None, [location["city"], location.get("state")]))}
        if type_ == "delivery.completed" and tracker.get("signed_by"):
            event["pod"] = {"signed_by": tracker["signed_by"]}
        if type_ in {"delivery.attempted", "delivery.failed"}:
            event["reason"] = {"code": detail["status"]}
        out.append(event)
    return out


@pytest.mark.django_db
def test_easypost_order_with_two_tracked_shipments_binds_late_and_takes_the_least_advanced():
    order = _easypost("docs/responses/orders/orders-buy.json")
    # The order's own trackers are fresh (status "unknown", no tracking_details), so each of its
    # two shipments gets a real tracker.updated history from the webhook fixtures, re-keyed to
    # that shipment's tracking code: UPS ending delivered (with its delivered scan dated before
    # the in-transit scans), and FedEx still in transit.
    histories = [
        _easypost("guides/tracking-guide/json/tracking-webhook.json")["result"],
        _easypost("fixtures/event-body.json")["result"],
    ]
    shipments = order["shipments"]
    assert len(shipments) == 2
    for shipment in shipments:
        assert shipment["order_id"] == order["id"]
        assert shipment["tracker"]["tracking_code"] == shipment["tracking_code"]
        assert shipment["tracker"]["shipment_id"] == shipment["id"]

    feeds = _feeds_for("easypost")
    scans = [
        event
        for shipment, history in zip(shipments, histories, strict=True)
        for event in _tracker_events(history, shipment["tracking_code"])
    ]
    _send(feeds, [("lastmile", e) for e in scans])
    assert CanonicalEvent.objects.filter(matched=False).count() == len(scans)  # no shipment knows them yet

    erp_tms = [
        (
            "erp",
            {
                "event_id": f"{order['id']}-created",
                "type": "order.created",
                "occurred_at": order["created_at"].replace("Z", "+00:00"),
                "refs": {"order": order["id"]},
                "customer": order["to_address"]["name"],
            },
        ),
        *[
            (
                "tms",
                {
                    "event_id": f"{s['id']}-planned",
                    "type": "shipment.planned",
                    "occurred_at": s["created_at"].replace("Z", "+00:00"),
                    "source_status": s["status"],
                    "refs": {"order": order["id"], "shipment": s["id"], "tracking_number": s["tracking_code"]},
                    "attributes": {"tracker": s["tracker"]["id"], "service": s["selected_rate"]["service"]},
                },
            )
            for s in shipments
        ],
    ]
    _send(feeds, erp_tms)

    timeline = _timeline_keys(order["id"])
    assert {e["event_id"] for e in scans} <= timeline
    assert len(timeline) == len(scans) + 3
    assert not CanonicalEvent.objects.filter(matched=False).exists()
    projection = OrderProjection.objects.get(order_key=order["id"])
    assert [(s["id"], s["tracking_numbers"]) for s in projection.shipments] == sorted(
        (s["id"], [s["tracking_code"]]) for s in shipments
    )
    stages = {s["id"]: s["stage"] for s in projection.shipments}
    assert stages == {shipments[0]["id"]: "delivered", shipments[1]["id"]: "in_transit"}
    # The least advanced shipment sets the order's stage; the two disagree, so it is partial.
    assert (projection.stage, projection.partial) == ("in_transit", True)
    assert projection.pod is not None
    assert projection.pod["signed_by"] == histories[0]["signed_by"]
    assert projection.customer == order["to_address"]["name"]
    assert RawMessage.objects.filter(feed__slug__startswith="easypost-").count() == 3
