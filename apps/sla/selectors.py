from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from .choices import ExpectationStatus
from .models import Expectation, SlaPolicy

COUNT_WINDOW = timedelta(days=7)


def sla_policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.order_by("name")


def sla_policy_get(*, policy_id: int) -> SlaPolicy | None:
    return SlaPolicy.objects.filter(id=policy_id).first()


def expectations_of_order(*, order_id: int) -> QuerySet[Expectation]:
    return Expectation.objects.filter(order_id=order_id).select_related("policy").order_by("due_at")


@dataclass(frozen=True)
class PolicyCounts:
    pending: int = 0  # clocks running now
    breached: int = 0  # deadline passed, stop still missing (an open sla_breach case)
    met: int = 0  # stop in time, stop in the window
    met_late: int = 0  # stop after the deadline, stop in the window


def policy_counts(*, policy_ids: list[int], at: datetime) -> dict[int, PolicyCounts]:
    """Per policy, one grouped query: what runs now, and how the last 7 days ended."""
    since = at - COUNT_WINDOW
    rows = (
        Expectation.objects.filter(policy_id__any=policy_ids)
        .exclude(status=ExpectationStatus.CANCELLED)
        .values("policy_id")
        .annotate(
            pending=Count("id", filter=Q(status=ExpectationStatus.PENDING)),
            breached=Count("id", filter=Q(status=ExpectationStatus.BREACHED)),
            met=Count("id", filter=Q(status=ExpectationStatus.MET, met_at__gte=since)),
            met_late=Count("id", filter=Q(status=ExpectationStatus.MET_LATE, met_at__gte=since)),
        )
        .values_list("policy_id", "pending", "breached", "met", "met_late")
    )
    counts = {policy_id: PolicyCounts() for policy_id in policy_ids}
    for policy_id, pending, breached, met, met_late in rows:
        counts[policy_id] = PolicyCounts(pending, breached, met, met_late)
    return counts


def policy_expectations(*, policy_id: int, status: str | None = None) -> QuerySet[Expectation]:
    """A policy's expectations, most urgent first: the earliest deadline still running on top."""
    qs = Expectation.objects.filter(policy_id=policy_id).select_related("order", "breach_case")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("due_at", "id")
