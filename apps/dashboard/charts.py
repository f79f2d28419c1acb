"""Plotly figures ({"data": [...], "layout": {...}}) built from the selectors' results.

Pure functions, no queries: the page passes each figure to the browser with json_script and a
few lines of JavaScript hand it to Plotly. Everything a chart says is also in the numbers
tables beside it, for reading exact values and for screen readers."""

from datetime import UTC, datetime, timedelta
from typing import Any

from .selectors import AGE_BUCKETS, BreachDay, FeedActivity, KindAges, Lag, Leg, OnTime
from .windows import Span

Figure = dict[str, Any]

BLUE, BLUE_LIGHT, GREEN, RED, AMBER, GREY = "#1d5fa8", "#8fb6e3", "#2e8b57", "#c0392b", "#e0a100", "#a3acb7"
# Young to old: the older a case, the hotter its colour.
AGE_COLOURS = ("#9ec5ea", "#4f8fd0", "#e0a100", "#d9622b", "#a8271d")
FEED_COLOURS = ("#1d5fa8", "#2e8b57", "#d9622b", "#7a4fb5", "#c0392b", "#138f8f", "#8a5a00", "#4d5866")
TOP_FEEDS = len(FEED_COLOURS) - 1  # the rest are summed into "other feeds"


def duration_unit(longest_seconds: float) -> tuple[str, float]:
    """The unit a set of durations reads best in, and its size in seconds."""
    if longest_seconds < 120:
        return "seconds", 1.0
    if longest_seconds < 2 * 3600:
        return "minutes", 60.0
    if longest_seconds < 3 * 86400:
        return "hours", 3600.0
    return "days", 86400.0


def _in(value: float | None, size: float) -> float | None:
    return None if value is None else round(value / size, 2)


def count_axis(title: str, largest: int) -> dict[str, Any]:
    """A y axis of whole numbers: no 0.2 of a case on a quiet day."""
    axis: dict[str, Any] = {"title": {"text": title}, "rangemode": "tozero", "tickformat": ",d"}
    if largest <= 5:
        axis["dtick"] = 1
    return axis


def exceptions_figure(kinds: list[KindAges]) -> Figure:
    labels = [k.label for k in kinds]
    data = [
        {
            "type": "bar",
            "name": name,
            "x": labels,
            "y": [k.counts[i] for k in kinds],
            "marker": {"color": AGE_COLOURS[i]},
            "hovertemplate": f"%{{x}}<br>open {name}: <b>%{{y}}</b><extra></extra>",
        }
        for i, (name, _, _) in enumerate(AGE_BUCKETS)
    ]
    layout = {"barmode": "stack", "yaxis": count_axis("open cases", max((k.total for k in kinds), default=0))}
    return {"data": data, "layout": layout}


def breaches_figure(days: list[BreachDay]) -> Figure:
    x = [d.day.isoformat() for d in days]
    data = [
        {
            "type": "bar",
            "name": "resolved since",
            "x": x,
            "y": [d.breaches - d.still_open for d in days],
            "marker": {"color": BLUE_LIGHT},
            "hovertemplate": "%{x}<br>resolved since: <b>%{y}</b><extra></extra>",
        },
        {
            "type": "bar",
            "name": "still open",
            "x": x,
            "y": [d.still_open for d in days],
            "marker": {"color": RED},
            "hovertemplate": "%{x}<br>still open: <b>%{y}</b><extra></extra>",
        },
    ]
    layout = {"barmode": "stack", "xaxis": {"type": "date", "dtick": 86400000, "tickformat": "%b %d"}}
    layout["yaxis"] = count_axis("breaches", max((d.breaches for d in days), default=0))
    return {"data": data, "layout": layout}


def cycle_figure(legs: list[Leg]) -> Figure:
    unit, size = duration_unit(max((leg.p90 or 0.0) for leg in legs) if legs else 0.0)
    labels = [f"{leg.label} ({leg.orders})" for leg in legs]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": labels,
            "x": [_in(getattr(leg, field), size) for leg in legs],
            "marker": {"color": colour},
            "hovertemplate": f"%{{y}}<br>{name}: <b>%{{x}} {unit}</b><extra></extra>",
        }
        for name, field, colour in (("median (p50)", "p50", BLUE), ("p90", "p90", AMBER))
    ]
    layout = {
        "barmode": "group",
        "xaxis": {"title": {"text": unit}, "rangemode": "tozero"},
        "yaxis": {"autorange": "reversed", "ticksuffix": "  "},
    }
    return {"data": data, "layout": layout}


def on_time_figure(on_time: OnTime) -> Figure:
    x = [d.day.isoformat() for d in on_time.days]

    def bars(name: str, values: list[int], colour: str) -> dict[str, Any]:
        return {
            "type": "bar",
            "name": name,
            "x": x,
            "y": values,
            "marker": {"color": colour},
            "hovertemplate": f"%{{x}}<br>{name}: <b>%{{y}}</b><extra></extra>",
        }

    data = [
        bars("on time", [d.on_time for d in on_time.days], GREEN),
        bars("late", [d.promised - d.on_time for d in on_time.days], RED),
        bars("no promised date", [d.delivered - d.promised for d in on_time.days], GREY),
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "on-time %",
            "x": x,
            "y": [None if d.share is None else round(100 * d.share, 1) for d in on_time.days],
            "yaxis": "y2",
            "connectgaps": False,
            "line": {"color": "#17324d", "width": 2},
            "hovertemplate": "%{x}<br>on time: <b>%{y}%</b><extra></extra>",
        },
    ]
    layout = {
        "barmode": "stack",
        "xaxis": {"type": "date", "dtick": 86400000, "tickformat": "%b %d"},
        "yaxis": count_axis("orders delivered", max((d.delivered for d in on_time.days), default=0)),
        "yaxis2": {
            "title": {"text": "on time %"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "tickvals": [0, 25, 50, 75, 100],
            "ticksuffix": "%",
        },
    }
    return {"data": data, "layout": layout}


def _bucket_starts(span: Span) -> list[datetime]:
    """Every bucket of the span, so that a silent hour reads as a drop to zero, not as a line
    drawn straight across it."""
    step = timedelta(hours=1) if span.bucket == "hour" else timedelta(days=1)
    since = span.since.astimezone(UTC)
    start = since.replace(minute=0, second=0, microsecond=0)
    if span.bucket == "day":
        start = start.replace(hour=0)
    return [start + step * n for n in range(int((span.until - start) / step) + 1)]


def events_figure(activity: list[FeedActivity], *, span: Span) -> Figure:
    shown, rest = activity[:TOP_FEEDS], activity[TOP_FEEDS:]
    series: list[tuple[str, dict[datetime, int]]] = [(a.slug, dict(a.buckets)) for a in shown]
    if rest:
        summed: dict[datetime, int] = {}
        for a in rest:
            for at, n in a.buckets:
                summed[at] = summed.get(at, 0) + n
        series.append((f"{len(rest)} other feeds", summed))
    starts = _bucket_starts(span)
    x = [at.isoformat() for at in starts]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": name,
            "x": x,
            "y": [counts.get(at, 0) for at in starts],
            "line": {"color": FEED_COLOURS[i % len(FEED_COLOURS)], "width": 1.5, "shape": "hv"},
            "hovertemplate": f"{name}<br>%{{x}}<br><b>%{{y}}</b> events<extra></extra>",
        }
        for i, (name, counts) in enumerate(series)
    ]
    largest = max((n for _, counts in series for n in counts.values()), default=0)
    layout = {"xaxis": {"type": "date"}, "yaxis": count_axis(f"events per {span.bucket}", largest)}
    return {"data": data, "layout": layout}


def lag_figure(rows: list[tuple[str, Lag]]) -> Figure:
    measured = [(slug, lag) for slug, lag in rows if lag.sampled]
    unit, size = duration_unit(max((lag.p90 or 0.0) for _, lag in measured) if measured else 0.0)
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": [slug for slug, _ in measured],
            "x": [_in(getattr(lag, field), size) for _, lag in measured],
            "marker": {"color": colour},
            "hovertemplate": f"%{{y}}<br>{name}: <b>%{{x}} {unit}</b><extra></extra>",
        }
        for name, field, colour in (("median (p50)", "p50", BLUE), ("p90", "p90", AMBER))
    ]
    layout = {"barmode": "group", "xaxis": {"title": {"text": f"lag, {unit}"}}, "yaxis": {"autorange": "reversed"}}
    return {"data": data, "layout": layout}
