"""The window-wide scans, shared between everyone looking.

Cycle times, on-time delivery and events per feed read every order or event of the window: on
2.8M events that takes from under a second (24 h) to many seconds (30 days), see
docs/dashboard.md. The charts refresh about once a minute anyway, so each result is kept in
the cache per window and read by every open dashboard (the counters' on-time share is the
7-day one). A copy younger than FRESH_SECONDS is served as is: a minute for the last 24 hours,
longer for the long windows, whose percentiles a few minutes do not move. An older copy is
recomputed by one request while the others keep serving it (a cache.add lock), so however
many dashboards are open, each window's scan runs at most once at a time. Cheap reads (open cases,
breaches, the feeds page) are never cached: they stay exact."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache

from ..windows import Span, Window
from .feeds import FeedActivity, feed_activity
from .orders import Leg, OnTime, cycle_times, on_time_delivery

FRESH_SECONDS: dict[str, int] = {Window.DAY: 60, Window.WEEK: 5 * 60, Window.MONTH: 15 * 60}
KEEP_SECONDS = 60 * 60  # an old copy beats a blank chart while a slow recompute runs
BUSY_SECONDS = 5 * 60  # a recompute that died leaves its lock for at most this long


@dataclass(frozen=True, slots=True)
class Computed[V]:
    value: V
    at: datetime  # the end of the span it was computed over


def _key(name: str, span: Span) -> str:
    return f"dashboard:{name}:{span.window}"


def _fresh[V](hit: Computed[V] | None, span: Span) -> bool:
    return hit is not None and hit.at > span.until - timedelta(seconds=FRESH_SECONDS[span.window])


def _shared[V](name: str, span: Span, compute: Callable[[], V]) -> Computed[V]:
    key = _key(name, span)
    hit: Computed[V] | None = cache.get(key)
    if hit is not None and (_fresh(hit, span) or not cache.add(f"{key}:busy", 1, BUSY_SECONDS)):
        return hit
    try:
        fresh = Computed(value=compute(), at=span.until)
        cache.set(key, fresh, KEEP_SECONDS)
    finally:
        if hit is not None:
            cache.delete(f"{key}:busy")
    return fresh


@dataclass(frozen=True, slots=True)
class WindowScans:
    legs: Computed[list[Leg]]
    on_time: Computed[OnTime]
    activity: Computed[list[FeedActivity]]

    @property
    def at(self) -> datetime:
        return min(self.legs.at, self.on_time.at, self.activity.at)


def shared_on_time(*, span: Span) -> Computed[OnTime]:
    return _shared("on-time", span, lambda: on_time_delivery(span=span))


def window_scans(*, span: Span) -> WindowScans:
    """The three scans of the window, from the shared copies or computed now."""
    return WindowScans(
        legs=_shared("cycle", span, lambda: cycle_times(span=span)),
        on_time=shared_on_time(span=span),
        activity=_shared("activity", span, lambda: feed_activity(span=span)),
    )


def window_scans_if_fresh(*, span: Span) -> WindowScans | None:
    """The three scans when fresh copies are all in the cache; None rather than compute them."""
    hits = [cache.get(_key(name, span)) for name in ("cycle", "on-time", "activity")]
    if not all(_fresh(hit, span) for hit in hits):
        return None
    return WindowScans(legs=hits[0], on_time=hits[1], activity=hits[2])
