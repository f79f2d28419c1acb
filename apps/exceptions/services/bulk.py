"""Bulk actions from the queue page: one action on many selected cases.

Each case still goes through its own single-case action (compare-and-set, its own transaction,
history entry and audit entry): a case that someone else resolved a moment ago is reported as a
conflict and does not undo the others, and the audit log reads the same whether a case was
resolved alone or with forty others. The input is checked once, before any case is touched."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User

from apps.common.time import now

from ..models import ExceptionCase
from .actions import exception_acknowledge, exception_assign, exception_resolve, exception_snooze
from .cases import CaseConflict

BULK_ACTIONS: tuple[str, ...] = ("assign", "acknowledge", "snooze", "resolve")
# A page holds 50; a larger batch is a script's job (the API), not a click's.
BULK_MAX_CASES = 500


@dataclass(frozen=True)
class BulkResult:
    action: str
    done: list[int] = field(default_factory=list)
    conflicts: dict[int, str] = field(default_factory=dict)  # case id → why it was refused
    missing: list[int] = field(default_factory=list)  # ids that name no case


def exceptions_bulk(
    *,
    case_ids: Iterable[int],
    action: str,
    actor: User,
    assignee: User | None = None,
    until: datetime | None = None,
    resolution: str = "",
) -> BulkResult:
    """Apply `action` to every case in `case_ids`, in id order; report which cases it changed,
    which refused (resolved meanwhile, or a state the action does not allow) and which ids
    name no case. `assignee=None` with `assign` unassigns."""
    ids = sorted(set(case_ids))
    one = _one_case_action(action, actor=actor, assignee=assignee, until=until, resolution=resolution)
    if not ids:
        raise ValueError("cases: select at least one exception")
    if len(ids) > BULK_MAX_CASES:
        raise ValueError(f"cases: at most {BULK_MAX_CASES} at a time, not {len(ids)}")
    cases = {case.id: case for case in ExceptionCase.objects.filter(id__in=ids)}
    result = BulkResult(action=action, missing=[i for i in ids if i not in cases])
    for case_id in ids:
        case = cases.get(case_id)
        if case is None:
            continue
        try:
            one(case)
        except CaseConflict:
            current = ExceptionCase.objects.filter(id=case_id).values_list("status", flat=True).first()
            result.conflicts[case_id] = f"it is {current} now" if current else "it no longer exists"
        else:
            result.done.append(case_id)
    return result


def _one_case_action(
    action: str, *, actor: User, assignee: User | None, until: datetime | None, resolution: str
) -> Callable[[ExceptionCase], object]:
    """The single-case service call, its input already checked (ValueError "field: why")."""
    if action == "assign":
        return lambda case: exception_assign(case=case, assignee=assignee, actor=actor)
    if action == "acknowledge":
        return lambda case: exception_acknowledge(case=case, actor=actor)
    if action == "snooze":
        if until is None:
            raise ValueError("until: required to snooze")
        if until.tzinfo is None or until.utcoffset() is None:
            raise ValueError("until: naive time, offset required")
        if until <= now():
            raise ValueError("until: must be in the future")
        return lambda case: exception_snooze(case=case, until=until, actor=actor)
    if action == "resolve":
        text = resolution.strip()
        if not text:
            raise ValueError("resolution: say how it was resolved")
        return lambda case: exception_resolve(case=case, resolution=text, actor=actor)
    raise ValueError(f"action: unknown bulk action {action!r}; one of {', '.join(BULK_ACTIONS)}")
