"""The counters row: the handful of numbers an ops lead reads first, re-read on every live
event. Four queries, none growing with the store (the unresolved cases, today's breaches, the
stage index, one index probe per feed), plus the 7-day on-time share, which moves slowly and
comes from the minute-long shared copy (cached.py)."""

from dataclasses import dataclass
from datetime import datetime

from ..windows import Window, span_of
from .cached import shared_on_time
from .exceptions import ExceptionCounts, exception_counts
from .feeds import FeedSilence, feed_silence
from .orders import OnTime, orders_in_flight


@dataclass(frozen=True, slots=True)
class Counters:
    exceptions: ExceptionCounts
    in_flight: int
    on_time: OnTime  # the last 7 days, whatever window the charts show
    feeds: FeedSilence
    at: datetime


def dashboard_counters(*, at: datetime) -> Counters:
    week = span_of(Window.WEEK, at=at)
    return Counters(
        exceptions=exception_counts(at=at),
        in_flight=orders_in_flight(),
        on_time=shared_on_time(span=week).value,
        feeds=feed_silence(at=at),
        at=at,
    )
