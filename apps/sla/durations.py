"""ISO-8601 durations ("PT4H", "P1DT30M") for policies' `within`, shared by the API and the
policy form."""

import re
from datetime import timedelta

from django.utils.dateparse import parse_duration

# ISO 8601 only: parse_duration also takes "4:00:00" and "1 day, 4:00:00", which a contract
# field should not silently accept.
_ISO_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def duration_parse(text: str) -> timedelta:
    """A positive ISO-8601 duration, or ValueError saying what is wrong."""
    cleaned = str(text).strip().upper()
    parsed = parse_duration(cleaned) if _ISO_DURATION.match(cleaned) else None
    if parsed is None:
        raise ValueError(f'not an ISO-8601 duration (e.g. "PT4H", "P1DT12H"): {text!r}')
    if parsed <= timedelta(0):
        raise ValueError("must be a positive duration")
    return parsed


def duration_iso(value: timedelta) -> str:
    """`timedelta(hours=4)` → "PT4H"."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if seconds else "PT0S"
