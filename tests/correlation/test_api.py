"""The lookup API of http-api.md "Looking things up": shapes, status codes, search by any id,
the timeline's order and `via`, and a constant number of queries however long the timeline."""

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest
from django.test import Client

from apps.accounts.services import api_token_create
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, UserFactory

T = "2026-11-25T{:02d}:00:00+00:00".format
_ids = itertools.count(1)


@pytest.fixture
def api(client: Client, user_token: str) -> Callable[..., Any]:
    """GET with an ops lead's API token."""

    def get(path: str, **params: str) -> Any:
        return client.get(f"/api/v1/{path}", params, HTTP_AUTHORIZATION=f"Token {user_token}")

    return get


def send(world: Any, system: str, events: list[dict[str, Any]]) -> list[str]:
    """Several events in one message to the world's feed of `system`."""
    for e in events:
        e.setdefault("event_id", f"{system}-api-{next(_ids)}")
    message = message_receive(
        feed=world.feeds[system], body=orjson.dumps({"events": events}), content_type="application/json"
    )
    message_process(message_id=message.id)
    return [e["event_id"] for e in events]


def ev(type_: str, refs: dict[str, Any], at: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "occurred_at": at, "refs": refs, **extra}


def build_order(world: Any) -> dict[str, str]:
    """SO-1 with every kind of id: PO, invoice, task, shipment, tracking number, LPN, run — and a
    last-mile attempt by tracking number that arrives before the shipment binding it."""
    keys = {}
    (keys["attempt"],) = send(
        world,
        "lastmile",
        [
            ev(
                "delivery.attempted",
                {"tracking_number": "1Z99"},
                "2026-11-25T15:30:00+01:00",
                reason={"code": "CUSTOMER_ABSENT", "text": "Nobody home"},
                eta="2026-11-27T09:00:00+00:00",
                location={"code": "DEPOT-9"},
            )
        ],
    )
    (keys["created"],) = send(
        world,
        "erp",
        [
            ev(
                "order.created",
                {"order": "SO-1", "customer_po": "PO-77"},
                T(8),
                customer="Acme Retail",
                service_level="express",
                promised_by="2026-11-27T18:00:00+00:00",
                source_status="OPEN",
            )
        ],
    )
    keys["picked"], keys["loaded"] = send(
        world,
        "wms",
        [
            ev("pick.completed", {"order": "SO-1", "warehouse_task": "WT-5"}, T(9), source_status="PICKED"),
            ev("shipment.loaded", {"shipment": "SH-7", "warehouse_task": "WT-5", "lpn": "LPN-3"}, T(11)),
        ],
    )
    (keys["planned"],) = send(
        world, "tms", [ev("shipment.planned", {"order": "SO-1", "shipment": "SH-7", "tracking_number": "1Z99"}, T(10))]
    )
    keys["run"], keys["dispatched"] = send(
        world,
        "lastmile",
        [
            ev("run.planned", {"delivery_run": "R-9", "shipment": ["SH-7", "SH-8"]}, T(12)),
            ev("run.dispatched", {"delivery_run": "R-9"}, T(13)),
        ],
    )
    (keys["invoiced"],) = send(world, "erp", [ev("invoice.created", {"order": "SO-1", "invoice": "INV-3"}, T(16))])
    send(world, "tms", [ev("shipment.planned", {"order": "SO-2", "shipment": "SH-8"}, T(10))])
    return keys


# --- authentication and permissions ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["search/?q=SO-1", "orders/SO-1/", "orders/SO-1/timeline/"])
def test_lookup_needs_credentials_and_a_role(client, path):
    assert client.get(f"/api/v1/{path}").status_code == 401
    assert client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION="Token ctu_not-a-token").status_code == 401
    nobody = api_token_create(user=UserFactory())  # a user without any role
    assert client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Token {nobody}").status_code == 403
    feed = FeedFactory()  # a feed's token is not a user's
    assert client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Bearer {feed.credentials.token}").status_code == 401
    for role in ("cs_agent", "ops_lead", "finance", "admin"):
        token = api_token_create(user=UserFactory(role=role))
        assert client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Token {token}").status_code in {200, 404}


def test_an_unknown_order_is_404(world, api):
    assert api("orders/SO-404/").status_code == 404
    assert api("orders/SO-404/timeline/").status_code == 404


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "kind", "orders"),
    [
        ("SO-1", "order", ["SO-1"]),
        ("PO-77", "customer_po", ["SO-1"]),
        ("INV-3", "invoice", ["SO-1"]),
        ("WT-5", "warehouse_task", ["SO-1"]),
        ("SH-7", "shipment", ["SO-1"]),
        ("1Z99", "tracking_number", ["SO-1"]),
        ("LPN-3", "lpn", ["SO-1"]),
        ("R-9", "delivery_run", ["SO-1", "SO-2"]),  # the run carries both orders' shipments
        ("  1Z99\t", "tracking_number", ["SO-1"]),  # compared after trimming (§2 rule 5)
    ],
)
def test_search_by_any_id_leads_to_the_order(world, api, q, kind, orders):
    build_order(world)
    response = api("search/", q=q)
    assert response.status_code == 200
    assert response.json() == {
        "results": [{"kind": kind, "id": q.strip(), "orders": orders, "orders_total": len(orders)}]
    }


def test_search_for_nothing_or_an_unknown_id_finds_nothing(world, api):
    build_order(world)
    assert api("search/", q="NOPE").json() == {"results": []}
    assert api("search/", q="  ").json() == {"results": []}
    assert api("search/").json() == {"results": []}
    assert api("search/", q="1z99").json() == {"results": []}  # exact, not case-folded


def test_search_lists_every_kind_an_id_has(world, api):
    send(world, "erp", [ev("order.created", {"order": "X-1"}, T(1))])
    send(world, "tms", [ev("shipment.planned", {"order": "SO-5", "shipment": "X-1"}, T(2))])
    results = api("search/", q="X-1").json()["results"]
    assert sorted((r["kind"], r["orders"]) for r in results) == [("order", ["X-1"]), ("shipment", ["SO-5"])]


def test_an_unmatched_id_is_found_without_orders(world, api):
    send(world, "lastmile", [ev("delivery.completed", {"tracking_number": "1Z-LOST"}, T(5))])
    assert api("search/", q="1Z-LOST").json() == {
        "results": [{"kind": "tracking_number", "id": "1Z-LOST", "orders": [], "orders_total": 0}]
    }


# --- the order -------------------------------------------------------------------------------


def _rfc3339(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, value
    return parsed


def test_order_shape(world, api):
    build_order(world)
    response = api("orders/SO-1/")
    assert response.status_code == 200
    body = response.json()
    contract = {
        "order",
        "stage",
        "partial",
        "customer",
        "service_level",
        "promised_by",
        "eta",
        "systems",
        "shipments",
        "warehouse_tasks",
        "open_exceptions",
        "invoice_hold",
    }
    assert contract <= body.keys()
    assert body["order"] == "SO-1"
    assert body["stage"] == "shipped"  # loaded; the attempt implies no stage
    assert body["partial"] is False
    assert (body["customer"], body["service_level"]) == ("Acme Retail", "express")
    assert _rfc3339(body["promised_by"]) == _rfc3339("2026-11-27T18:00:00+00:00")
    assert _rfc3339(body["eta"]) == _rfc3339("2026-11-27T09:00:00+00:00")
    assert set(body["systems"]) == {"erp", "wms", "tms", "lastmile"}
    assert body["systems"]["erp"]["type"] == "invoice.created"
    assert body["systems"]["wms"]["type"] == "shipment.loaded"
    assert body["systems"]["tms"]["type"] == "shipment.planned"
    assert body["systems"]["lastmile"]["type"] == "delivery.attempted"
    for view in body["systems"].values():
        _rfc3339(view["occurred_at"])
    assert body["shipments"] == [
        {
            "id": "SH-7",
            "stage": "shipped",
            "tracking_numbers": ["1Z99"],
            "lpns": ["LPN-3"],
            "delivery_runs": ["R-9"],
        }
    ]
    assert body["warehouse_tasks"] == ["WT-5"]
    assert isinstance(body["open_exceptions"], int)


def test_a_silent_system_is_null(world, api):
    send(world, "erp", [ev("order.created", {"order": "SO-3"}, T(1))])
    systems = api("orders/SO-3/").json()["systems"]
    assert systems["erp"]["type"] == "order.created"
    assert systems["wms"] is None
    assert systems["tms"] is None
    assert systems["lastmile"] is None


# --- the timeline ----------------------------------------------------------------------------


def test_timeline_shape_order_and_via(world, api):
    keys = build_order(world)
    response = api("orders/SO-1/timeline/")
    assert response.status_code == 200
    body = response.json()
    assert body["order"] == "SO-1"
    events = body["events"]
    by_key = {e["event_id"]: e for e in events}
    assert set(by_key) == set(keys.values())
    for e in events:
        assert {"type", "occurred_at", "received_at", "system", "feed", "event_id", "refs", "via"} <= e.keys()
        _rfc3339(e["occurred_at"])
        _rfc3339(e["received_at"])
        assert e["feed"] == world.feeds[e["system"]].slug
    times = [(_rfc3339(e["occurred_at"]), _rfc3339(e["received_at"])) for e in events]
    assert times == sorted(times)

    attempt = by_key[keys["attempt"]]
    assert attempt["reason"] == {"code": "CUSTOMER_ABSENT", "text": "Nobody home"}
    assert attempt["location"] == {"code": "DEPOT-9"}
    assert _rfc3339(attempt["eta"]) == _rfc3339("2026-11-27T09:00:00+00:00")
    assert _rfc3339(attempt["occurred_at"]) == _rfc3339("2026-11-25T14:30:00+00:00")
    assert by_key[keys["created"]]["source_status"] == "OPEN"
    assert "reason" not in by_key[keys["created"]]

    # via: why each event is on this order.
    assert by_key[keys["created"]]["via"]["kind"] == "order"
    assert by_key[keys["created"]]["via"]["established_by"] is None
    # The attempt named only 1Z99; the shipment.planned that came later bound it to SO-1.
    via = attempt["via"]
    assert (via["kind"], via["id"]) == ("tracking_number", "1Z99")
    assert via["established_by"] == {
        "event_id": keys["planned"],
        "feed": world.feeds["tms"].slug,
        "type": "shipment.planned",
    }
    assert "1Z99" in via["explanation"]
    assert "SO-1" in via["explanation"]
    # A run-level event joins through the run that carries the order's shipment.
    via = by_key[keys["dispatched"]]["via"]
    assert (via["kind"], via["id"]) == ("delivery_run", "R-9")
    assert via["established_by"]["event_id"] == keys["run"]
    assert by_key[keys["loaded"]]["via"]["kind"] in {"warehouse_task", "shipment", "lpn"}


def test_timeline_ties_on_occurred_at_are_ordered_by_received_at(world, api):
    send(world, "erp", [ev("order.created", {"order": "SO-4"}, T(1))])
    later = send(world, "wms", [ev("pick.completed", {"order": "SO-4", "warehouse_task": "W-2"}, T(5))])
    earlier = send(world, "wms", [ev("pick.started", {"order": "SO-4", "warehouse_task": "W-1"}, T(3))])
    tie = send(world, "erp", [ev("order.changed", {"order": "SO-4"}, T(5))])
    keys = [e["event_id"] for e in api("orders/SO-4/timeline/").json()["events"]]
    assert keys[1:] == [*earlier, *later, *tie]


# --- queries ---------------------------------------------------------------------------------


def big_order(world: Any, order: str, shipments: int, scans: int) -> None:
    """An order in `shipments` shipments, each with a tracking number, an LPN, a run and
    `scans` last-mile scans by tracking number: many events reached through many paths."""
    send(world, "erp", [ev("order.created", {"order": order, "customer_po": f"PO-{order}"}, T(1))])
    for n in range(shipments):
        sh, tn = f"SH-{order}-{n}", f"TN-{order}-{n}"
        send(
            world,
            "wms",
            [
                ev("pick.completed", {"order": order, "warehouse_task": f"WT-{order}-{n}"}, T(2)),
                ev(
                    "pack.completed",
                    {"warehouse_task": f"WT-{order}-{n}", "shipment": sh, "lpn": f"LPN-{order}-{n}"},
                    T(3),
                ),
            ],
        )
        send(
            world,
            "tms",
            [
                ev("shipment.planned", {"order": order, "shipment": sh, "tracking_number": tn}, T(4)),
                ev("shipment.departed", {"shipment": sh}, T(5)),
            ],
        )
        send(
            world,
            "lastmile",
            [
                ev("run.planned", {"delivery_run": f"R-{order}-{n}", "shipment": sh}, T(6)),
                ev("run.dispatched", {"delivery_run": f"R-{order}-{n}"}, T(6)),
                *[
                    ev("delivery.eta_updated", {"tracking_number": tn}, f"2026-11-25T07:{m:02d}:00+00:00")
                    for m in range(scans)
                ],
            ],
        )


def test_order_and_timeline_take_a_fixed_number_of_queries(world, api, django_assert_max_num_queries):
    big_order(world, "SO-SMALL", shipments=1, scans=1)
    big_order(world, "SO-BIG", shipments=3, scans=11)
    responses = {}
    counts = {}
    # The token and the user's permissions, the projection (+ its open exceptions count and its
    # invoice hold), (the timeline in one query).
    for order in ("SO-SMALL", "SO-BIG"):
        for path, most in ((f"orders/{order}/", 6), (f"orders/{order}/timeline/", 5)):
            with django_assert_max_num_queries(most) as captured:
                responses[path] = api(path)
            assert responses[path].status_code == 200
            counts[path] = len(captured.captured_queries)
    assert len(responses["orders/SO-BIG/timeline/"].json()["events"]) >= 50
    assert len(responses["orders/SO-BIG/"].json()["shipments"]) == 3
    # No N+1: a timeline of 52 events costs what a timeline of 8 costs.
    assert counts["orders/SO-BIG/timeline/"] == counts["orders/SO-SMALL/timeline/"]
    assert counts["orders/SO-BIG/"] == counts["orders/SO-SMALL/"]
