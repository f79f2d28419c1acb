from datetime import timedelta

from django import template

from ..durations import duration_iso

register = template.Library()

APPLIES_TO_LABELS = {"service_level": "Service level", "customer": "Customer", "partner": "Partner"}


@register.filter
def iso_duration(value: timedelta | None) -> str:
    return duration_iso(value) if value is not None else ""


@register.filter
def human_duration(value: timedelta | None) -> str:
    """4 h, 1 d 12 h, 30 min."""
    if value is None:
        return ""
    minutes = int(value.total_seconds()) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "min")) if n]
    return " ".join(parts) or f"{int(value.total_seconds())} s"


@register.filter
def applies_label(key: str) -> str:
    return APPLIES_TO_LABELS.get(key, key)
