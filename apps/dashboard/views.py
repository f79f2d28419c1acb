"""The operations dashboard: a counters row that follows live events, and charts over a window.

Three views share one template through partials: the page, the counters fragment (re-fetched
on every live exception or order event) and the charts fragment (re-fetched on a slower
cadence). Each runs a fixed number of queries (tests/dashboard/test_views.py holds the count)."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from apps.common.time import now
from apps.feeds.models import Feed

from . import charts
from .selectors import (
    AGE_BUCKETS,
    LAG_SAMPLE,
    Lag,
    WindowScans,
    breaches_per_day,
    dashboard_counters,
    feed_lag,
    feeds_with_last_heard,
    open_exceptions_by_age,
    silent_feed_ids,
    window_scans,
    window_scans_if_fresh,
)
from .windows import Span, Window, span_of

CAPABILITY = "accounts.view_feeds"  # the page shows feed health beside exceptions and orders
TEMPLATE = "dashboard/dashboard.html"
FEEDS_PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class FeedRow:
    feed: Feed
    events: int
    lag: Lag
    silent: bool


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(request, template, context)
    add_never_cache_headers(response)  # live numbers: a back button must not show stale ones
    return response


@login_required
@permission_required(CAPABILITY, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The page. Its charts come inline when the window's scans are in the shared cache, and
    otherwise right after, from the charts fragment: the page never waits for a cold scan."""
    at = now()
    span = span_of(request.GET.get("window"), at=at)
    context: dict[str, Any] = {"counters": dashboard_counters(at=at), "span": span, "windows": Window.choices}
    scans = window_scans_if_fresh(span=span)
    context.update(_charts_context(request, span, scans) if scans else {"charts_pending": True})
    return _render(request, TEMPLATE, context)


@login_required
@permission_required(CAPABILITY, raise_exception=True)
def counters(request: HttpRequest) -> HttpResponse:
    return _render(request, f"{TEMPLATE}#counters", {"counters": dashboard_counters(at=now())})


@login_required
@permission_required(CAPABILITY, raise_exception=True)
def charts_fragment(request: HttpRequest) -> HttpResponse:
    span = span_of(request.GET.get("window"), at=now())
    return _render(request, f"{TEMPLATE}#charts", _charts_context(request, span, window_scans(span=span)))


def _charts_context(request: HttpRequest, span: Span, scans: WindowScans) -> dict[str, Any]:
    at = span.until
    kinds = open_exceptions_by_age(at=at)
    breaches = breaches_per_day(span=span)
    legs, on_time, activity = scans.legs.value, scans.on_time.value, scans.activity.value
    page = Paginator(feeds_with_last_heard(), FEEDS_PER_PAGE).get_page(request.GET.get("page"))
    lags = feed_lag(feed_ids=[f.id for f in page], span=span)
    events = {a.slug: a.total for a in activity}
    silent = silent_feed_ids(list(page), at=at)
    feed_rows = [FeedRow(f, events.get(f.slug, 0), lags[f.id], f.pk in silent) for f in page]
    return {
        "span": span,
        "scanned_at": scans.at,
        "age_buckets": [name for name, _, _ in AGE_BUCKETS],
        "kinds": kinds,
        "breaches": breaches,
        "breach_total": sum(d.breaches for d in breaches),
        "legs": legs,
        "on_time": on_time,
        "activity": activity,
        "event_total": sum(events.values()),
        "page": page,
        "feed_rows": feed_rows,
        "lag_sample": LAG_SAMPLE,
        "figures": {
            "exceptions": charts.exceptions_figure(kinds),
            "breaches": charts.breaches_figure(breaches),
            "cycle": charts.cycle_figure(legs),
            "on_time": charts.on_time_figure(on_time),
            "events": charts.events_figure(activity, span=span),
            "lag": charts.lag_figure([(row.feed.slug, row.lag) for row in feed_rows]),
        },
    }
