"""Exception measures: what is open now, by kind and age, and SLA breaches per day.

"Open" is what still needs a person now: open or acknowledged cases, and snoozed ones whose
snooze has run out (they read as open again, as in the queue). A case snoozed into the future
is parked, counted apart. The unresolved cases are a small part of the table (the queue index
on status serves them); breaches per day are bounded by the window on opened_at."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from apps.exceptions.choices import ACTIVE_STATUSES, CaseStatus, ExceptionKind, Severity
from apps.exceptions.models import ExceptionCase

from ..windows import Span

URGENT_SEVERITIES: tuple[str, ...] = (Severity.HIGH, Severity.CRITICAL)
# (label, youngest age, oldest age): a case's age is now - opened_at (the first occurrence).
AGE_BUCKETS: tuple[tuple[str, timedelta, timedelta | None], ...] = (
    ("under 1 h", timedelta(0), timedelta(hours=1)),
    ("1-4 h", timedelta(hours=1), timedelta(hours=4)),
    ("4-24 h", timedelta(hours=4), timedelta(hours=24)),
    ("1-3 days", timedelta(hours=24), timedelta(days=3)),
    ("over 3 days", timedelta(days=3), None),
)


def open_now(at: datetime) -> Q:
    snooze_over = Q(status=CaseStatus.SNOOZED, snoozed_until__lte=at)
    return Q(status__in=(CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)) | snooze_over


def snoozed_now(at: datetime) -> Q:
    return Q(status=CaseStatus.SNOOZED) & (Q(snoozed_until__gt=at) | Q(snoozed_until__isnull=True))


@dataclass(frozen=True, slots=True)
class ExceptionCounts:
    open: int
    urgent: int  # of which high or critical
    snoozed: int
    breaches_today: int


def _breaches_between(since: datetime, until: datetime) -> QuerySet[ExceptionCase]:
    # Resolved cases pile up for ever and opened_at has no index. last_seen_at >= opened_at holds
    # for every case, so the redundant bound (with every status spelled out) lets the queue index
    # on (status, last_seen_at) hand over only the recent cases instead of a full scan.
    return ExceptionCase.objects.filter(
        kind=ExceptionKind.SLA_BREACH,
        opened_at__range=(since, until),
        status__in=CaseStatus.values,
        last_seen_at__gte=since,
    )


def exception_counts(*, at: datetime) -> ExceptionCounts:
    """Two queries: the unresolved cases, and today's breaches (UTC day), resolved ones included."""
    unresolved = ExceptionCase.objects.filter(status__in=ACTIVE_STATUSES).aggregate(
        open=Count("id", filter=open_now(at)),
        urgent=Count("id", filter=open_now(at) & Q(severity__in=URGENT_SEVERITIES)),
        snoozed=Count("id", filter=snoozed_now(at)),
    )
    midnight = datetime.combine(at.astimezone(UTC).date(), time(0), tzinfo=UTC)
    breaches = _breaches_between(midnight, at)
    return ExceptionCounts(
        open=unresolved["open"],
        urgent=unresolved["urgent"],
        snoozed=unresolved["snoozed"],
        breaches_today=breaches.count(),
    )


@dataclass(frozen=True, slots=True)
class KindAges:
    kind: str
    label: str
    counts: list[int]  # one per AGE_BUCKETS entry

    @property
    def total(self) -> int:
        return sum(self.counts)


def _age_filter(at: datetime, youngest: timedelta, oldest: timedelta | None) -> Q:
    # A case dated in the future (a partner clock ahead) is "under 1 h", not lost.
    q = Q(opened_at__lte=at - youngest) if youngest else Q()
    return q & Q(opened_at__gt=at - oldest) if oldest is not None else q


def open_exceptions_by_age(*, at: datetime) -> list[KindAges]:
    """Open cases per kind, split into age buckets; kinds with none are left out. One query."""
    buckets = {f"b{i}": Count("id", filter=_age_filter(at, lo, hi)) for i, (_, lo, hi) in enumerate(AGE_BUCKETS)}
    rows = ExceptionCase.objects.filter(open_now(at), status__in=ACTIVE_STATUSES).values("kind").annotate(**buckets)
    labels = dict(ExceptionKind.choices)
    result = []
    for row in rows.order_by():
        counts: dict[str, Any] = dict(row)
        kind = counts["kind"]
        result.append(KindAges(kind=kind, label=str(labels.get(kind, kind)), counts=[counts[k] for k in buckets]))
    return sorted(result, key=lambda k: (-k.total, k.kind))


@dataclass(frozen=True, slots=True)
class BreachDay:
    day: date
    breaches: int
    still_open: int


def breaches_per_day(*, span: Span) -> list[BreachDay]:
    """SLA breaches by the UTC day they happened (the case's opened_at is the deadline that
    passed), every day of the window present; `still_open` = not resolved yet. One query."""
    rows = (
        _breaches_between(span.since, span.until)
        .annotate(day=TruncDate("opened_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"), still_open=Count("id", filter=Q(status__in=ACTIVE_STATUSES)))
        .order_by()
    )
    by_day = {r["day"]: (r["n"], r["still_open"]) for r in rows}
    return [BreachDay(d, *by_day.get(d, (0, 0))) for d in span.days()]
