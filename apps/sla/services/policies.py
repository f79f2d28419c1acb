"""Creating and changing SLA policies (the API and the policy pages both call these).

A policy applies to events that arrive after it exists and, when created (or re-activated), to
the orders open at that moment: a task evaluates those after the save commits, in batches
(open_orders.py), so a save costs the same whatever the number of open orders. The policy and
its audit record commit together or not at all. Deactivating cancels its running clocks."""

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction

from apps.accounts.services import audit_record
from apps.common.time import now

from ..choices import ExpectationStatus
from ..models import Expectation, SlaPolicy
from .open_orders import evaluation_queue

APPLIES_TO_KEYS = ("service_level", "customer", "partner")
POLICY_FIELDS = ("name", "start", "stop", "within", "deadline", "applies_to", "severity", "queue", "active")


def _validate(data: dict[str, Any]) -> None:
    has_within = data.get("within") is not None
    has_deadline = bool(data.get("deadline"))
    if has_within == has_deadline:
        raise ValueError("within: give exactly one of within or deadline")
    if has_within and data["within"] <= timedelta(0):
        raise ValueError("within: must be a positive duration")
    unknown = sorted(set(data.get("applies_to") or {}) - set(APPLIES_TO_KEYS))
    if unknown:
        raise ValueError(f"applies_to: unknown key {', '.join(unknown)}; allowed: {', '.join(APPLIES_TO_KEYS)}")
    if not data.get("stop"):
        raise ValueError("stop: at least one event type")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    data["deadline"] = data.get("deadline") or ""
    # Empty filters mean "any": store only the ones that select something.
    data["applies_to"] = {k: v.strip() for k, v in (data.get("applies_to") or {}).items() if v and v.strip()}
    return data


def sla_policy_create(*, actor: object, **data: Any) -> SlaPolicy:
    """Create a policy, audited in the same transaction, and queue its evaluation over the
    orders open right now (their timelines may already hold the start, and the stop,
    milestones): open_orders.py, after the commit, off the request."""
    _validate(data)
    data = _clean(data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                policy = SlaPolicy.objects.create(**data)
        except IntegrityError as exc:
            raise ValueError(f"name: a policy named {data.get('name')!r} exists") from exc
        audit_record(
            actor=actor, action="sla_policy.created", target=f"sla_policy:{policy.name}", detail=_detail(policy)
        )
        if policy.active:
            evaluation_queue(policy, revive=False)
    return policy


def sla_policy_update(*, policy: SlaPolicy, actor: object, **changes: Any) -> SlaPolicy:
    """Change a policy, audited in the same transaction. Existing expectations keep their due
    time; new ones use the new rule. Deactivating cancels its pending expectations (they are
    neither swept nor counted; one UPDATE); an active policy is evaluated again over the orders
    open at that moment, after the commit (re-activating also revives the clocks the deactivation
    cancelled on those orders), as a new policy would be."""
    with transaction.atomic():
        # The row lock orders this save with another one and with a batch of the evaluation.
        was_active = SlaPolicy.objects.select_for_update().filter(id=policy.id).values_list("active", flat=True).get()
        merged = {name: getattr(policy, name) for name in POLICY_FIELDS}
        changed = sorted(name for name, value in changes.items() if merged.get(name) != value)
        merged.update(changes)
        _validate(merged)
        merged = _clean(merged)
        for name, value in merged.items():
            setattr(policy, name, value)
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError as exc:
            raise ValueError(f"name: a policy named {merged['name']!r} exists") from exc
        audit_record(
            actor=actor,
            action="sla_policy.updated",
            target=f"sla_policy:{policy.name}",
            detail={**_detail(policy), "changed": changed},
        )
        if was_active and not policy.active:
            _cancel_pending(policy)
        elif policy.active:
            evaluation_queue(policy, revive=not was_active)
    return policy


def sla_policy_set_active(*, policy: SlaPolicy, active: bool, actor: object) -> SlaPolicy:
    return sla_policy_update(policy=policy, actor=actor, active=active)


def _cancel_pending(policy: SlaPolicy) -> int:
    # Compare-and-set on status: a row the sweep is breaching right now is left to it.
    return Expectation.objects.filter(policy=policy, status=ExpectationStatus.PENDING).update(
        status=ExpectationStatus.CANCELLED, updated_at=now()
    )


def _detail(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "start": policy.start,
        "stop": policy.stop,
        "within": policy.within.total_seconds() if policy.within is not None else None,
        "deadline": policy.deadline or None,
        "applies_to": policy.applies_to,
        "severity": policy.severity,
        "queue": policy.queue,
        "active": policy.active,
    }
