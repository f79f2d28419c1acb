"""Whether an invoice must be held, and what would release it: a pure function of the order's
facts (facts.py). The services (services/holds.py) compare it with the stored holds.

An invoice is held unless every shipment of its order has a proof of delivery and the
delivered quantities agree with the ordered ones (http-api.md). A POD that names the order
only (no shipment) stands for the shipments that have no outcome of their own."""

from dataclasses import dataclass
from datetime import datetime

from .choices import HoldReason
from .facts import Delivery, OrderFacts, qty


@dataclass(frozen=True, slots=True)
class HoldVerdict:
    reason: str | None  # None: nothing holds the invoice
    hint: str  # what would release it, or what released it
    event_id: int | None  # the latest delivery event the verdict rests on
    at: datetime | None = None  # when that event occurred: with no reason, when the hold cleared


def _outcomes(facts: OrderFacts) -> dict[str, Delivery | None]:
    by_shipment = {d.shipment: d for d in facts.deliveries if d.shipment is not None}
    order_level = next((d for d in facts.deliveries if d.shipment is None), None)
    if not facts.shipments:
        return {"": order_level}
    return {s: by_shipment.get(s) or order_level for s in facts.shipments}


def all_delivered(facts: OrderFacts) -> bool:
    """Every shipment of the order (or the order itself, when none is known) has a POD."""
    return all(d is not None and d.outcome == "delivered" for d in _outcomes(facts).values())


def quantity_differences(
    ordered: dict[str, float] | None, other: dict[str, float] | None, tolerance: float
) -> list[tuple[str, float, float]]:
    """(sku, ordered, other) for each SKU whose quantities differ by more than the tolerance;
    nothing when either side carries no lines."""
    if not ordered or not other:
        return []
    return [
        (sku, ordered.get(sku, 0.0), other.get(sku, 0.0))
        for sku in sorted(set(ordered) | set(other))
        if abs(ordered.get(sku, 0.0) - other.get(sku, 0.0)) > tolerance
    ]


def hold_verdict(facts: OrderFacts, tolerance: float) -> HoldVerdict:
    outcomes = _outcomes(facts)
    known = [d for d in outcomes.values() if d is not None]
    last = max(known, key=lambda d: (d.at, d.event_id)) if known else None
    latest, latest_at = (last.event_id, last.at) if last else (None, None)
    name = {s: s or facts.order_key for s in outcomes}
    failed = [s for s, d in outcomes.items() if d is not None and d.outcome == "failed"]
    if failed:
        reasons = {outcomes[s].reason for s in failed if outcomes[s] and outcomes[s].reason}  # type: ignore[union-attr]
        why = f" ({', '.join(sorted(reasons))})" if reasons else ""
        return HoldVerdict(
            HoldReason.DELIVERY_FAILED,
            f"delivery of {', '.join(name[s] for s in failed)} failed{why}; a proof of delivery releases it",
            latest,
        )
    delivered = [s for s, d in outcomes.items() if d is not None and d.outcome == "delivered"]
    missing = [s for s in outcomes if s not in delivered]
    if missing:
        shown = ", ".join(name[s] for s in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        if not facts.shipments:
            hint = "no proof of delivery yet, and no shipment known for the order"
        else:
            hint = f"POD of {shown} missing; {len(delivered)} of {len(outcomes)} shipments delivered"
        attempted = [s for s in missing if (d := outcomes[s]) is not None and d.outcome == "attempted"]
        if attempted:
            hint += f" (delivery of {', '.join(name[s] for s in attempted[:3])} attempted)"
        return HoldVerdict(HoldReason.AWAITING_POD, hint, latest)
    differences = quantity_differences(facts.ordered, facts.delivered, tolerance)
    if differences:
        shown = "; ".join(f"{sku}: ordered {qty(o)}, delivered {qty(d)}" for sku, o, d in differences[:3])
        return HoldVerdict(
            HoldReason.QUANTITY_MISMATCH,
            f"{shown}; a corrected POD or order change releases it",
            latest,
        )
    return HoldVerdict(
        None, f"{len(delivered)} of {len(outcomes)} shipments delivered, quantities agree", latest, latest_at
    )
