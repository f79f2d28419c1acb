"""What the rules and the hold logic read about one order: its projection's ledger
(apps/correlation/ledger.py) in typed form, plus the invoice holds it has. Pure data."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.common.time import parse_iso


@dataclass(frozen=True, slots=True)
class Milestone:
    at: datetime
    event_id: int
    detail: str


@dataclass(frozen=True, slots=True)
class Delivery:
    shipment: str | None  # None: a POD naming the order only
    outcome: str  # delivered | failed | attempted
    at: datetime
    event_id: int
    has_lines: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    amount: Decimal | None
    currency: str
    created_at: datetime | None
    created_event: int | None
    posted_at: datetime | None
    cancelled_at: datetime | None
    cancelled_event: int | None


@dataclass(frozen=True, slots=True)
class HoldFacts:
    id: int
    invoice: str
    status: str
    reason: str
    manual: bool
    outcome: str
    posted_while_held_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: int
    order_key: str
    stage: str
    customer: str
    shipments: list[str]
    ordered: dict[str, float] | None
    picked: dict[str, float] | None
    delivered: dict[str, float] | None
    deliveries: list[Delivery]
    invoices: list[Invoice]
    first: dict[str, Milestone]
    regressions: list[dict[str, Any]]
    holds: list[HoldFacts] = field(default_factory=list)


def _when(value: Any) -> datetime | None:
    return parse_iso(value) if value else None


def _amount(raw: Any) -> tuple[Decimal | None, str]:
    if not isinstance(raw, dict):
        return None, ""
    try:
        return Decimal(str(raw.get("value"))), str(raw.get("currency") or "")
    except InvalidOperation:
        return None, str(raw.get("currency") or "")


def order_facts(
    *,
    order_id: int,
    order_key: str,
    stage: str,
    customer: str,
    shipments: list[dict[str, Any]],
    ledger: dict[str, Any],
    holds: list[HoldFacts] | None = None,
) -> OrderFacts:
    invoices = []
    for raw in ledger.get("invoices") or []:
        amount, currency = _amount(raw.get("amount"))
        invoices.append(
            Invoice(
                number=raw["invoice"],
                amount=amount,
                currency=currency,
                created_at=_when(raw.get("created_at")),
                created_event=raw.get("created_event"),
                posted_at=_when(raw.get("posted_at")),
                cancelled_at=_when(raw.get("cancelled_at")),
                cancelled_event=raw.get("cancelled_event"),
            )
        )
    return OrderFacts(
        order_id=order_id,
        order_key=order_key,
        stage=stage,
        customer=customer,
        shipments=[s["id"] for s in shipments],
        ordered=ledger.get("ordered"),
        picked=ledger.get("picked"),
        delivered=ledger.get("delivered"),
        deliveries=[
            Delivery(d["shipment"], d["outcome"], parse_iso(d["at"]), d["event"], d["has_lines"], d.get("reason", ""))
            for d in ledger.get("deliveries") or []
        ],
        invoices=invoices,
        first={
            name: Milestone(parse_iso(m["at"]), m["event"], m["detail"])
            for name, m in (ledger.get("first") or {}).items()
        },
        regressions=list(ledger.get("regressions") or []),
        holds=holds or [],
    )


def qty(value: float) -> str:
    """9.0 → '9', 2.5 → '2.5'."""
    return f"{value:g}"
