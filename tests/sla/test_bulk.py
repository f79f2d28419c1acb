"""The sweep opens breach cases in bulk (one SQL statement on PostgreSQL, bulk_create elsewhere):
the rows must be those `sla_breach_open` makes one at a time, including the `previous` link, the
history entry, and an unresolved case of the same (policy, order) being found, not duplicated."""

from datetime import datetime
from typing import Any

from apps.exceptions.choices import CaseStatus
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from apps.exceptions.services import sla_breach_open
from apps.sla.models import Expectation
from apps.sla.services import sla_sweep

from .conftest import T, express_order, pick_policy, released

SAME = (
    "kind",
    "code",
    "subject",
    "source_type",
    "order_id",
    "severity",
    "queue",
    "opened_at",
    "last_seen_at",
    "occurrences",
    "first_event_id",
    "last_event_id",
    "assignee_id",
    "snoozed_until",
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(T(hour, minute))


def fields(case: ExceptionCase) -> dict[str, Any]:
    return {name: getattr(case, name) for name in SAME}


def opened_entry(case: ExceptionCase) -> tuple[Any, ...]:
    entry = ExceptionActivity.objects.get(case=case, action="opened")
    return entry.actor_id, entry.detail


def test_the_sweep_opens_the_cases_sla_breach_open_would(world):
    policy = pick_policy()
    for order in ("SO-1", "SO-2", "SO-3"):
        express_order(world, order)
        released(world, order)
    exp = {e.order.value: e for e in Expectation.objects.select_related("order")}

    def by_hand(order: str) -> ExceptionCase:
        return sla_breach_open(
            policy_name=policy.name,
            order_id=exp[order].order_id,
            order_key=order,
            severity=policy.severity,
            queue=policy.queue,
            breached_at=exp[order].due_at,
        )

    earlier = by_hand("SO-1")
    ExceptionCase.objects.filter(id=earlier.id).update(status=CaseStatus.RESOLVED)  # an old breach, over
    still_open = by_hand("SO-3")  # a breach nobody resolved (e.g. a policy recreated under its old name)

    opened = {key: case_id for _, key, case_id in sla_sweep(at(14, 30)).opened}

    assert opened["SO-3"] == still_open.id  # found, not duplicated
    assert ExceptionCase.objects.filter(fingerprint=still_open.fingerprint).count() == 1
    swept = ExceptionCase.objects.get(id=opened["SO-1"])
    assert fields(swept) == fields(earlier)
    assert (swept.fingerprint, swept.status, swept.previous_id) == (earlier.fingerprint, CaseStatus.OPEN, earlier.id)
    assert (swept.resolution, swept.resolved_at, swept.cleared_at) == ("", None, None)
    assert opened_entry(swept) == opened_entry(earlier)
    other = ExceptionCase.objects.get(id=opened["SO-2"])
    assert (other.fingerprint, other.subject, other.previous_id) == (
        "sla_breach:pick-within-4h:SO-2",
        "order:SO-2",
        None,
    )
    assert dict(Expectation.objects.values_list("order__value", "breach_case_id")) == opened
