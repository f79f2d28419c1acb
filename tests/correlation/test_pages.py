"""The order lookup pages: search by any id, the order page, unmatched events."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

DASH = "\N{EN DASH}"  # the pager separates row numbers with an en dash
T = "2026-11-25T{:02d}:00:00+00:00".format


@pytest.fixture
def login(db: None) -> Callable[[str], Client]:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(UserFactory(role=role))
        return client

    return make


@pytest.fixture
def cs(login: Callable[[str], Client]) -> Client:
    return login("cs_agent")


def build_order(world: Any, *, last_mile: bool = False) -> None:
    """SO-1: created by the ERP, picked, shipped in SH-7 (tracking 1Z99); the last mile only if asked."""
    world.send(
        "erp",
        "order.created",
        {"order": "SO-1", "customer_po": "PO-77"},
        T(8),
        customer="Acme Retail",
        service_level="next-day",
        promised_by="2026-11-26T18:00:00+00:00",
    )
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-5"}, T(9), source_status="PICKED")
    world.send(
        "tms",
        "shipment.planned",
        {"order": "SO-1", "shipment": "SH-7", "tracking_number": "1Z99"},
        T(10),
        event_id="tms-planned-1",
    )
    if last_mile:
        world.send(
            "lastmile",
            "delivery.attempted",
            {"tracking_number": "1Z99"},
            "2026-11-25T15:30:00+01:00",
            reason={"code": "CUSTOMER_ABSENT", "text": "Nobody home"},
            eta="2026-11-27T09:00:00+00:00",
        )


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- search -----------------------------------------------------------------------------------


def test_searching_a_tracking_number_opens_its_order(world: Any, cs: Client) -> None:
    build_order(world)
    response = cs.get(reverse("search"), {"q": " 1Z99 "})
    assert response.status_code == 302
    assert response["Location"] == reverse("order-detail", args=["SO-1"])


def test_searching_a_customer_po_opens_its_order(world: Any, cs: Client) -> None:
    build_order(world)
    assert cs.get(reverse("search"), {"q": "PO-77"})["Location"] == reverse("order-detail", args=["SO-1"])


def test_a_consolidated_shipment_lists_both_orders_with_their_stage(world: Any, cs: Client) -> None:
    world.send("erp", "order.created", {"order": "SO-1"}, T(1))
    world.send("erp", "order.released", {"order": "SO-2"}, T(1))
    world.send("tms", "shipment.planned", {"shipment": "SH-7", "order": ["SO-1", "SO-2"]}, T(2))
    response = cs.get(reverse("search"), {"q": "SH-7"})
    assert response.status_code == 200
    page = text(response)
    assert "2 orders share this id" in page
    assert f'href="{reverse("order-detail", args=["SO-1"])}"' in page
    assert f'href="{reverse("order-detail", args=["SO-2"])}"' in page
    assert "stage-created" in page
    assert "stage-released" in page


def test_an_unknown_id_gets_a_helpful_empty_state(world: Any, cs: Client) -> None:
    build_order(world)
    page = text(cs.get(reverse("search"), {"q": "1Z98"}))
    assert "No order, shipment, tracking number, PO, invoice, LPN or run with id <code>1Z98</code>." in page
    assert "Ids are compared exactly; check for typos" in page


def test_an_id_seen_only_on_unmatched_events_says_so_and_links_to_them(world: Any, cs: Client) -> None:
    world.send("lastmile", "delivery.out_for_delivery", {"tracking_number": "1Z55"}, T(5))
    response = cs.get(reverse("search"), {"q": "1Z55"})
    assert response.status_code == 200
    page = text(response)
    assert "not on any order yet" in page
    assert f'href="{reverse("unmatched")}?ref=1Z55"' in page


def test_the_top_bar_has_the_search_box_on_every_page(world: Any, cs: Client) -> None:
    build_order(world)
    for url in [reverse("home"), reverse("unmatched"), reverse("order-detail", args=["SO-1"])]:
        page = text(cs.get(url))
        assert f'class="topsearch" role="search" method="get" action="{reverse("search")}"' in page, url


# --- the order page ---------------------------------------------------------------------------


def test_the_order_page_shows_the_four_systems_and_a_silent_one_as_no_data_yet(world: Any, cs: Client) -> None:
    build_order(world)
    response = cs.get(reverse("order-detail", args=["SO-1"]))
    assert response.status_code == 200
    page = text(response)
    for system in ("erp", "wms", "tms", "lastmile"):
        assert f'data-system="{system}"' in page
    last_mile = page.split('data-system="lastmile"')[1].split("</section>")[0]
    assert "no data yet" in last_mile
    assert "order.created" in page.split('data-system="erp"')[1].split("</section>")[0]
    for fact in ("Acme Retail", "next-day", "PO-77"):
        assert fact in page
    assert "no ETA yet" in page


def test_the_order_page_explains_why_each_event_is_on_it(world: Any, cs: Client) -> None:
    build_order(world, last_mile=True)
    page = text(cs.get(reverse("order-detail", args=["SO-1"])))
    tms = world.feeds["tms"].slug
    assert f"via tracking_number 1Z99, linked by shipment.planned ({tms} tms-planned-1)" in page
    assert "names this order" in page
    assert "CUSTOMER_ABSENT" in page
    assert "Nobody home" in page
    assert "15:30 +01:00 at source" in page  # the source's own offset is kept
    assert "late by 15h" in page  # ETA 27th 09:00 against a promise of 26th 18:00


def test_the_order_page_lists_shipments_tasks_and_aliases(world: Any, cs: Client) -> None:
    build_order(world)
    world.send("wms", "pack.completed", {"shipment": "SH-7", "lpn": "LPN-3"}, T(11))
    world.send("lastmile", "run.planned", {"delivery_run": "R-9", "shipment": "SH-7"}, T(12))
    page = text(cs.get(reverse("order-detail", args=["SO-1"])))
    shipments = page.split('id="shipments"')[1].split("</table>")[0]
    for value in ("SH-7", "1Z99", "LPN-3", "R-9"):
        assert value in shipments
    assert "WT-5" in page.split('id="tasks"')[1]


def test_a_system_behind_the_order_is_marked(world: Any, cs: Client) -> None:
    build_order(world)
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z99"}, T(14), pod={"signed_by": "J. Smith"})
    page = text(cs.get(reverse("order-detail", args=["SO-1"])))
    assert 'class="syscard sys-behind" data-system="erp"' in page
    assert 'class="syscard sys-agrees" data-system="lastmile"' in page
    assert "J. Smith" in page.split('id="order-pod"')[1].split("</div>")[0]


def test_the_timeline_chart_uses_the_local_plotly_and_its_data_is_embedded(world: Any, cs: Client) -> None:
    build_order(world, last_mile=True)
    page = cs.get(reverse("order-detail", args=["SO-1"])).content.decode()
    assert re.search(r'<script src="/static/plotly/plotly\.min\.js" defer>', page)
    assert "cdn" not in page.lower()
    assert '<script id="timeline-data" type="application/json">' in page
    assert '"exception": true' in page  # the failed attempt is drawn as an exception


def test_the_order_page_costs_a_bounded_number_of_queries(
    world: Any, cs: Client, django_assert_max_num_queries: Any
) -> None:
    build_order(world)
    for n in range(47):
        world.send("tms", "shipment.in_transit", {"tracking_number": "1Z99"}, f"2026-11-25T12:{n:02d}:00+00:00")
    assert world.order("SO-1").event_count == 50
    cs.get(reverse("home"))  # warm the session
    # + the finance section: the order's holds (for the facts and for the table) and its ledger.
    with django_assert_max_num_queries(11):
        response = cs.get(reverse("order-detail", args=["SO-1"]))
    assert response.status_code == 200
    assert text(response).count("shipment.in_transit") >= 47


def test_an_unknown_order_is_a_404(world: Any, cs: Client) -> None:
    response = cs.get(reverse("order-detail", args=["SO-404"]))
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


# --- unmatched events ---------------------------------------------------------------------------


def test_a_scan_is_listed_as_unmatched_until_its_tracking_number_is_bound(world: Any, cs: Client) -> None:
    world.send("erp", "order.created", {"order": "SO-1"}, T(1))
    scan = world.send(
        "lastmile", "delivery.attempted", {"tracking_number": "1Z99"}, T(5), reason={"code": "CUSTOMER_ABSENT"}
    )
    page = text(cs.get(reverse("unmatched")))
    assert scan in page
    assert "1Z99" in page
    assert "join their order automatically" in page
    filtered = text(cs.get(reverse("unmatched"), {"feed": world.feeds["lastmile"].slug, "type": "delivery.attempted"}))
    assert scan in filtered
    assert scan not in text(cs.get(reverse("unmatched"), {"type": "delivery.completed"}))

    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-7", "tracking_number": "1Z99"}, T(2))
    page = text(cs.get(reverse("unmatched")))
    assert scan not in page
    assert "Every event is on an order" in page


def test_unmatched_events_are_paginated_by_50(world: Any, cs: Client) -> None:
    for n in range(51):
        world.send("lastmile", "delivery.out_for_delivery", {"tracking_number": f"1Z{n:03d}"}, T(5))
    page = text(cs.get(reverse("unmatched")))
    assert f"1{DASH}50 of 51 events" in page
    assert f"51{DASH}51 of 51 events" in text(cs.get(reverse("unmatched"), {"page": 2}))


# --- who may see what, and the home page --------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(world: Any, client: Client) -> None:
    build_order(world)
    for url in [reverse("search") + "?q=1Z99", reverse("order-detail", args=["SO-1"]), reverse("unmatched")]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


@pytest.mark.parametrize("role", ["cs_agent", "ops_lead", "finance", "admin"])
def test_every_role_may_look_up_orders(world: Any, login: Callable[[str], Client], role: str) -> None:
    build_order(world)
    client = login(role)
    assert client.get(reverse("order-detail", args=["SO-1"])).status_code == 200
    assert client.get(reverse("unmatched")).status_code == 200


def test_a_user_without_a_role_may_not(world: Any, db: None) -> None:
    client = Client()
    client.force_login(UserFactory())
    assert client.get(reverse("search"), {"q": "x"}).status_code == 403
    assert "topsearch" not in client.get(reverse("home")).content.decode()


def test_the_unmatched_link_is_in_the_navigation_of_everyone_who_may_look_up(
    world: Any, login: Callable[[str], Client]
) -> None:
    # The page needs `lookup_orders` only, so the link too (apps/accounts/access.py).
    nav = f'<a href="{reverse("unmatched")}"'
    for role in ("ops_lead", "cs_agent", "finance"):
        assert nav in login(role).get(reverse("home")).content.decode().split("</header>")[0], role


def test_home_lists_recent_orders_with_their_stage(world: Any, cs: Client) -> None:
    build_order(world)
    world.send("erp", "order.created", {"order": "SO-2"}, T(12))
    page = text(cs.get(reverse("home")))
    recent = page.split('id="recent-orders"')[1].split("</table>")[0]
    assert recent.index("SO-2") < recent.index("SO-1")  # latest activity first
    assert "stage-picked" in recent
    assert 'id="q-home"' in page


def test_an_order_id_with_a_slash_and_a_space_has_a_working_page(world: Any, cs: Client) -> None:
    world.send("erp", "order.created", {"order": "SO/2026 7"}, T(1))
    response = cs.get(reverse("search"), {"q": "SO/2026 7"})
    assert response["Location"] == "/orders/SO/2026%207/"
    assert "SO/2026 7" in cs.get(response["Location"]).content.decode()


def test_the_order_page_refreshes_itself_with_events_that_arrive_later(world: Any, cs: Client) -> None:
    build_order(world)
    page = cs.get("/orders/SO-1/")
    html = page.content.decode()
    assert 'data-live-order="SO-1"' in html  # live.js sends this element its own order's updates (docs/live.md)
    assert "live:own-order-updated delay:250ms" in html
    world.send("lastmile", "delivery.out_for_delivery", {"tracking_number": "1Z99"}, "2026-11-25T15:00:00+00:00")
    refreshed = cs.get("/orders/SO-1/", HTTP_HX_REQUEST="true")
    assert "delivery.out_for_delivery" in refreshed.content.decode()
