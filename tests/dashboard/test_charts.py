"""The figures handed to Plotly say what the tables say: gaps are zeros, durations read in a
sensible unit, counts are whole numbers."""

from datetime import timedelta

from apps.dashboard.charts import count_axis, cycle_figure, duration_unit, events_figure
from apps.dashboard.selectors import FeedActivity, Leg
from apps.dashboard.windows import span_of

from .conftest import NOW


def test_a_silent_hour_reads_as_zero_events() -> None:
    span = span_of("24h", at=NOW)
    busy = [(NOW - timedelta(hours=5), 40), (NOW - timedelta(hours=2), 10)]
    [line] = events_figure([FeedActivity(slug="acme-wms", total=50, buckets=busy)], span=span)["data"]
    assert len(line["x"]) == 25  # 12:00 yesterday .. 12:00 today, hourly
    assert line["x"][0] == "2026-11-25T12:00:00+00:00"
    counts = dict(zip(line["x"], line["y"], strict=True))
    assert counts["2026-11-26T07:00:00+00:00"] == 40
    assert counts["2026-11-26T08:00:00+00:00"] == 0
    assert counts["2026-11-26T10:00:00+00:00"] == 10


def test_thirty_days_are_drawn_per_day_and_small_feeds_are_summed() -> None:
    span = span_of("30d", at=NOW)
    day = NOW.replace(hour=0)
    feeds = [FeedActivity(slug=f"feed-{n}", total=100 - n, buckets=[(day, 100 - n)]) for n in range(10)]
    data = events_figure(feeds, span=span)["data"]
    assert [trace["name"] for trace in data][-1] == "3 other feeds"
    assert data[-1]["y"][-1] == 93 + 92 + 91
    assert len(data[0]["x"]) == 31


def test_cycle_times_are_drawn_in_a_unit_that_reads() -> None:
    assert duration_unit(90) == ("seconds", 1.0)
    assert duration_unit(3000) == ("minutes", 60.0)
    assert duration_unit(30 * 3600) == ("hours", 3600.0)
    assert duration_unit(5 * 86400) == ("days", 86400.0)
    legs = [Leg("release → pick", 3, 7200.0, 12960.0), Leg("pick → ship", 0, None, None)]
    [p50, p90] = cycle_figure(legs)["data"]
    assert p50["x"] == [2.0, None]
    assert p90["x"] == [3.6, None]
    assert p50["y"] == ["release → pick (3)", "pick → ship (0)"]


def test_small_counts_tick_in_whole_numbers() -> None:
    assert count_axis("open cases", 2)["dtick"] == 1
    assert "dtick" not in count_axis("open cases", 200)
