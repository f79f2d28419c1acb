"""Time helpers. Every datetime in the project is tz-aware; these make that hard to forget."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def ensure_aware(value: datetime, *, field: str = "time") -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: naive time, offset required")
    return value


def to_utc(value: datetime) -> datetime:
    return ensure_aware(value).astimezone(UTC)


def parse_iso(value: str, *, field: str = "time") -> datetime:
    """Parse an ISO-8601 time with an offset (a trailing Z is accepted)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{field}: not an ISO-8601 time: {value!r}") from exc
    return ensure_aware(parsed, field=field)


def duration_text(delta: timedelta) -> str:
    """`12 min`, `5h`, `3d 4h`: a duration rounded to what a person reads at a glance (sign dropped)."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days, rest = divmod(hours, 24)
    return f"{days}d {rest}h" if rest else f"{days}d"
