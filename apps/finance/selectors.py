"""Reads of the finance app: the holds list with its filters, totals and chart, an order's hold
and reconciliation."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, CharField, Count, Q, QuerySet, Sum, Value, When

from apps.common.time import now

from .choices import AGE_BUCKETS, HoldReason, HoldStatus
from .facts import OrderFacts
from .models import HoldActivity, InvoiceHold, OrderReconciliation, SnapshotRun
from .rules import Verdict, evaluate
from .services.reconciliation import context, facts_read


def age_bucket(held_since: datetime, at: datetime) -> str:
    days = max((at - held_since).days, 0)
    for name, low, high in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    return AGE_BUCKETS[-1][0]


def _age_filter(bucket: str, at: datetime) -> Q:
    for name, low, high in AGE_BUCKETS:
        if name == bucket:
            # The first bucket has no lower end: a hold dated ahead of the clock (a partner's
            # clock skew) is new, not old.
            q = Q(held_since__lte=at - timedelta(days=low)) if low else Q()
            if high is not None:
                q &= Q(held_since__gt=at - timedelta(days=high + 1))
            return q
    return Q()


@dataclass(frozen=True)
class HoldFilters:
    status: str | None = HoldStatus.HELD  # None: every status
    reason: str | None = None
    age: str | None = None
    customer: str | None = None
    currency: str | None = None
    q: str | None = None  # an invoice or order id
    order_id: int | None = None


def hold_list(filters: HoldFilters, at: datetime | None = None) -> QuerySet[InvoiceHold]:
    """Held invoices oldest first (they have waited longest); released ones latest first."""
    at = at or now()
    qs = InvoiceHold.objects.select_related("released_by")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.reason:
        qs = qs.filter(reason=filters.reason)
    if filters.age:
        qs = qs.filter(_age_filter(filters.age, at))
    if filters.customer:
        qs = qs.filter(customer=filters.customer)
    if filters.currency:
        qs = qs.filter(currency=filters.currency.upper())
    if filters.q:
        value = filters.q.strip()
        qs = qs.filter(Q(invoice=value) | Q(order_key=value))
    if filters.order_id is not None:
        qs = qs.filter(order_id=filters.order_id)
    if filters.status == HoldStatus.RELEASED:
        return qs.order_by("-released_at", "-id")
    return qs.order_by("held_since", "id")


def hold_totals(holds: QuerySet[InvoiceHold]) -> list[dict[str, Any]]:
    """Amount and count per currency of these holds (an invoice without an amount counts, with
    currency '—'). COUNT(*), not COUNT(id): the id is not in finance_hold_amount_idx, and
    COUNT(id) had PostgreSQL read every held row from the table instead of that index."""
    rows = holds.order_by().values("currency").annotate(total=Sum("amount"), n=Count("*")).order_by("-total")
    return [{"currency": r["currency"] or "—", "total": r["total"] or Decimal(0), "count": r["n"]} for r in rows]


@dataclass(frozen=True)
class HoldSummary:
    count: int
    totals: list[dict[str, Any]]  # per currency, largest first, as hold_totals
    chart: dict[str, Any] | None  # amount held in one currency by reason (x) and age (stacked): Plotly traces


def hold_summary(holds: QuerySet[InvoiceHold], currency: str | None, at: datetime | None = None) -> HoldSummary:
    """The finance screen's count, totals per currency and chart in one grouped query (by
    currency, reason and age bucket), read from finance_hold_amount_idx: three aggregate passes
    over 40,000 held rows were most of the page's time (bench holds). The chart is of
    `currency`, else of the currency with the largest total."""
    at = at or now()
    bucket = Case(
        *[When(_age_filter(name, at), then=Value(name)) for name, _, _ in AGE_BUCKETS],
        default=Value(AGE_BUCKETS[-1][0]),
        output_field=CharField(),
    )
    rows = list(
        holds.order_by()
        .annotate(bucket=bucket)
        .values("currency", "reason", "bucket")
        .annotate(total=Sum("amount"), n=Count("*"))
    )
    per_currency: dict[str, dict[str, Any]] = {}
    for r in rows:
        slot = per_currency.setdefault(r["currency"] or "—", {"total": Decimal(0), "count": 0})
        slot["total"] += r["total"] or Decimal(0)
        slot["count"] += r["n"]
    totals = [
        {"currency": c, "total": v["total"], "count": v["count"]}
        for c, v in sorted(per_currency.items(), key=lambda kv: -kv[1]["total"])
    ]
    shown = currency or next((t["currency"] for t in totals if t["currency"] != "—"), None)
    chart = None
    if shown:
        sums = {(r["reason"], r["bucket"]): float(r["total"] or 0) for r in rows if r["currency"] == shown}
        chart = _chart(shown, sums)
    return HoldSummary(sum(t["count"] for t in totals), totals, chart)


def _chart(currency: str, sums: dict[tuple[str, str], float]) -> dict[str, Any]:
    labels = dict(HoldReason.choices)
    reasons = [r.value for r in HoldReason]
    return {
        "currency": currency,
        "traces": [
            {
                "type": "bar",
                "name": name,
                "x": [labels[r] for r in reasons],
                "y": [round(sums.get((r, name), 0.0), 2) for r in reasons],
            }
            for name, _, _ in AGE_BUCKETS
        ],
    }


def hold_get(*, hold_id: int) -> InvoiceHold | None:
    return InvoiceHold.objects.filter(id=hold_id).first()


def hold_history(*, hold_id: int) -> QuerySet[HoldActivity]:
    return HoldActivity.objects.filter(hold_id=hold_id).select_related("actor").order_by("at", "id")


def order_holds(*, order_id: int) -> list[InvoiceHold]:
    """The order's holds, the ones still held first, then the latest released."""
    return sorted(InvoiceHold.objects.filter(order_id=order_id), key=lambda h: (h.status != HoldStatus.HELD, -h.id))


def order_hold_summary(*, order_id: int) -> dict[str, Any] | None:
    """`invoice_hold` of `GET /orders/<id>/`: the hold that matters now (held, else the latest)."""
    holds = order_holds(order_id=order_id)
    if not holds:
        return None
    h = holds[0]
    return {"id": h.id, "invoice": h.invoice, "status": h.status, "reason": h.reason, "release_hint": h.release_hint}


def order_reconciliation(*, order_id: int, at: datetime | None = None) -> tuple[OrderFacts | None, Verdict | None]:
    """The rules evaluated now on the order (pending findings may have run out since the last
    sweep: the answer is as of `at`)."""
    facts = facts_read([order_id])
    if not facts:
        return None, None
    return facts[0], evaluate(facts[0], context(at))


def reconciliation_counts() -> dict[str, int]:
    rows = OrderReconciliation.objects.values("status").annotate(n=Count("order_id"))
    return {r["status"]: r["n"] for r in rows}


def held_summary() -> list[dict[str, Any]]:
    """The finance home card: what is held now, per currency."""
    return hold_totals(InvoiceHold.objects.filter(status=HoldStatus.HELD))


def latest_runs(limit: int = 5) -> QuerySet[SnapshotRun]:
    return SnapshotRun.objects.defer("body").order_by("-id")[:limit]
