"""Writes on `sla_breach` cases that apps/exceptions/services/sla.py does not offer yet.

Temporary home: these belong beside `sla_breach_open` / `sla_breach_resolve` in
apps/exceptions/services/sla.py (being edited by another slice) and move there as they are.

* `sla_breaches_open`: the set-based form of `sla_breach_open` (the same fingerprint, fields,
  `previous` link and "opened" history entry), with one INSERT per batch.
* `sla_breaches_claim_open`: on PostgreSQL, the sweep's claim and the case opening in one
  statement — the claimed rows never travel to Python and back. It builds the case rows with
  the same rules in SQL; `tests/sla/test_bulk.py` holds every path to the same rows as
  `sla_breach_open`.
* `sla_breaches_record_over`: the set-based form of `sla_breach_open(..., cleared=...)`, for
  stops that arrived late before any sweep (the breach is recorded already resolved).
* `sla_breach_move`: a breach case's breach time follows its expectation's `due_at` when an
  earlier start milestone moves the deadline earlier."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Model

from apps.common.time import now
from apps.events.taxonomy import RefKind
from apps.exceptions.choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from apps.exceptions.services import sla_breach_open
from apps.exceptions.services.cases import case_changed

from .choices import ExpectationStatus


@dataclass(frozen=True)
class Breach:
    policy_name: str
    order_id: int
    order_key: str
    severity: str
    queue: str
    breached_at: datetime


def breach_fingerprint(policy_name: str, order_key: str) -> str:
    """The grouping key `sla_breach_open` uses: one unresolved case per (policy, order)."""
    return f"{ExceptionKind.SLA_BREACH}:{policy_name}:{order_key}"


def _case_fields(b: Breach, fp: str, previous: int | None) -> dict[str, Any]:
    return {
        "kind": ExceptionKind.SLA_BREACH,
        "code": b.policy_name[:100],
        "fingerprint": fp,
        "subject": f"{RefKind.ORDER}:{b.order_key}",
        "order_id": b.order_id,
        "severity": b.severity,
        "queue": b.queue,
        "status": CaseStatus.OPEN,
        "opened_at": b.breached_at,
        "last_seen_at": b.breached_at,
        "occurrences": 1,
        "previous_id": previous,
    }


def _latest_resolved(fingerprints: list[str]) -> dict[str, int]:
    """fingerprint → its latest resolved case (the `previous` link of a new case): one query."""
    return dict(
        ExceptionCase.objects.filter(fingerprint__any=sorted(set(fingerprints)), status=CaseStatus.RESOLVED)
        .values("fingerprint")
        .annotate(last=Max("id"))
        .values_list("fingerprint", "last")
    )


def sla_breaches_open(breaches: list[Breach], *, announce: int) -> list[int]:
    """Open the breach case of each (policy, order), or find its unresolved one. Returns the
    case ids in input order. `announce`: how many of the new cases get their own live message
    (`case_changed`); see docs/sla.md "Live messages"."""
    if not breaches:
        return []
    at = now()
    fps = [breach_fingerprint(b.policy_name, b.order_key) for b in breaches]
    unresolved = dict(
        ExceptionCase.objects.filter(fingerprint__any=fps, status__in=ACTIVE_STATUSES).values_list("fingerprint", "id")
    )
    previous = _latest_resolved(fps)
    fresh = [(b, fp) for b, fp in zip(breaches, fps, strict=True) if fp not in unresolved]
    try:
        with transaction.atomic():
            cases = ExceptionCase.objects.bulk_create(
                [ExceptionCase(**_case_fields(b, fp, previous.get(fp))) for b, fp in fresh]
            )
    except IntegrityError:
        # Another writer opened one of these meanwhile: the one-by-one rule returns its case.
        return [_open_one(b) for b in breaches]
    ExceptionActivity.objects.bulk_create(
        ExceptionActivity(
            case_id=case.id,
            action=ActivityAction.OPENED,
            at=at,
            detail={"policy": b.policy_name, "due_at": b.breached_at.isoformat()},
        )
        for case, (b, _) in zip(cases, fresh, strict=True)
    )
    for case in cases[:announce]:
        case_changed(case.id, opened=True)
    ids = {fp: case.id for case, (_, fp) in zip(cases, fresh, strict=True)}
    return [unresolved[fp] if fp in unresolved else ids[fp] for fp in fps]


def sla_breaches_record_over(over: list[tuple[Breach, tuple[int | None, datetime, str]]]) -> list[int]:
    """`sla_breach_open(..., cleared=...)` for many late stops at once: each breach goes on
    record already resolved (so it counts in reports) by its stop (event id, occurred_at, type),
    in three statements whatever their number. Returns the case ids in input order."""
    if not over:
        return []
    at = now()
    fps = [breach_fingerprint(b.policy_name, b.order_key) for b, _ in over]
    previous = _latest_resolved(fps)
    cases = ExceptionCase.objects.bulk_create(
        ExceptionCase(
            **{
                **_case_fields(b, fp, previous.get(fp)),
                "status": CaseStatus.RESOLVED,
                "resolved_at": at,
                "cleared_by_event_id": event_id,
                "cleared_at": cleared_at,
                "resolution": f"auto: {stop_type}",
            }
        )
        for (b, (event_id, cleared_at, stop_type)), fp in zip(over, fps, strict=True)
    )
    ExceptionActivity.objects.bulk_create(
        ExceptionActivity(
            case_id=case.id, action=ActivityAction.AUTO_RESOLVED, at=at, detail={"event": stop[0], "late": True}
        )
        for case, (_, stop) in zip(cases, over, strict=True)
    )
    for case in cases:
        case_changed(case.id, opened=True)  # new cases, on record already resolved
    return [case.id for case in cases]


def _open_one(b: Breach) -> int:
    return sla_breach_open(
        policy_name=b.policy_name,
        order_id=b.order_id,
        order_key=b.order_key,
        severity=b.severity,
        queue=b.queue,
        breached_at=b.breached_at,
    ).id


@dataclass(frozen=True)
class Claimed:
    expectation_id: int
    case_id: int
    policy_name: str
    order_key: str


# The columns the statement computes; every other column of the two tables gets its model
# default as a parameter (so a field added later with a default needs no change here).
_CASE_SQL = {
    "id": "c.case_id",
    "kind": "%(kind)s",
    "code": "left(c.name, 100)",
    "fingerprint": "c.fingerprint",
    "subject": "%(subject_prefix)s || c.order_key",
    "order_id": "c.order_id",
    "severity": "c.severity",
    "queue": "c.queue",
    "status": "%(open)s",
    "opened_at": "c.due_at",
    "last_seen_at": "c.due_at",
    "occurrences": "1",
    "previous_id": "c.previous_id",
}
_ACTIVITY_SQL = {
    "case_id": "c.case_id",
    "action": "%(opened)s",
    "at": "%(now)s",
    # to_jsonb(timestamptz) is the ISO form isoformat() gives (the connection's zone is UTC).
    "detail": "jsonb_build_object('policy', c.name, 'due_at', to_jsonb(c.due_at))",
}

# The keys and fingerprints come from Python (`breach_fingerprint`, the one rule), as constant
# arrays: PostgreSQL hashes `= ANY(constant)` and probes the index per element, so each lookup
# is linear in the batch whatever the planner believes about the case table's size (it grows by
# thousands of rows per round, faster than its statistics).
_CLAIM_OPEN = """
WITH k AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(keys)s::text[], %(fps)s::text[]) AS k(id, order_key, fingerprint)
), prior AS (
    SELECT x.fingerprint,
           max(x.id) FILTER (WHERE x.status = %(resolved)s) AS previous_id,
           bool_or(x.status = ANY(%(active)s)) AS unresolved
    FROM exceptions_exceptioncase x
    WHERE x.fingerprint = ANY(%(fps)s::text[])
    GROUP BY x.fingerprint
), claimed AS (
    UPDATE sla_expectation e
    SET status = %(breached)s, breach_case_id = nextval(pg_get_serial_sequence('exceptions_exceptioncase', 'id')),
        updated_at = %(now)s
    FROM k LEFT JOIN prior ON prior.fingerprint = k.fingerprint, sla_slapolicy p
    WHERE e.id = ANY(%(ids)s::bigint[]) AND e.id = k.id AND e.status = %(pending)s
      AND p.id = e.policy_id AND p.active AND prior.unresolved IS NOT TRUE
    RETURNING e.id, e.breach_case_id AS case_id, e.order_id, e.due_at, p.name, p.severity, p.queue,
              k.order_key, k.fingerprint, prior.previous_id
), cases AS (
    INSERT INTO exceptions_exceptioncase ({case_columns}) SELECT {case_values} FROM claimed c
), activities AS (
    INSERT INTO exceptions_exceptionactivity ({activity_columns}) SELECT {activity_values} FROM claimed c
)
SELECT id, case_id, name, order_key FROM claimed ORDER BY id
"""


def _insert_parts(model: type[Model], computed: dict[str, str], prefix: str) -> tuple[str, str, dict[str, Any]]:
    """(columns, values, params): computed SQL for the given columns, the model field's default
    for every other stored column (not the pk, which the table's identity fills)."""
    template = model()
    columns, values, params = [], [], {}
    for f in model._meta.concrete_fields:
        column = str(f.column)
        if getattr(f, "generated", False) or (f.primary_key and column not in computed):
            continue
        columns.append(connection.ops.quote_name(column))
        if column in computed:
            values.append(computed[column])
        else:
            values.append(f"%({prefix}{column})s")
            params[f"{prefix}{column}"] = f.get_db_prep_save(f.pre_save(template, add=True), connection)
    return ", ".join(columns), ", ".join(values), params


def sla_breaches_claim_open(rows: list[tuple[int, str, str]], *, announce: int) -> list[Claimed]:
    """PostgreSQL: breach these pending expectations — (expectation id, policy name, order key)
    — and open their cases in one statement.

    The caller holds the rows' locks. Rows it does not return were left alone: their policy was
    deactivated meanwhile, or their (policy, order) already has an unresolved case (which the
    caller links one by one, as `sla_breach_open` would return it)."""
    if not rows:
        return []
    at = now()
    case_columns, case_values, case_defaults = _insert_parts(ExceptionCase, _CASE_SQL, "case_")
    activity_columns, activity_values, activity_defaults = _insert_parts(ExceptionActivity, _ACTIVITY_SQL, "act_")
    sql = _CLAIM_OPEN.format(
        case_columns=case_columns,
        case_values=case_values,
        activity_columns=activity_columns,
        activity_values=activity_values,
    )
    params = {
        **case_defaults,
        **activity_defaults,
        "ids": _array_literal(str(r[0]) for r in rows),
        "fps": _array_literal(_quoted(breach_fingerprint(r[1], r[2])) for r in rows),
        "keys": _array_literal(_quoted(r[2]) for r in rows),
        "now": at,
        "breached": ExpectationStatus.BREACHED,
        "pending": ExpectationStatus.PENDING,
        "kind": ExceptionKind.SLA_BREACH,
        "subject_prefix": f"{RefKind.ORDER}:",
        "open": CaseStatus.OPEN,
        "resolved": CaseStatus.RESOLVED,
        "active": list(ACTIVE_STATUSES),
        "opened": ActivityAction.OPENED,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed = [Claimed(*row) for row in cursor.fetchall()]
    for row in claimed[:announce]:
        case_changed(row.case_id, opened=True)
    return claimed


def _array_literal(items: Iterable[str]) -> str:
    """An array's text form, built here and sent as one string: binding a 5,000-element list
    costs the driver more, per round, than the statement costs the database."""
    return "{" + ",".join(items) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sla_breach_move(*, case_id: int, breached_at: datetime) -> bool:
    """The expectation's deadline moved earlier (an earlier start arrived): the case says the
    breach began then. Compare-and-set on the breach time; False when nothing changed."""
    won = (
        ExceptionCase.objects.filter(id=case_id, kind=ExceptionKind.SLA_BREACH)
        .exclude(opened_at=breached_at)
        .update(opened_at=breached_at, last_seen_at=breached_at)
    )
    if won:
        case_changed(case_id)
    return bool(won)
