"""Per-order reconciliation, kept up to date by the pipeline (`orders_reconcile` for the orders
a batch touched) and by the minute sweep for grace periods that run out
(`reconciliation_sweep`).

The verdict of the rules (rules.py) is stored for orders with findings (OrderReconciliation;
no row: matched). Every mismatched finding (past its grace) has one open `reconciliation`
exception, in the queue its rule names; it resolves itself when the finding goes away."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from apps.common.lookups import array_param
from apps.common.time import now
from apps.correlation.models import Node, OrderProjection
from apps.exceptions.services.reconciliation import WantedCase, reconciliation_cases_sync

from ..choices import ReconciliationStatus
from ..facts import OrderFacts, order_facts
from ..models import InvoiceHold, OrderReconciliation
from ..rules import Context, evaluate
from .holds import hold_facts, holds_from_orders, holds_read

SWEEP_CHUNK = 2000


def context(at: datetime | None = None) -> Context:
    return Context(at or now(), settings.RECONCILIATION_GRACE, settings.RECONCILIATION_QTY_TOLERANCE)


def facts_read(
    order_ids: list[int],
    holds: dict[int, list[InvoiceHold]] | None = None,
    projections: dict[int, dict[str, Any]] | None = None,
) -> list[OrderFacts]:
    """The facts of these orders (orders without a projection are left out), with their holds.
    `projections`: OrderProjection field values already in hand (the pipeline's, as correlate
    wrote them); the other orders' are read."""
    if not order_ids:
        return []
    holds = holds if holds is not None else holds_read(order_ids)
    known = projections or {}
    rows = [
        (i, p["order_key"], p["stage"], p["customer"], p["shipments"], p["ledger"])
        for i in order_ids
        if (p := known.get(i)) is not None
    ]
    rows += _projection_rows(sorted(set(order_ids) - set(known)))
    rows.sort(key=lambda row: row[0])
    return [
        order_facts(
            order_id=order_id,
            order_key=key,
            stage=stage,
            customer=customer,
            shipments=shipments or [],
            ledger=ledger or {},
            holds=[hold_facts(h) for h in holds.get(order_id, [])],
        )
        for order_id, key, stage, customer, shipments, ledger in rows
    ]


def _projection_rows(order_ids: list[int]) -> list[tuple[Any, ...]]:
    """(order id, key, stage, customer, shipments, ledger) in order-id order. PostgreSQL: the
    JSON as text for orjson, several times faster than the driver's json.loads (the pipeline
    reads this for every order of every batch)."""
    if not order_ids:
        return []
    if connection.vendor != "postgresql":
        rows = OrderProjection.objects.filter(order_id__any=order_ids).order_by("order_id")
        return list(rows.values_list("order_id", "order_key", "stage", "customer", "shipments", "ledger"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT order_id, order_key, stage, customer, shipments::text, ledger::text "
            "FROM correlation_orderprojection WHERE order_id = ANY(%s::bigint[]) ORDER BY order_id",
            [array_param(order_ids)],
        )
        return [(*row[:4], orjson.loads(row[4]), orjson.loads(row[5])) for row in cursor.fetchall()]


@dataclass
class ReconcileResult:
    evaluated: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    cases_opened: list[int] = field(default_factory=list)
    cases_resolved: list[int] = field(default_factory=list)

    def add(self, other: "ReconcileResult") -> None:
        self.evaluated += other.evaluated
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.cases_opened += other.cases_opened
        self.cases_resolved += other.cases_resolved


def orders_hold(order_ids: list[int], projections: dict[int, dict[str, Any]] | None = None) -> list[OrderFacts]:
    """Bring the invoice holds of these orders up to date; returns the orders' facts with
    their holds as they now are (what `orders_reconcile` reads). `projections`: see facts_read."""
    holds = holds_read(sorted(order_ids))
    facts = facts_read(order_ids, holds, projections)
    holds_from_orders(facts, holds)
    return [replace(f, holds=[hold_facts(h) for h in holds.get(f.order_id, [])]) for f in facts]


def orders_reconcile(orders: list[OrderFacts], at: datetime | None = None) -> ReconcileResult:
    """Evaluate the rules on these orders; store the verdicts that changed; open and resolve
    their reconciliation cases.

    A mismatched finding opens its case only once it has stood for RECONCILIATION_SETTLE of
    wall-clock time (`noticed_at`, carried from one evaluation to the next): events of one
    order reach the workers in any order and in different batches, and a difference that the
    next message removes is transit, not a finding for a person (the sweep opens the case when
    it settles). A case is resolved as soon as its finding is gone."""
    ctx = context(at)
    settle: timedelta = settings.RECONCILIATION_SETTLE
    result = ReconcileResult(evaluated=len(orders))
    if not orders:
        return result
    ids = [f.order_id for f in orders]
    stored = {
        r.order_id: r
        for r in OrderReconciliation.objects.filter(order_id__any=ids).only(
            "order_id", "status", "findings", "next_check_at"
        )
    }
    upserts: list[OrderReconciliation] = []
    matched: list[int] = []
    to_open: list[WantedCase] = []
    keep: set[tuple[int, str]] = set()
    for facts in orders:
        verdict = evaluate(facts, ctx)
        result.statuses[verdict.status] = result.statuses.get(verdict.status, 0) + 1
        row = stored.get(facts.order_id)
        noticed = _noticed(row.findings if row is not None else [])
        findings, next_check = [], verdict.next_check_at
        for f in verdict.findings:
            item: dict[str, str | None] = {**f.as_dict(), "noticed_at": None}
            if f.pending_until is None:
                since = noticed.get(f.rule) or ctx.at
                item["noticed_at"] = since.isoformat()
                keep.add((facts.order_id, f.rule))
                if since + settle <= ctx.at:
                    to_open.append(
                        WantedCase(
                            *(f.rule, facts.order_id, facts.order_key, f.queue, f.severity),
                            *(f.since or ctx.at, f.detail, since),
                        )
                    )
                else:
                    next_check = min(filter(None, (next_check, since + settle)))
            findings.append(item)
        if verdict.status == ReconciliationStatus.MATCHED:
            if row is not None:
                matched.append(facts.order_id)
        elif row is None or (row.status, row.findings, row.next_check_at) != (verdict.status, findings, next_check):
            upserts.append(_row(facts, verdict.status, findings, next_check, ctx.at))
    if upserts:
        OrderReconciliation.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["order"],
            update_fields=["order_key", "status", "findings", "next_check_at", "evaluated_at"],
        )
    if matched:
        OrderReconciliation.objects.filter(order_id__any=matched).delete()
    # Only orders that have or had findings can have cases to open or resolve.
    concerned = sorted({order_id for order_id, _ in keep} | set(stored))
    result.cases_opened, result.cases_resolved = reconciliation_cases_sync(concerned, to_open, keep)
    return result


def _noticed(findings: list[dict[str, str | None]]) -> dict[str, datetime]:
    """rule → since when (wall clock) it has been mismatched, from the stored findings."""
    out: dict[str, datetime] = {}
    for f in findings:
        rule, noticed = f.get("rule"), f.get("noticed_at")
        if rule and noticed:
            when = datetime.fromisoformat(noticed)
            out[rule] = min(out.get(rule, when), when)
    return out


def _row(
    facts: OrderFacts, status: str, findings: list[dict[str, str | None]], next_check: datetime | None, at: datetime
) -> OrderReconciliation:
    return OrderReconciliation(
        order_id=facts.order_id,
        order_key=facts.order_key,
        status=status,
        findings=findings,
        next_check_at=next_check,
        evaluated_at=at,
    )


def reconciliation_sweep(at: datetime | None = None) -> ReconcileResult:
    """Beat, every minute (`manage.py reconcile_orders [--now T]`): the orders whose pending
    finding's grace has run out by `at`. Each chunk takes the orders' graph row locks, skipping
    those a pipeline batch holds (that batch re-evaluates them anyway), so it never waits on
    ingestion and never evaluates an order at the same time as a batch."""
    at = at or now()
    total = ReconcileResult()
    seen: set[int] = set()
    while True:
        with transaction.atomic():
            due = list(
                OrderReconciliation.objects.filter(next_check_at__lte=at)
                .exclude(order_id__in=seen)
                .order_by("next_check_at")
                .values_list("order_id", flat=True)[:SWEEP_CHUNK]
            )
            if not due:
                return total
            seen.update(due)
            locked = list(
                Node.objects.filter(id__in=due)
                .select_for_update(no_key=True, skip_locked=True)
                .values_list("id", flat=True)
            )
            result = orders_reconcile(facts_read(locked), at)
        total.add(result)


def orders_reevaluate(
    at: datetime | None = None, *, chunk: int = 1000, progress: Callable[[int], object] | None = None
) -> ReconcileResult:
    """Holds and rules for every order (`manage.py reconcile_orders --all`): after
    `rebuild_projections`, or a change of a grace period or the tolerance. Chunk by chunk in
    order-id order, each in its own transaction holding the orders' graph row locks (taken in
    id order, as the pipeline takes them), so it runs beside live ingestion."""
    total = ReconcileResult()
    after = 0
    while True:
        with transaction.atomic():
            ids = list(
                Node.objects.filter(kind="order", id__gt=after, projection__isnull=False)
                .order_by("id")
                .select_for_update(no_key=True, of=("self",))
                .values_list("id", flat=True)[:chunk]
            )
            if not ids:
                return total
            result = orders_reconcile(orders_hold(ids), at)
        after = ids[-1]
        total.add(result)
        if progress is not None:
            progress(len(ids))
