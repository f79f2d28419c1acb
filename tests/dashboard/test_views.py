"""The dashboard page and its two live fragments: who may see them, what an empty control tower
shows, what the numbers read, and that the cost in queries does not grow with the data."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import FeedFactory, UserFactory

from .conftest import NOW, CaseFactory, ago, flow
from .test_selectors import _receive

pytestmark = pytest.mark.django_db

URLS = ("/dashboard/", "/dashboard/counters/", "/dashboard/charts/")


@pytest.fixture
def login(db: None) -> Callable[[str], Client]:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(UserFactory(role=role))
        return client

    return make


@pytest.fixture
def ops(login: Callable[[str], Client]) -> Client:
    return login("ops_lead")


@pytest.mark.parametrize("url", URLS)
def test_anonymous_users_are_sent_to_log_in(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("role", ["cs_agent", "finance"])
@pytest.mark.parametrize("url", URLS)
def test_roles_without_view_feeds_are_refused(login: Callable[[str], Client], role: str, url: str) -> None:
    assert login(role).get(url).status_code == 403


def test_the_nav_links_the_dashboard_for_ops_leads_only(login: Callable[[str], Client]) -> None:
    assert 'href="/dashboard/"' in login("ops_lead").get("/").text
    assert 'href="/dashboard/"' in login("admin").get("/").text
    assert 'href="/dashboard/"' not in login("cs_agent").get("/").text


def test_an_empty_control_tower_says_so_on_every_chart(ops: Client) -> None:
    page = ops.get("/dashboard/")
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")
    assert "no delivered order with a promised date" in page.text
    charts = ops.get("/dashboard/charts/").text
    for empty in ("empty-exceptions", "empty-breaches", "empty-cycle", "empty-on-time", "empty-events", "empty-lag"):
        assert f'id="{empty}"' in charts
    assert 'data-figure="fig-' not in charts


def test_the_page_does_not_wait_for_a_cold_scan(ops: Client) -> None:
    page = ops.get("/dashboard/?window=30d").text
    assert 'id="charts-loading"' in page
    assert 'hx-get="/dashboard/charts/?window=30d"' in page
    assert 'hx-trigger="load, dash:charts from:body' in page
    ops.get("/dashboard/charts/?window=30d")  # what the page fetches next
    page = ops.get("/dashboard/?window=30d").text
    assert 'id="charts-loading"' not in page
    assert 'id="table-cycle"' not in page  # no order moved, but the charts are there:
    assert 'id="empty-cycle"' in page
    assert 'hx-trigger="dash:charts from:body' in page


def test_the_page_reads_the_numbers(ops: Client, world: Any) -> None:
    flow(world, "SO-A", released=50, picked=49, shipped=47, delivered=30, promised=28)
    flow(world, "SO-B", released=40, picked=38, shipped=34, delivered=10, promised=12)
    flow(world, "SO-C", released=20, picked=16, shipped=15)
    CaseFactory(opened_at=ago(0.5), severity="critical")
    CaseFactory(kind="sla_breach", opened_at=ago(3))
    counters = ops.get("/dashboard/?window=7d").text
    assert '<span class="counter-value">2</span>\n    <span class="counter-label">open exceptions' in counters
    assert 'id="counter-urgent">1</strong> high or critical' in counters
    assert '<span class="counter-value">1</span>\n    <span class="counter-label">SLA breaches today' in counters
    assert '<span class="counter-value">1</span>\n    <span class="counter-label">orders in flight' in counters
    assert '<span class="counter-value">50%</span>' in counters
    assert "1 of 2 promised orders" in counters
    charts = ops.get("/dashboard/charts/?window=7d").text
    cycle = charts[charts.index('id="table-cycle"') : charts.index("</table>", charts.index('id="table-cycle"'))]
    row = '<td>release → pick</td><td class="num">3</td><td class="num">2.0 h</td><td class="num">3.6 h</td>'
    assert row in cycle
    for figure in ("fig-exceptions", "fig-breaches", "fig-cycle", "fig-on-time", "fig-events", "fig-lag"):
        assert f'id="{figure}" type="application/json"' in charts
    assert 'SLA breaches per day <span class="count">1 in last 7 days' in charts
    page = ops.get("/dashboard/?window=7d").text
    assert row in page
    assert 'aria-current="true">Last 7 days' in page


def test_an_unknown_window_reads_as_seven_days(ops: Client) -> None:
    assert 'aria-current="true">Last 7 days' in ops.get("/dashboard/?window=forever").text
    assert 'aria-current="true">Last 24 hours' in ops.get("/dashboard/?window=24h").text


def test_the_fragments_are_the_counters_and_the_charts_alone(ops: Client) -> None:
    counters = ops.get("/dashboard/counters/").text
    assert counters.lstrip().startswith('<section id="dash-counters"')
    assert "<html" not in counters
    charts = ops.get("/dashboard/charts/?window=24h").text
    assert charts.lstrip().startswith('<div id="dash-charts"')
    assert 'hx-get="/dashboard/charts/?window=24h"' in charts


def test_feeds_are_paginated(ops: Client) -> None:
    for n in range(23):
        FeedFactory(slug=f"feed-{n:02d}")
    first = ops.get("/dashboard/charts/").text
    assert "1\u201320 of 23 feeds" in first
    assert "feed-19" in first
    assert "feed-20" not in first
    second = ops.get("/dashboard/charts/?page=2").text
    assert "feed-22" in second
    assert 'href="/dashboard/?page=1"' in second


def _queries(client: Client, url: str) -> int:
    cache.clear()  # the window-wide scans are shared for a minute: count them every time
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_query_count_does_not_grow_with_the_data(ops: Client, world: Any) -> None:
    flow(world, "SO-1", released=5, picked=4, shipped=3, delivered=2, promised=1)
    CaseFactory()
    _receive(FeedFactory(slug="acme-wms"), 1)
    small = {url: _queries(ops, url) for url in URLS}
    for n in range(2, 6):
        flow(world, f"SO-{n}", released=30, picked=20, shipped=10, delivered=n, promised=1)
        CaseFactory(kind="sla_breach", opened_at=ago(n * 10), severity="high")
        _receive(FeedFactory(slug=f"feed-{n}"), n, n + 1)
    large = {url: _queries(ops, url) for url in URLS}
    assert large == small
    # 4 for the session, the user and its permissions; the counters 6 (unresolved cases, today's
    # breaches, orders in flight, 7-day on-time, feeds and their rhythm for the silence rule); the
    # charts 10 (ages, breaches, cycle times, on-time, events per feed and their slugs, the feeds
    # page and its count, their rhythm, lag). A cold page leaves the charts to the fragment.
    assert small == {"/dashboard/": 10, "/dashboard/counters/": 10, "/dashboard/charts/": 14}
    ops.get("/dashboard/charts/")
    with CaptureQueriesContext(connection) as warm:
        ops.get("/dashboard/")
    assert len(warm) == 4 + 4 + 7  # the shared scans come from the cache; the feed rows read their rhythm


def test_counters_are_exact_while_the_window_scans_are_shared_for_a_minute(ops: Client, world: Any) -> None:
    flow(world, "SO-1", released=5, picked=4)
    assert '<td class="num">1</td>' in ops.get("/dashboard/charts/?window=24h").text  # release -> pick: 1 order
    flow(world, "SO-2", released=3, picked=2)
    CaseFactory()
    assert 'id="counter-urgent">0</strong>' in ops.get("/dashboard/counters/").text
    assert '<span class="counter-value">1</span>\n    <span class="counter-label">open exceptions' in (
        ops.get("/dashboard/counters/").text
    )
    with CaptureQueriesContext(connection) as captured:
        charts = ops.get("/dashboard/charts/?window=24h").text
    assert not any("correlation_timelineentry" in q["sql"] for q in captured.captured_queries)
    assert "as of 12:00:00 UTC" in charts
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        cache.add("dashboard:cycle:24h:busy", 1)  # another request is recomputing: the old copy will do
        assert '<td>release → pick</td><td class="num">1</td>' in ops.get("/dashboard/charts/?window=24h").text
        cache.delete("dashboard:cycle:24h:busy")
        charts = ops.get("/dashboard/charts/?window=24h").text
    assert '<td>release → pick</td><td class="num">2</td>' in charts
    assert "as of 12:01:01 UTC" in charts
