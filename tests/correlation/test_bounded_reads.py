"""Reads that grew with the store are bounded: an order's timeline is read a window at a time
(API, order page, exception panel), a search hit lists a page of its orders, the big lists stop
counting at a cap, and the unmatched filter by id alone uses the (kind, value) index."""

import itertools
import re
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.services import api_token_create
from apps.common import paginators
from apps.correlation import views as correlation_views
from apps.correlation.selectors import TIMELINE_LIMIT, unmatched_event_list
from apps.events.models import CanonicalEvent, EventRef
from apps.events.taxonomy import RefKind
from apps.exceptions.models import ExceptionCase
from apps.exceptions.selectors import exception_order_context
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import UserFactory
from tests.workers import needs_postgres

from .test_pages import DASH, text

_ids = itertools.count(1)


@pytest.fixture
def api(client: Client, db: None) -> Callable[..., Any]:
    token = api_token_create(user=UserFactory(role="ops_lead"))

    def get(path: str, **params: Any) -> Any:
        url = path if path.startswith("http") else f"/api/v1/{path}"
        return client.get(url, params, HTTP_AUTHORIZATION=f"Token {token}")

    return get


@pytest.fixture
def cs(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(role="cs_agent"))
    return client


def send(world: Any, system: str, events: list[dict[str, Any]]) -> None:
    """Several events in one message (one batch)."""
    for e in events:
        e.setdefault("event_id", f"{system}-bounded-{next(_ids)}")
    body = orjson.dumps({"events": events})
    message = message_receive(feed=world.feeds[system], body=body, content_type="application/json")
    message_process(message_id=message.id)


def eta_updates(n: int, order: str = "SO-1") -> list[dict[str, Any]]:
    return [
        {
            "type": "delivery.eta_updated",
            "occurred_at": f"2026-11-25T{10 + m // 60:02d}:{m % 60:02d}:00+00:00",
            "refs": {"order": order},
            "eta": "2026-11-27T09:00:00+00:00",
        }
        for m in range(n)
    ]


def long_order(world: Any, updates: int) -> None:
    """SO-1: created by the ERP first, then `updates` ETA updates from the last mile."""
    send(
        world, "erp", [{"type": "order.created", "occurred_at": "2026-11-25T08:00:00+00:00", "refs": {"order": "SO-1"}}]
    )
    send(world, "lastmile", eta_updates(updates))


def event_ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in events]


# --- the timeline API ------------------------------------------------------------------------------


def test_the_timeline_api_pages_with_a_cursor_and_loses_no_event(world, api):
    long_order(world, 6)
    whole = world.timeline("SO-1")
    first = api("orders/SO-1/timeline/", limit=3).json()
    assert set(first) == {"order", "events", "next"}
    assert event_ids(first["events"]) == whole[:3]  # oldest first, as the contract orders them
    second = api(first["next"]).json()
    assert event_ids(second["events"]) == whole[3:6]
    third = api(second["next"]).json()
    assert (event_ids(third["events"]), third["next"]) == (whole[6:], None)


def test_the_timeline_api_answers_at_most_its_default_limit(world, api):
    long_order(world, TIMELINE_LIMIT)  # one more event than the default window, with the creation
    body = api("orders/SO-1/timeline/").json()
    assert len(body["events"]) == TIMELINE_LIMIT == 500
    assert body["next"] is not None
    rest = api(body["next"]).json()
    assert (len(rest["events"]), rest["next"]) == (1, None)


def test_the_timeline_api_refuses_a_bad_limit_or_cursor(world, api):
    long_order(world, 1)
    assert api("orders/SO-1/timeline/", limit=1001).status_code == 400
    assert api("orders/SO-1/timeline/", limit=0).status_code == 400
    response = api("orders/SO-1/timeline/", after="not-a-cursor")
    assert response.status_code == 400
    assert "after" in response.json()


def test_the_timeline_is_read_with_a_limit_in_sql(world, api):
    long_order(world, 3)
    with CaptureQueriesContext(connection) as captured:
        api("orders/SO-1/timeline/", limit=2)
    [query] = [q["sql"] for q in captured.captured_queries if "correlation_timelineentry" in q["sql"]]
    assert "LIMIT 3" in query  # the window and one more, to know whether there is a next


# --- the order page ----------------------------------------------------------------------------


def test_the_order_page_shows_the_newest_events_and_fetches_older_ones(world, cs, monkeypatch):
    monkeypatch.setattr(correlation_views, "ORDER_PAGE_EVENTS", 3)
    long_order(world, 5)
    whole = world.timeline("SO-1")  # the creation, then five updates
    page = cs.get(reverse("order-detail", args=["SO-1"]))
    html = page.content.decode()
    for key in whole[-3:]:
        assert key in html
    for key in whole[:3]:
        assert key not in html
    assert "newest 3 of 6" in text(page)
    # The ERP's only event is not in the window: its card still says what stage it reported.
    erp_card = re.search(r'data-system="erp".*?</section>', html, re.S)
    assert erp_card is not None
    assert "stage-created" in erp_card[0]

    older = re.search(r'hx-get="([^"]+before=[^"]+)"', html)
    assert older is not None
    more = cs.get(older[1].replace("&amp;", "&"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="events-more")
    fragment = more.content.decode()
    assert "<html" not in fragment
    assert [key for key in whole if key in fragment] == whole[:3]
    assert 'id="events-more"' not in fragment  # nothing older than the creation

    no_js = cs.get(older[1].replace("&amp;", "&"))  # the link without htmx: a whole page of older events
    assert "older events, newest first" in text(no_js)
    assert "Back to the newest events" in text(no_js)


# --- the exception panel -----------------------------------------------------------------------


def test_the_exception_panel_reads_only_the_events_it_shows(world):
    long_order(world, 8)
    send(
        world,
        "lastmile",
        [
            {
                "type": "delivery.attempted",
                "occurred_at": "2026-11-25T12:00:00+00:00",
                "refs": {"order": "SO-1"},
                "reason": {"code": "CUSTOMER_ABSENT"},
            }
        ],
    )
    case = ExceptionCase.objects.select_related("order").get(order__value="SO-1")
    with CaptureQueriesContext(connection) as captured:
        around = exception_order_context(case=case)
    assert event_ids(around["events"]) == list(reversed(world.timeline("SO-1")))[:5]  # newest first
    [query] = [q["sql"] for q in captured.captured_queries if "correlation_timelineentry" in q["sql"]]
    assert "LIMIT 6" in query


# --- search ------------------------------------------------------------------------------------


@pytest.fixture
def busy_run(world: Any) -> list[str]:
    """Run R-1 carries the shipments of 55 orders."""
    orders = [f"SO-{n:03d}" for n in range(1, 56)]
    send(
        world,
        "tms",
        [
            {
                "type": "shipment.planned",
                "occurred_at": "2026-11-25T09:00:00+00:00",
                "refs": {"order": o, "shipment": f"SH-{o}"},
            }
            for o in orders
        ],
    )
    send(
        world,
        "lastmile",
        [
            {
                "type": "run.planned",
                "occurred_at": "2026-11-25T10:00:00+00:00",
                "refs": {"delivery_run": "R-1", "shipment": [f"SH-{o}" for o in orders]},
            }
        ],
    )
    return orders


def test_a_search_hit_lists_a_page_of_its_orders_and_counts_them_all(api, busy_run):
    [hit] = api("search/", q="R-1").json()["results"]
    assert (hit["kind"], hit["orders"], hit["orders_total"]) == ("delivery_run", busy_run[:50], 55)
    [rest] = api("search/", q="R-1", orders_page=2).json()["results"]
    assert (rest["orders"], rest["orders_total"]) == (busy_run[50:], 55)
    assert api("search/", q="R-1", orders_page="x").status_code == 400


def test_the_search_page_says_how_many_orders_it_does_not_list(cs, busy_run):
    page = text(cs.get(reverse("search"), {"q": "R-1"}))
    assert "55 orders share this id" in page
    assert f"orders 1{DASH}50 of 55" in page
    assert busy_run[49] in page
    assert busy_run[50] not in page
    following = text(cs.get(reverse("search"), {"q": "R-1", "orders_page": "2"}))
    assert busy_run[50] in following
    assert "Previous orders" in following


# --- counts that stop at a cap -----------------------------------------------------------------


def scans(world: Any, n: int) -> None:
    send(
        world,
        "lastmile",
        [
            {
                "type": "delivery.completed",
                "occurred_at": f"2026-11-25T10:{m:02d}:00+00:00",
                "refs": {"tracking_number": f"1Z-{m}"},
            }
            for m in range(n)
        ],
    )


def test_a_big_list_api_stops_counting_at_the_cap_and_still_pages_to_the_end(world, api, monkeypatch):
    monkeypatch.setattr(paginators, "COUNT_CAP", 5)
    scans(world, 8)
    with CaptureQueriesContext(connection) as captured:
        page = api("unmatched-events/", page_size=3).json()
    assert (page["count"], page["count_capped"], len(page["results"])) == (5, True, 3)
    [count] = [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"]]
    assert "LIMIT 6" in count  # the cap and one more, never the whole table
    seen = [e["event_id"] for e in page["results"]]
    while page["next"]:
        page = api(page["next"]).json()
        seen += [e["event_id"] for e in page["results"]]
    assert len(seen) == len(set(seen)) == 8  # every page, past the cap too

    monkeypatch.setattr(paginators, "COUNT_CAP", 8)
    exact = api("unmatched-events/", page_size=3).json()
    assert set(exact) == {"count", "next", "previous", "results"}  # the contract's shape up to the cap
    assert exact["count"] == 8


def test_a_big_list_page_says_ten_thousand_plus(world, cs, monkeypatch):
    monkeypatch.setattr(paginators, "COUNT_CAP", 5)
    scans(world, 8)
    page = text(cs.get(reverse("unmatched")))
    assert f"1{DASH}8 of 5+ events" in page
    assert "Page 1 of" not in page  # how many pages is not known past the cap


# --- the unmatched filter by id alone ------------------------------------------------------------


@needs_postgres
def test_the_unmatched_filter_by_id_alone_probes_the_kind_value_index(world):
    scans(world, 1)
    event = CanonicalEvent.objects.get()
    kinds = list(RefKind.values)
    EventRef.objects.bulk_create(
        EventRef(event_id=event.id, kind=kinds[i % len(kinds)], value=f"V-{i}") for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_eventref")
    sql, params = unmatched_event_list(ref="1Z-0").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    ref_scans = [node for node in _nodes(plan[0]["Plan"]) if node.get("Relation Name") == "events_eventref"]
    assert ref_scans, plan
    # Searched on both columns (kind = ANY(every kind) AND value = …), not a whole-index scan on value.
    assert all("kind" in node.get("Index Cond", "") for node in ref_scans), ref_scans
    assert [e.event_key for e in unmatched_event_list(ref="1Z-0")] == [event.event_key]


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _nodes(child))]
