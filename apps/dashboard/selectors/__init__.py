"""The dashboard's metric queries (reads only). Each is bounded by a window or by the small
set of unresolved rows, aggregates in the database, and costs a fixed number of queries."""

from .cached import Computed, WindowScans, shared_on_time, window_scans, window_scans_if_fresh
from .counters import Counters, dashboard_counters
from .exceptions import (
    AGE_BUCKETS,
    BreachDay,
    ExceptionCounts,
    KindAges,
    breaches_per_day,
    exception_counts,
    open_exceptions_by_age,
)
from .feeds import (
    LAG_SAMPLE,
    FeedActivity,
    FeedSilence,
    Lag,
    feed_activity,
    feed_lag,
    feed_silence,
    feeds_with_last_heard,
    is_silent,
    silent_feed_ids,
)
from .orders import LEGS, Leg, OnTime, OnTimeDay, cycle_times, on_time_delivery, orders_in_flight

__all__ = [
    "AGE_BUCKETS",
    "LAG_SAMPLE",
    "LEGS",
    "BreachDay",
    "Computed",
    "Counters",
    "ExceptionCounts",
    "FeedActivity",
    "FeedSilence",
    "KindAges",
    "Lag",
    "Leg",
    "OnTime",
    "OnTimeDay",
    "WindowScans",
    "breaches_per_day",
    "cycle_times",
    "dashboard_counters",
    "exception_counts",
    "feed_activity",
    "feed_lag",
    "feed_silence",
    "feeds_with_last_heard",
    "is_silent",
    "on_time_delivery",
    "open_exceptions_by_age",
    "orders_in_flight",
    "shared_on_time",
    "silent_feed_ids",
    "window_scans",
    "window_scans_if_fresh",
]
