"""Feed health as an ops lead reads it: the feeds overview, a feed's health section and the
API (frozen clock, the feeds of test_health), and who may read them (view_feeds)."""

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.services import api_token_create
from apps.feeds.models import Feed
from tests.factories import UserFactory

from .test_health import clock, feeds  # noqa: F401 - the shared fixtures

# Every test here: the clock frozen at test_health.NOW, and its six feeds.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock", "feeds")]

ORDER = ["held-wms", "bad-lastmile", "quiet-tms", "late-erp", "ahead-tms", "good-wms"]
STATUSES = {
    "held-wms": "paused",
    "bad-lastmile": "failing",
    "quiet-tms": "silent",
    "late-erp": "lagging",
    "ahead-tms": "healthy",
    "good-wms": "healthy",
}


@pytest.fixture
def ops() -> Client:
    client = Client()
    client.force_login(UserFactory(role="ops_lead"))
    return client


def rows(page: str) -> list[tuple[str, str]]:
    """(slug, status) of each row of the feeds table, in order."""
    return re.findall(r'<tr id="feed-row-([\w-]+)" data-status="(\w+)"', page)


def row_html(page: str, slug: str) -> str:
    start = page.index(f'<tr id="feed-row-{slug}"')
    return page[start : page.index("</tr>", start)]


# --- the overview ---------------------------------------------------------------------------


def test_the_overview_tells_each_feed_apart_most_serious_first(ops: Client) -> None:
    response = ops.get(reverse("feed-list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert rows(page) == [(slug, STATUSES[slug]) for slug in ORDER]
    silent = '<span class="badge badge-silent" title="nothing received for 6h (silent after 20 min)">Silent</span>'
    assert silent in page
    assert "75% of the last hour&#x27;s events rejected" in row_html(page, "bad-lastmile")
    assert "lag p95 5h over the 2h allowed for ERP feeds" in row_html(page, "late-erp")
    assert 'class="badge badge-paused"' in row_html(page, "held-wms")
    # the future-dated flag, on the feed that has them only
    assert '<span class="badge badge-future"' in row_html(page, "ahead-tms")
    assert "badge-future" not in row_html(page, "good-wms")
    # the lag column: p50 / p95
    assert "5.0 h / " in row_html(page, "late-erp")


def test_the_summary_counts_feeds_per_status_and_filters(ops: Client) -> None:
    page = ops.get(reverse("feed-list")).content.decode()
    summary = page[page.index('id="health-summary"') : page.index("</nav>", page.index('id="health-summary"'))]
    counts = dict(re.findall(r'data-status="(\w+)".*?<span class="count">(\d+)</span>', summary))
    assert counts == {"paused": "1", "failing": "1", "silent": "1", "lagging": "1", "healthy": "2"}
    silent = ops.get(reverse("feed-list"), {"status": "silent"}).content.decode()
    assert rows(silent) == [("quiet-tms", "silent")]
    assert rows(ops.get(reverse("feed-list"), {"status": "nonsense"}).content.decode()) == [
        (slug, STATUSES[slug]) for slug in ORDER
    ]


def test_the_overview_chart_has_a_row_per_feed_and_an_hour_per_column(ops: Client) -> None:
    page = ops.get(reverse("feed-list")).content.decode()
    data = re.search(r'<script id="fig-feeds-hourly" type="application/json">(.*?)</script>', page, re.S)
    assert data is not None
    [heatmap] = json.loads(data.group(1))["data"]
    assert heatmap["y"][0] == "held-wms (paused)"
    assert len(heatmap["z"]) == 6
    assert all(len(row) == 25 for row in heatmap["z"])
    assert sum(heatmap["z"][heatmap["y"].index("good-wms (healthy)")]) == 12
    assert "plotly/plotly.min.js" in page
    assert "js/feed_health.js" in page


def test_the_overview_says_when_no_feed_has_a_status(ops: Client) -> None:
    Feed.objects.filter(slug="held-wms").update(paused_at=None)
    page = ops.get(reverse("feed-list"), {"status": "paused"}).content.decode()
    assert "No feed is paused right now" in page


# --- a feed's page --------------------------------------------------------------------------


def test_a_feeds_page_shows_its_health(ops: Client) -> None:
    page = ops.get(reverse("feed-detail", args=["bad-lastmile"])).content.decode()
    assert page.count('id="feed-health"') == 1
    assert 'id="feed-health-status">Failing</span>' in page
    assert "75% of the last hour&#x27;s events rejected (6 of 8; failing from 20%)" in page
    reasons = page[page.index('id="rejection-reasons"') : page.index("</table>", page.index('id="rejection-reasons"'))]
    assert '<code>occurred_at: naive time, offset required</code></td><td class="num">6</td>' in reasons


def test_a_feeds_page_lists_its_future_dated_events(ops: Client) -> None:
    page = ops.get(reverse("feed-detail", args=["ahead-tms"])).content.decode()
    table = page[page.index('id="future-events"') : page.index("</table>", page.index('id="future-events"'))]
    assert table.index("a-future-2") < table.index("a-future-1")  # newest first
    assert "a-soon" not in table  # within the tolerance
    assert table.count("not yet due") == 1  # a-future-1, dated 15:30
    assert "its time has come" in table  # a-future-2, dated 12:00
    assert "2 events of the last 24 hours dated more than 15 min after they arrived" in page


def test_a_silent_feeds_page_says_after_what(ops: Client) -> None:
    page = ops.get(reverse("feed-detail", args=["quiet-tms"])).content.decode()
    facts = page[page.index('id="health-silence"') : page.index("</dd>", page.index('id="health-silence"'))]
    assert "20 min" in facts
    assert "auto: 95th percentile gap 10 min \N{MULTIPLICATION SIGN} 2, over 11 gaps" in facts
    assert "quiet for 6.0 h" in facts


def test_the_rows_refresh_leaves_the_health_section_out(ops: Client) -> None:
    response = ops.get(reverse("feed-detail", args=["good-wms"]), {"status": "processed"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "feed-health" not in response.content.decode()
    assert "health" not in response.context


# --- the API --------------------------------------------------------------------------------


def api(client: Client, path: str, role: str = "ops_lead", **params: Any) -> Any:
    token = api_token_create(user=UserFactory(role=role))
    return client.get(path, params, HTTP_AUTHORIZATION=f"Token {token}")


def test_the_api_lists_every_feeds_health(client: Client) -> None:
    response = api(client, "/api/v1/feeds/health/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6
    assert [(r["feed"], r["status"]) for r in body["results"]] == [(slug, STATUSES[slug]) for slug in ORDER]
    late = next(r for r in body["results"] if r["feed"] == "late-erp")
    assert late["lag"] == {"sampled": 12, "p50": 18000.0, "p95": 18000.0, "max_p95": 7200.0}
    assert late["reasons"] == ["lag p95 5h over the 2h allowed for ERP feeds"]
    quiet = next(r for r in body["results"] if r["feed"] == "quiet-tms")
    assert quiet["silence"]["threshold"] == 1200.0
    assert quiet["silence"]["source"] == "auto"
    assert quiet["last_message_at"] == "2026-11-26T06:00:00Z"
    bad = next(r for r in body["results"] if r["feed"] == "bad-lastmile")
    assert bad["last_hour"]["rejected"] == 6
    assert bad["last_hour"]["reject_rate"] == 0.75
    ahead = next(r for r in body["results"] if r["feed"] == "ahead-tms")
    assert (ahead["future_dated_24h"], ahead["future_tolerance"]) == (2, 900.0)


def test_the_api_filters_by_status_and_pages(client: Client) -> None:
    failing = api(client, "/api/v1/feeds/health/", status="failing").json()
    assert [r["feed"] for r in failing["results"]] == ["bad-lastmile"]
    assert api(client, "/api/v1/feeds/health/", status="sleepy").status_code == 400
    first = api(client, "/api/v1/feeds/health/", page_size=4).json()
    assert [r["feed"] for r in first["results"]] == ORDER[:4]
    assert first["next"] is not None


def test_the_api_gives_one_feeds_health_in_full(client: Client) -> None:
    body = api(client, "/api/v1/feeds/ahead-tms/health/").json()
    assert body["status"] == "healthy"
    assert len(body["events_per_hour"]) == 25
    assert sum(h["events"] for h in body["events_per_hour"]) == body["events_24h"] == 15
    assert body["future_dated"]["count"] == 2
    assert [(e["event_id"], e["ahead"], e["due"]) for e in body["future_dated"]["latest"]] == [
        ("a-future-2", 1200.0, True),
        ("a-future-1", 10800.0, False),
    ]
    bad = api(client, "/api/v1/feeds/bad-lastmile/health/").json()
    [reason] = bad["top_rejection_reasons"]
    assert (reason["reason"], reason["count"]) == ("occurred_at: naive time, offset required", 6)
    assert api(client, "/api/v1/feeds/nowhere/health/").status_code == 404


# --- who may read it ------------------------------------------------------------------------


def test_health_is_for_those_who_may_view_feeds(client: Client) -> None:
    for path in ("/api/v1/feeds/health/", "/api/v1/feeds/good-wms/health/"):
        assert client.get(path).status_code == 401
        assert api(client, path, role="cs_agent").status_code == 403
        assert api(client, path, role="finance").status_code == 403
        assert api(client, path, role="admin").status_code == 200
    for url in (reverse("feed-list"), reverse("feed-detail", args=["good-wms"])):
        assert client.get(url).status_code == 302
        cs = Client()
        cs.force_login(UserFactory(role="cs_agent"))
        assert cs.get(url).status_code == 403
