"""The numbers an ops lead reads on the dashboard, from data built through the real pipeline
(orders, feeds) or factories (exception cases), on a frozen clock. The same assertions run on
PostgreSQL (aggregates in SQL) and SQLite (the same aggregates in Python)."""

from datetime import date, timedelta
from typing import Any

import orjson
import pytest
import time_machine

from apps.dashboard.selectors import (
    breaches_per_day,
    cycle_times,
    dashboard_counters,
    feed_activity,
    feed_lag,
    feed_silence,
    on_time_delivery,
    open_exceptions_by_age,
)
from apps.dashboard.selectors import feeds as feed_selectors
from apps.dashboard.windows import span_of
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, event

from .conftest import NOW, CaseFactory, ago, flow, iso

pytestmark = pytest.mark.django_db

HOUR = 3600.0


def legs(window: str) -> dict[str, tuple[int, float | None, float | None]]:
    """{leg: (orders, p50 h, p90 h)}"""
    return {
        leg.label: (leg.orders, *(None if v is None else round(v / HOUR, 3) for v in (leg.p50, leg.p90)))
        for leg in cycle_times(span=span_of(window, at=NOW))
    }


@pytest.fixture
def orders(world: Any) -> Any:
    flow(world, "SO-A", released=50, picked=49, shipped=47, delivered=30, promised=28)
    flow(world, "SO-B", released=40, picked=38, shipped=34, delivered=10, promised=12)
    flow(world, "SO-C", released=20, picked=16, shipped=15)
    # picked before the 7-day window: only its pick -> ship leg (ended inside) counts
    flow(world, "SO-E", released=300, picked=200, shipped=100)
    # a pick dated before the release: a partner clock problem, not a negative cycle
    flow(world, "SO-F", released=5, picked=6)
    return world


def test_cycle_time_percentiles_over_seven_days(orders: Any) -> None:
    assert legs("7d") == {
        "release → pick": (3, 2.0, 3.6),  # 1 h, 2 h, 4 h
        "pick → ship": (4, 3.0, 71.2),  # 1, 2, 4, 100 h: percentile_cont interpolates
        "ship → deliver": (2, 20.5, 23.3),  # 17 h, 24 h
    }


def test_cycle_times_count_the_legs_that_ended_in_the_window(orders: Any) -> None:
    assert legs("24h") == {
        "release → pick": (1, 4.0, 4.0),  # SO-C; SO-F's pick precedes its release
        "pick → ship": (1, 1.0, 1.0),  # SO-C
        "ship → deliver": (1, 24.0, 24.0),  # SO-B, delivered 10 h ago after 24 h on the road
    }


def test_cycle_times_use_the_first_occurrence_of_each_milestone(world: Any) -> None:
    shipment = flow(world, "SO-G", released=10, picked=8, shipped=6)
    world.send("wms", "pick.completed", {"order": "SO-G", "warehouse_task": "WT-G2"}, iso(7))
    world.send("tms", "shipment.departed", {"shipment": shipment}, iso(5))
    assert legs("24h")["release → pick"] == (1, 2.0, 2.0)
    assert legs("24h")["pick → ship"] == (1, 2.0, 2.0)


def test_no_orders_means_no_cycle_times(db: None) -> None:
    assert legs("30d") == {
        "release → pick": (0, None, None),
        "pick → ship": (0, None, None),
        "ship → deliver": (0, None, None),
    }


def test_on_time_share_per_day_against_the_promised_date(orders: Any) -> None:
    flow(orders, "SO-N", released=9, picked=8, shipped=7, delivered=5)  # no promised date
    # split: one shipment delivered, the other still in the warehouse -> not delivered yet
    flow(orders, "SO-S", released=9, picked=8, shipped=7, delivered=3, promised=1)
    orders.send("tms", "shipment.planned", {"order": "SO-S", "shipment": "SH-S2"}, iso(7))
    on_time = on_time_delivery(span=span_of("7d", at=NOW))
    busy = {d.day: (d.delivered, d.promised, d.on_time) for d in on_time.days if d.delivered}
    assert busy == {
        date(2026, 11, 25): (1, 1, 1),  # SO-A: delivered 06:00, promised 08:00
        date(2026, 11, 26): (2, 1, 0),  # SO-B late (02:00 against 00:00), SO-N without a promise
    }
    assert (on_time.delivered, on_time.promised, on_time.on_time, on_time.share) == (3, 2, 1, 0.5)
    assert [d.day for d in on_time.days] == [date(2026, 11, 19) + timedelta(days=n) for n in range(8)]


def test_a_split_order_is_on_time_only_if_its_last_shipment_is(world: Any) -> None:
    first = flow(world, "SO-P", released=30, picked=29, shipped=28, delivered=20, promised=10)
    world.send("tms", "shipment.planned", {"order": "SO-P", "shipment": "SH-P2"}, iso(28))
    world.send("tms", "shipment.picked_up", {"shipment": "SH-P2"}, iso(27))
    world.send("lastmile", "delivery.completed", {"shipment": "SH-P2"}, iso(4))
    assert first
    on_time = on_time_delivery(span=span_of("24h", at=NOW))
    assert (on_time.delivered, on_time.promised, on_time.on_time) == (1, 1, 0)


@pytest.fixture
def cases(db: None) -> None:
    CaseFactory(opened_at=ago(0.5), severity="high")
    CaseFactory(opened_at=ago(2), status="acknowledged")
    CaseFactory(opened_at=ago(10), status="snoozed", snoozed_until=ago(1))  # the snooze ran out: open
    CaseFactory(kind="feed_silent", opened_at=ago(48))
    CaseFactory(kind="sla_breach", opened_at=ago(120), severity="critical")
    CaseFactory(kind="sla_breach", opened_at=ago(26), status="snoozed", snoozed_until=ago(-1))
    CaseFactory(kind="sla_breach", opened_at=ago(3), status="resolved", resolved_at=ago(1))
    CaseFactory(opened_at=ago(1.5), status="resolved", resolved_at=ago(1))


def test_open_exceptions_by_kind_and_age(cases: None) -> None:
    rows = {k.label: k.counts for k in open_exceptions_by_age(at=NOW)}
    #                                 <1h 1-4h 4-24h 1-3d >3d
    assert rows == {
        "Partner exception": [1, 1, 1, 0, 0],
        "Feed silent": [0, 0, 0, 1, 0],
        "SLA breach": [0, 0, 0, 0, 1],
    }


def test_the_exception_counters(cases: None) -> None:
    counts = dashboard_counters(at=NOW).exceptions
    assert (counts.open, counts.urgent, counts.snoozed, counts.breaches_today) == (5, 2, 1, 1)


def test_breaches_per_day_with_those_still_open(cases: None) -> None:
    days = {d.day: (d.breaches, d.still_open) for d in breaches_per_day(span=span_of("7d", at=NOW)) if d.breaches}
    assert days == {date(2026, 11, 21): (1, 1), date(2026, 11, 25): (1, 1), date(2026, 11, 26): (1, 0)}


def _receive(feed: Any, *occurred_hours_ago: float) -> None:
    body = {"events": [event(f"{feed.slug}-{n}-{h}", occurred_at=iso(h)) for n, h in enumerate(occurred_hours_ago)]}
    message = message_receive(feed=feed, body=orjson.dumps(body), content_type="application/json")
    message_process(message_id=message.id)


def test_feed_lag_percentiles_and_events_per_hour(db: None) -> None:
    wms, quiet = FeedFactory(slug="acme-wms"), FeedFactory(slug="quiet-tms", system="tms")
    with time_machine.travel(ago(2), tick=False):
        _receive(wms, 2 + 60 / HOUR, 2 + 120 / HOUR, 2 + 600 / HOUR)  # lags 1, 2 and 10 minutes
    with time_machine.travel(ago(0.5), tick=False):
        _receive(wms, 0.5 + 30 / HOUR, 0.5 - 30 / HOUR)  # 30 s, and -30 s: the partner's clock runs ahead
    span = span_of("24h", at=NOW)
    lag = feed_lag(feed_ids=[wms.id, quiet.id], span=span)
    assert (lag[wms.id].sampled, lag[wms.id].p50, lag[wms.id].p90) == (5, 60.0, pytest.approx(408.0))
    assert (lag[quiet.id].sampled, lag[quiet.id].p50) == (0, None)
    [activity] = feed_activity(span=span)
    assert (activity.slug, activity.total) == ("acme-wms", 5)
    assert [(at.hour, n) for at, n in activity.buckets] == [(10, 3), (11, 2)]


def test_feed_lag_reads_only_the_latest_sample_of_each_feed(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_selectors, "LAG_SAMPLE", 2)
    wms = FeedFactory(slug="acme-wms")
    for n, lag_minutes in enumerate((50, 1, 3)):
        with time_machine.travel(ago(3 - n), tick=False):
            _receive(wms, 3 - n + lag_minutes / 60)
    lag = feed_lag(feed_ids=[wms.id], span=span_of("24h", at=NOW))[wms.id]
    assert (lag.sampled, lag.p50) == (2, 120.0)  # 1 and 3 minutes; the 50 minutes is older


def test_silent_feeds_follow_the_feed_health_rule(db: None) -> None:
    """Quiet for at least the threshold (max_silence, 1 h, until a rhythm is learnt) since the
    last message or the creation: the feeds overview's rule, so the two counters agree."""
    with time_machine.travel(ago(3), tick=False):
        fresh, stale = FeedFactory(slug="fresh"), FeedFactory(slug="stale")
        FeedFactory(slug="never")  # created 3 h ago, never sent: silent
    with time_machine.travel(ago(0.1), tick=False):
        FeedFactory(slug="brand-new")  # never sent, but created 6 min ago: not yet
    with time_machine.travel(ago(2), tick=False):
        _receive(stale, 2)
    with time_machine.travel(ago(0.2), tick=False):
        _receive(fresh, 0.2)
    silence = feed_silence(at=NOW)
    assert (silence.feeds, silence.silent) == (4, 2)


def test_orders_in_flight_and_on_time_counter(orders: Any) -> None:
    counters = dashboard_counters(at=NOW)
    # SO-C, SO-E and SO-F are in flight; SO-A and SO-B are delivered
    assert counters.in_flight == 3
    assert (counters.on_time.on_time, counters.on_time.promised) == (1, 2)
