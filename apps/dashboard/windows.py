"""The time windows the dashboard's charts are read over, and the bucket each one is drawn in."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import models


class Window(models.TextChoices):
    DAY = "24h", "Last 24 hours"
    WEEK = "7d", "Last 7 days"
    MONTH = "30d", "Last 30 days"


DEFAULT_WINDOW = Window.WEEK
SPAN: dict[str, timedelta] = {
    Window.DAY: timedelta(hours=24),
    Window.WEEK: timedelta(days=7),
    Window.MONTH: timedelta(days=30),
}
# Hourly bars over 30 days (720 per feed) are unreadable; a day is the natural grain there.
BUCKET: dict[str, str] = {Window.DAY: "hour", Window.WEEK: "hour", Window.MONTH: "day"}


@dataclass(frozen=True, slots=True)
class Span:
    """[since, until], until being the moment the page was asked for: nothing is later but
    events dated in the future, which no measure counts."""

    window: str
    since: datetime
    until: datetime

    @property
    def bucket(self) -> str:
        return BUCKET[self.window]

    @property
    def label(self) -> str:
        return str(Window(self.window).label)

    def days(self) -> list[date]:
        """Every UTC day the span touches, oldest first."""
        first, last = self.since.astimezone(UTC).date(), self.until.astimezone(UTC).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def span_of(window: str | None, *, at: datetime) -> Span:
    """The span for a `?window=` value; anything unknown reads as the default."""
    chosen = window if window in SPAN else DEFAULT_WINDOW
    return Span(window=str(chosen), since=at - SPAN[str(chosen)], until=at)
