"""EPCIS times: xsd:dateTime values and time-zone offsets, read strictly (Python's
`fromisoformat` would also take week dates and compact forms no EPCIS document sends)."""

import re
from datetime import UTC, datetime, timedelta, timezone

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE
)
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parse_offset(text: str) -> timezone | None:
    """``-06:00`` → the fixed offset (``Z`` is UTC); None when it is not an offset within ±14:00."""
    text = text.strip()
    if text.upper() == "Z":
        return UTC
    match = _OFFSET.match(text)
    if not match:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3))
    if minutes >= 60 or hours * 60 + minutes > 14 * 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match.group(1) == "-" else delta)


def parse_time(text: str) -> tuple[datetime, bool] | None:
    """An xsd:dateTime → (datetime, whether it carried its zone); a time without a zone is
    returned naive for the caller to place. Fractions beyond microseconds are cut."""
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = parse_offset(match.group(8)) if match.group(8) else None
    if match.group(8) and zone is None:
        return None
    try:
        if hour == 24 and minute == 0 and second == 0 and micro == 0:  # xsd allows 24:00:00
            value = datetime(year, month, day, tzinfo=zone) + timedelta(days=1)
        else:
            value = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except (ValueError, OverflowError):
        return None
    return value, zone is not None


def utc_ms(text: str) -> str:
    """A time as the event hash wants it: UTC, millisecond precision, ``Z``
    (``2005-04-03T20:33:31.116-06:00`` → ``2005-04-04T02:33:31.116Z``). A time without a zone
    is taken as UTC; text that is no time is returned trimmed."""
    parsed = parse_time(text)
    if parsed is None:
        return text.strip()
    value = parsed[0] if parsed[1] else parsed[0].replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
        millis = (value.microsecond + 500) // 1000
        value = value.replace(microsecond=0) + timedelta(milliseconds=millis)
    except OverflowError:  # within a day of year 1 or 9999
        return text.strip()
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )


def iso(value: datetime) -> str:
    """RFC 3339 with the value's offset, at the precision it has (s, ms or µs)."""
    if value.microsecond == 0:
        return value.isoformat(timespec="seconds")
    if value.microsecond % 1000 == 0:
        return value.isoformat(timespec="milliseconds")
    return value.isoformat(timespec="microseconds")
