"""The ERP's invoices: raised at ship-confirm (before any POD: held until the PODs come) or
after delivery, posted some time after delivery, now and then posted while still held, or
cancelled and raised again with the right amount. The proportions are the mix's (mix.py);
every draw is the finance generator's, so invoices change nothing else in the world.

What the ERP knows of a delivery is the POD it receives: it learns of it when the POD is
sent (late PODs late), and never of a POD the last mile loses."""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from apps.events.taxonomy import EventType as T

from .catalog import EUR_RATES, PRODUCTS
from .model import ERP, Order, Recorder

_PRICE = {sku: Decimal(price) for sku, _, price in PRODUCTS}
_CENT = Decimal("0.01")
_DISCOUNTS = (Decimal("0.02"), Decimal("0.03"), Decimal("0.05"))
_DISCOUNT_MISSING = {"code": "DISCOUNT_MISSING", "text": "Contract discount not applied; credit note issued"}


def amount_of(lines: list[dict[str, Any]], currency: str, discount: Decimal = Decimal(0)) -> dict[str, str]:
    """The order's lines at the catalog's prices, in `currency`, less `discount` (a share)."""
    total = sum((_PRICE[line["sku"]] * line["qty"] for line in lines), Decimal(0))
    value = (total * EUR_RATES[currency] * (1 - discount)).quantize(_CENT, rounding=ROUND_HALF_UP)
    return {"value": f"{value:.2f}", "currency": currency}


def invoice(rec: Recorder, o: Order) -> None:
    """The order's invoice, once it has shipped (see FinanceMix for the shares):

    - raised at ship-confirm (`invoice_early`, and every `pod_missing` order) 30 min - 4 h
      after the last of its shipments is picked up, or else 1-8 h after the ERP receives the
      last POD (never, when a delivery failed or a POD is lost or still to come);
    - cancelled 1-8 h later, and raised again corrected 30 min - 4 h after the later of the
      cancellation and the last POD (when every shipment is delivered);
    - or, raised at ship-confirm, posted 20 min - 2 h later while still held;
    - else posted once every POD is in: 1-12 h after the last (raised at ship-confirm) or
      15 min - 3 h after being raised (raised after delivery); of an order picked or
      delivered short, seldom (it waits for a credit note)."""
    f, mix = rec.f, rec.mix
    if not o.shipped or f.random() >= mix.invoiced:
        return
    all_delivered = not o.failed and len(o.delivered) >= len(o.shipped)
    known = max(o.delivered) if all_delivered else None  # when the ERP has every POD
    early = "invoice_early" in o.flags or "pod_missing" in o.flags
    if early:
        t = max(o.shipped) + rec.minutes(30, 240, f)
    elif known is not None:
        t = known + rec.minutes(60, 480, f)
    else:
        return
    currency = f.choices([c for c, _ in mix.currencies], weights=[w for _, w in mix.currencies])[0]
    amount = amount_of(o.lines, currency)
    refs = _raise(rec, o, t, amount)
    if f.random() < mix.cancelled:
        t += rec.hours(1, 8, f)
        rec.emit(ERP, T.INVOICE_CANCELLED, t, refs, source_status="CANCELLED", reason=_DISCOUNT_MISSING, rng=f)
        if known is None:
            return
        t = max(t, known) + rec.minutes(30, 240, f)
        amount = amount_of(o.lines, currency, f.choice(_DISCOUNTS))
        refs = _raise(rec, o, t, amount)
        early = False
    elif early and f.random() < mix.posted_before_pod:
        at = t + rec.minutes(20, 120, f)
        if known is None or at < known - timedelta(minutes=10):
            _post(rec, refs, at, amount)
            return
    if known is None or f.random() >= mix.posted or (o.short and f.random() >= mix.posted_when_short):
        return
    _post(rec, refs, max(known, t) + rec.minutes(60, 720, f) if early else t + rec.minutes(15, 180, f), amount)


def _raise(rec: Recorder, o: Order, at: datetime, amount: dict[str, str]) -> dict[str, str]:
    refs = {"order": o.id, "invoice": f"INV-{rec.p}{rec.next('invoice'):06d}"}
    rec.emit(ERP, T.INVOICE_CREATED, at, refs, source_status="DRAFT", amount=amount, rng=rec.f)
    return refs


def _post(rec: Recorder, refs: dict[str, str], at: datetime, amount: dict[str, str]) -> None:
    rec.emit(ERP, T.INVOICE_POSTED, at, refs, source_status="POSTED", amount=amount, rng=rec.f)
