"""The reconciliation rules: what makes an order's four systems disagree.

Each rule is a small pure function of the order's facts (facts.py) and the context (the time
of evaluation, the grace periods and the quantity tolerance from settings) that returns its
findings. A finding whose grace period has not run out yet is *pending*; the order is
`mismatched` when any finding is not pending, `pending` when all are, `matched` when there is
none. Times are event times (`occurred_at`), never arrival times: feeds are reordered in
transit, so arrival order alone never makes a finding.

The queue says who acts: finance for money, ops for movement. The rules run in RULES' order;
`evaluate` is the only entry point."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from apps.events.taxonomy import STAGE_RANK, Stage

from .choices import ReconciliationStatus
from .facts import OrderFacts, qty
from .holds import all_delivered, quantity_differences

FINANCE, OPS = "finance", "ops"


@dataclass(frozen=True, slots=True)
class Context:
    at: datetime
    grace: Mapping[str, timedelta]
    tolerance: float


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    detail: str
    queue: str
    severity: str
    since: datetime | None = None  # when the difference began (event time)
    pending_until: datetime | None = None  # set while inside its grace period

    def as_dict(self) -> dict[str, str | None]:
        return {
            "rule": self.rule,
            "detail": self.detail,
            "queue": self.queue,
            "severity": self.severity,
            "since": self.since.isoformat() if self.since else None,
            "pending_until": self.pending_until.isoformat() if self.pending_until else None,
        }


def _graced(rule: str, detail: str, queue: str, severity: str, since: datetime, ctx: Context) -> Finding:
    due = since + ctx.grace.get(rule, timedelta(0))
    return Finding(rule, detail, queue, severity, since, due if ctx.at < due else None)


def quantity(facts: OrderFacts, ctx: Context) -> list[Finding]:
    """Per SKU, what the ERP ordered against what the WMS picked and what the PODs delivered,
    within the tolerance. Only sides that carry lines are compared (no lines is no data, not
    zero), and only once they are complete: picks when the order has left the warehouse (or
    more was picked than ordered), deliveries when every shipment has its POD. A split order
    half delivered is not short."""
    found = []
    shipped = STAGE_RANK.get(facts.stage, -1) >= STAGE_RANK[Stage.SHIPPED]
    sides = (
        ("picked", facts.picked, shipped or _over(facts.ordered, facts.picked)),
        ("delivered", facts.delivered, all_delivered(facts)),
    )
    for side, other, complete in sides:
        differences = quantity_differences(facts.ordered, other, ctx.tolerance) if complete else []
        if differences:
            shown = "; ".join(f"{sku}: ordered {qty(o)}, {side} {qty(d)}" for sku, o, d in differences[:5])
            more = f" (and {len(differences) - 5} more SKUs)" if len(differences) > 5 else ""
            found.append(Finding("quantity", f"{shown}{more}", FINANCE, "high"))
    return found


def _over(ordered: dict[str, float] | None, other: dict[str, float] | None) -> bool:
    if not ordered or not other:
        return False
    return any(q > ordered.get(sku, 0.0) for sku, q in other.items())


def erp_ahead(facts: OrderFacts, ctx: Context) -> list[Finding]:
    """The ERP posted an invoice, or says shipped, while the WMS, TMS and last mile show no
    shipped-or-later milestone (after the grace period)."""
    if "field_shipped" in facts.first:
        return []
    posted, shipped = facts.first.get("erp_posted"), facts.first.get("erp_shipped")
    if posted is not None:
        detail = (
            f"the ERP posted an invoice ({posted.detail}) but no warehouse, carrier or last-mile"
            " milestone shows the goods leaving"
        )
        return [_graced("erp_ahead", detail, FINANCE, "high", posted.at, ctx)]
    if shipped is not None:
        detail = f"the ERP says shipped ({shipped.detail}) but the WMS, TMS and last mile report no shipment"
        return [_graced("erp_ahead", detail, OPS, "medium", shipped.at, ctx)]
    return []


def delivered_not_invoiced(facts: OrderFacts, ctx: Context) -> list[Finding]:
    """Delivered by the last mile, and the ERP raised no invoice within the grace period."""
    delivered = facts.first.get("delivered")
    invoiced = any(i.cancelled_at is None for i in facts.invoices)  # a voided invoice is none
    if delivered is None or invoiced or facts.stage == "cancelled":
        return []
    detail = f"delivered ({delivered.detail}) but not invoiced by the ERP"
    return [_graced("delivered_not_invoiced", detail, FINANCE, "medium", delivered.at, ctx)]


def shipped_no_movement(facts: OrderFacts, ctx: Context) -> list[Finding]:
    """Ship-confirmed by the WMS, and no carrier movement (TMS or last mile) within the grace
    period."""
    confirmed = facts.first.get("wms_shipped")
    if confirmed is None or "carrier_moved" in facts.first:
        return []
    detail = f"ship-confirmed by the WMS ({confirmed.detail}) but no carrier or last-mile movement"
    return [_graced("shipped_no_movement", detail, OPS, "medium", confirmed.at, ctx)]


def no_erp_order(facts: OrderFacts, ctx: Context) -> list[Finding]:
    """A shipment or tracking number known to the TMS or last mile on an order the ERP never
    reported (after the grace period): nobody will invoice what nobody ordered."""
    known = facts.first.get("carrier_known")
    if known is None or "erp" in facts.first:
        return []
    detail = f"{known.detail} names order {facts.order_key}, which the ERP never reported"
    return [_graced("no_erp_order", detail, OPS, "medium", known.at, ctx)]


def stale_feed(facts: OrderFacts, ctx: Context) -> list[Finding]:
    """A system whose later event (by occurred_at) reports a stage behind one of its own
    earlier events about the same warehouse task, shipment or order: a stale or replayed feed."""
    found = []
    for r in facts.regressions:
        about = f" for {r['entity']}" if r.get("entity") else ""
        detail = (
            f"{r['system'].upper()} reported {r['later']['type']} ({r['later']['stage']}) at {r['later']['at']}"
            f" after {r['earlier']['type']} ({r['earlier']['stage']}) at {r['earlier']['at']}{about}"
        )
        found.append(Finding("stale_feed", detail, OPS, "low"))
    return found


def posted_while_held(facts: OrderFacts, ctx: Context) -> list[Finding]:
    """An invoice posted to the ledger while it was held: revenue at risk."""
    return [
        Finding(
            "posted_while_held",
            f"invoice {h.invoice} was posted while held ({h.reason})",
            FINANCE,
            "critical",
            h.posted_while_held_at,
        )
        for h in facts.holds
        if h.posted_while_held_at is not None
    ]


RULES: tuple[Callable[[OrderFacts, Context], list[Finding]], ...] = (
    quantity,
    erp_ahead,
    delivered_not_invoiced,
    shipped_no_movement,
    no_erp_order,
    stale_feed,
    posted_while_held,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    findings: list[Finding]

    @property
    def next_check_at(self) -> datetime | None:
        due = [f.pending_until for f in self.findings if f.pending_until is not None]
        return min(due) if due else None


def evaluate(facts: OrderFacts, ctx: Context) -> Verdict:
    findings = [finding for rule in RULES for finding in rule(facts, ctx)]
    if not findings:
        return Verdict(ReconciliationStatus.MATCHED, [])
    if all(f.pending_until is not None for f in findings):
        return Verdict(ReconciliationStatus.PENDING, findings)
    return Verdict(ReconciliationStatus.MISMATCHED, findings)
