"""Template filters for the dashboard: durations and shares as an ops lead reads them."""

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """42 s, 12 min, 3.4 h, 2.1 days; a negative lag keeps its sign (a clock ahead)."""
    if seconds is None:
        return "—"
    sign, value = ("-" if seconds < 0 else ""), abs(seconds)
    if value < 120:
        text = f"{value:.0f} s"
    elif value < 2 * 3600:
        text = f"{value / 60:.0f} min"
    elif value < 3 * 86400:
        text = f"{value / 3600:.1f} h"
    else:
        text = f"{value / 86400:.1f} days"
    return sign + text


@register.filter
def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f}%"
