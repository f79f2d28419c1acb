"""Order ids are any text (canonical-events.md), "/" included: the API opens them as the pages do,
with the "/" sent raw or as %2F, and `<id>/timeline/` is still the timeline of `<id>`."""

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from apps.events.taxonomy import EventType
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ODD_IDS = ["SO/1", "SO/2/3", "SO/4/", "A B/5", "X?y#z%6", "ÅÄ/ö-7", "SO/8/timeline/x"]


@pytest.fixture
def api(client: Client, user_token: str) -> Callable[..., Any]:
    def get(url: str) -> Any:
        return client.get(url, HTTP_AUTHORIZATION=f"Token {user_token}")

    return get


def _order(world: Any, key: str, *, shipment: str | None = None) -> None:
    refs = {"order": key, **({"shipment": shipment} if shipment else {})}
    world.send("erp", EventType.ORDER_CREATED, {"order": key}, at="2026-11-25T08:00:00+00:00")
    world.send("wms", EventType.PICK_COMPLETED, refs, at="2026-11-25T09:00:00+00:00")


def _encoded(key: str, *, raw_slash: bool) -> str:
    return quote(key, safe="/" if raw_slash else "")


@pytest.mark.parametrize("raw_slash", [True, False], ids=["raw-slash", "percent-2F"])
@pytest.mark.parametrize("key", ODD_IDS)
def test_the_order_and_its_timeline_open_through_the_api(world, api, key, raw_slash):
    _order(world, key)
    path = _encoded(key, raw_slash=raw_slash)
    order = api(f"/api/v1/orders/{path}/")
    timeline = api(f"/api/v1/orders/{path}/timeline/")
    assert order.status_code == 200, order.content
    assert order.json()["order"] == key
    assert timeline.status_code == 200, timeline.content
    assert timeline.json()["order"] == key
    assert [e["type"] for e in timeline.json()["events"]] == [EventType.ORDER_CREATED, EventType.PICK_COMPLETED]


def test_a_slash_id_followed_by_timeline_is_that_orders_timeline(world, api):
    _order(world, "SO/1")
    for path in ("SO/1", "SO%2F1"):
        response = api(f"/api/v1/orders/{path}/timeline/")
        assert response.status_code == 200
        assert set(response.json()) >= {"order", "events"}
        assert response.json()["order"] == "SO/1"
    assert api("/api/v1/orders/SO/1/timeline/").json() == api("/api/v1/orders/SO%2F1/timeline/").json()


def test_an_id_ending_in_slash_timeline_has_its_timeline_and_its_own_url_is_ambiguous(world, api):
    _order(world, "SO/9/timeline")
    for path in ("SO/9/timeline", "SO%2F9%2Ftimeline"):
        assert api(f"/api/v1/orders/{path}/timeline/").json()["order"] == "SO/9/timeline"
        # %2F arrives as "/": both read as the timeline of SO/9 (docs/api.md)
        assert api(f"/api/v1/orders/{path}/").json() == {"detail": "no order 'SO/9'"}


def test_an_unknown_slash_id_is_a_json_404(world, api):
    response = api("/api/v1/orders/SO/404/")
    assert response.status_code == 404
    assert response.json()["detail"] == "no order 'SO/404'"


def test_the_reverse_urls_open_the_order(world, api):
    for key in ODD_IDS:
        _order(world, key)
        assert api(reverse("api-order", args=[key])).json()["order"] == key
        assert api(reverse("api-order-timeline", args=[key])).json()["order"] == key


def test_the_timelines_next_link_works_for_an_id_with_url_characters(world, api):
    key = "X?y#z%6/1"
    _order(world, key)
    first = api(f"/api/v1/orders/{quote(key, safe='')}/timeline/?limit=1").json()
    assert first["next"] is not None
    following = api(urlsplit(first["next"])._replace(scheme="", netloc="").geturl())
    assert following.status_code == 200, following.content
    assert following.json()["order"] == key
    assert [e["type"] for e in first["events"] + following.json()["events"]] == [
        EventType.ORDER_CREATED,
        EventType.PICK_COMPLETED,
    ]


def test_the_reconciliation_route_of_finance_is_not_taken_for_an_order_id(world, api):
    _order(world, "SO-9")
    response = api("/api/v1/orders/SO-9/reconciliation/")
    assert response.status_code in (200, 404)
    assert response.json().get("detail") != "no order 'SO-9/reconciliation'"


class TestSearchLinks:
    @pytest.fixture
    def cs(self) -> Client:
        client = Client()
        client.force_login(UserFactory(role="cs_agent"))
        return client

    def test_the_links_of_a_shared_id_open_each_order(self, world, cs, api):
        _order(world, "SO/1", shipment="SH-1")
        _order(world, "SO/2", shipment="SH-1")
        page = cs.get("/search/", {"q": "SH-1"})
        assert page.status_code == 200
        links = [f"/orders/{key}/" for key in ("SO/1", "SO/2")]
        for link in links:
            assert f'href="{link}"' in page.content.decode()
            assert cs.get(link).status_code == 200
        found = api("/api/v1/search/?q=SH-1").json()["results"]
        keys = sorted(key for hit in found for key in hit["orders"])
        assert keys == ["SO/1", "SO/2"]
        for key in keys:
            assert api(f"/api/v1/orders/{quote(key, safe='')}/").json()["order"] == key
            assert api(f"/api/v1/orders/{key}/timeline/").json()["order"] == key

    def test_one_order_found_opens_its_page(self, world, cs):
        _order(world, "SO/3/x", shipment="SH-3")
        response = cs.get("/search/", {"q": "SH-3"})
        assert response.status_code == 302
        assert response["Location"] == "/orders/SO/3/x/"
        assert "SO/3/x" in cs.get(response["Location"]).content.decode()


@pytest.mark.parametrize("raw_slash", [True, False], ids=["raw-slash", "percent-2F"])
def test_finance_reconciliation_of_an_order_whose_id_holds_a_slash(world, client, raw_slash):
    from apps.accounts.services import api_token_create
    from tests.factories import UserFactory

    _order(world, "SO/1")
    token = api_token_create(user=UserFactory(role="finance"))
    response = client.get(
        f"/api/v1/orders/{_encoded('SO/1', raw_slash=raw_slash)}/reconciliation/", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 200, response.content
    assert response.json()["order"] == "SO/1"
