"""Plotly figures ({"data", "layout"}) of feed health: pure functions of the selectors' results.
The page hands each to static/js/feed_health.js with json_script; every number a chart shows is
also in the table beside it."""

from typing import Any

from .health import FeedHealth

Figure = dict[str, Any]

BAR = "#1d5fa8"


def _hour_label(health: FeedHealth) -> list[str]:
    return [hour.strftime("%Y-%m-%dT%H:%M:%SZ") for hour, _ in health.hourly]


def events_per_hour_figure(health: FeedHealth) -> Figure:
    """One feed's events stored per hour over the last 24 h, as bars."""
    counts = [n for _, n in health.hourly]
    data = [
        {
            "type": "bar",
            "name": "events",
            "x": _hour_label(health),
            "y": counts,
            "marker": {"color": BAR},
            "hovertemplate": "%{x|%H:%M} UTC<br><b>%{y}</b> events<extra></extra>",
        }
    ]
    axis: dict[str, Any] = {"title": {"text": "events per hour"}, "rangemode": "tozero", "tickformat": ",d"}
    if max(counts, default=0) <= 5:
        axis["dtick"] = 1
    return {"data": data, "layout": {"yaxis": axis, "xaxis": {"type": "date", "title": {"text": "UTC"}}}}


def overview_figure(rows: list[FeedHealth]) -> Figure:
    """Events per hour of each feed of the page, one row of the heat map per feed: a feed gone
    quiet is a row that turns pale, a catch-up a dark patch."""
    if not rows:
        return {"data": [], "layout": {}}
    slugs = [f"{row.feed.slug} ({row.status})" for row in rows]
    data = [
        {
            "type": "heatmap",
            "x": _hour_label(rows[0]),
            "y": slugs,
            "z": [[n for _, n in row.hourly] for row in rows],
            "colorscale": [[0, "#f4f6f8"], [0.001, "#d6e6f5"], [1, BAR]],
            "colorbar": {"title": {"text": "events"}, "thickness": 12},
            "hovertemplate": "%{y}<br>%{x|%H:%M} UTC: <b>%{z}</b> events<extra></extra>",
            "xgap": 1,
            "ygap": 2,
        }
    ]
    layout = {
        "height": max(160, 60 + 26 * len(rows)),
        "xaxis": {"type": "date", "title": {"text": "UTC"}},
        "yaxis": {"autorange": "reversed", "automargin": True},
    }
    return {"data": data, "layout": layout}
