"""IANA time zones, for the feed step's choice."""

from functools import cache
from zoneinfo import available_timezones


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this system knows, sorted ("UTC" first: the default)."""
    names = sorted(available_timezones() - {"UTC"})
    return ("UTC", *names)


def is_zone(name: str) -> bool:
    return name in zone_names()
