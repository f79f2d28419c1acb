"""ERP and WMS: orders captured, held, changed, cancelled, released, picked and packed (the
ERP's invoices are in finance.py)."""

from datetime import UTC, datetime, time, timedelta
from typing import Any

from apps.events.taxonomy import EventType as T

from .catalog import CUSTOMERS, DCS, DEPOTS, PRODUCTS, Customer, Site
from .model import ERP, WMS, Order, Parcel, Recorder, stamp

_PROMISE_DAYS = {"express": 1, "standard": 2, "economy": 4}
_SINGLE_FLAGS = (("hold", 0.03), ("changed", 0.03), ("cancel_early", 0.015), ("cancel_late", 0.015))
_CANCEL = {"code": "CUSTOMER_REQUEST", "text": "Cancelled at the customer's request"}


def dc_of(order: Order) -> Site:
    return DCS[DEPOTS[order.customer.depot].region]


def make_orders(rec: Recorder, count: int) -> list[list[Order]]:
    """Orders in groups: a consolidation group (2-3 orders of one customer, ~10% of orders)
    leaves in one shipment; every other group is one order, split in two for ~10%."""
    r, groups, i = rec.r, [], 0
    span = max((rec.end - rec.start).total_seconds() - 7200, 60.0)  # each order exists by the end
    while i < count:
        u = r.random()
        kind, size = "single", 1
        if u < 0.045 and count - i >= 2:
            kind, size = "consolidated", min(r.randint(2, 3), count - i)
        elif u < 0.145:
            kind = "split"
        customer = r.choice(CUSTOMERS)
        service = r.choices(["express", "standard", "economy"], weights=[2, 6, 2])[0]
        at = rec.start + timedelta(seconds=r.uniform(0, span))
        group = []
        for _ in range(size):
            group.append(_new_order(rec, i, customer, service, at, kind))
            at += rec.minutes(5, 50)
            i += 1
        groups.append(group)
    return groups


def _new_order(rec: Recorder, i: int, customer: Customer, service: str, at: datetime, kind: str) -> Order:
    r = rec.r
    skus = r.sample(PRODUCTS, k=r.randint(2, 4) if kind == "split" else r.randint(1, 4))
    lines = [{"sku": sku, "qty": r.randint(1, 24), "uom": uom} for sku, uom, _ in skus]
    day = (at + timedelta(days=_PROMISE_DAYS[service])).date()
    promised = datetime.combine(day, time(18, 0), tzinfo=UTC)
    flags = {flag for flag, p in _SINGLE_FLAGS if kind == "single" and r.random() < p}
    if r.random() < rec.mix.invoice_at_ship:
        flags.add("invoice_early")
    if rec.f.random() < rec.mix.missing_pod:
        flags.add("pod_missing")
    order_id, po = f"SO-{rec.p}{100001 + i}", f"{customer.code}-PO{rec.p}{4001 + i}"
    return Order(order_id, po, customer, service, at, promised, lines, kind, frozenset(flags))


def order_flow(rec: Recorder, o: Order) -> list[Parcel]:
    """The ERP side up to release, then the warehouse; returns what was packed."""
    refs = {"order": o.id}
    rec.emit(
        ERP,
        T.ORDER_CREATED,
        o.created,
        {"order": o.id, "customer_po": o.po},
        source_status="OPEN",
        customer=o.customer.name,
        service_level=o.service,
        promised_by=stamp(o.promised, 0),
        lines=o.lines,
    )
    t = o.created
    if "hold" in o.flags:
        t += rec.minutes(1, 5)
        reason = {"code": "CREDIT_HOLD", "text": "Customer over credit limit"}
        rec.emit(ERP, T.ORDER_ON_HOLD, t, refs, source_status="CREDIT_BLOCK", reason=reason)
        t += rec.minutes(60, 480)
        rec.emit(ERP, T.ORDER_HOLD_RELEASED, t, refs, source_status="CREDIT_OK")
    if "changed" in o.flags:
        t += rec.minutes(5, 60)
        o.promised += timedelta(days=1)
        promised = stamp(o.promised, 0)
        rec.emit(ERP, T.ORDER_CHANGED, t, refs, source_status="CHANGED", promised_by=promised, lines=o.lines)
    if "cancel_early" in o.flags:
        t += rec.minutes(10, 180)
        rec.emit(ERP, T.ORDER_CANCELLED, t, refs, source_status="CANCELLED", reason=_CANCEL)
        return []
    t += rec.minutes(5, 45 if o.service == "express" else 120)
    rec.emit(ERP, T.ORDER_RELEASED, t, refs, source_status="RELEASED")
    if "cancel_late" in o.flags:
        _task(rec, o, o.lines, t)
        t += rec.minutes(20, 90)
        rec.emit(ERP, T.ORDER_CANCELLED, t, refs, source_status="CANCELLED", reason=_CANCEL)
        return []
    if o.kind != "split":
        return [_pick_pack(rec, o, o.lines, t)]
    cut = rec.r.randint(1, len(o.lines) - 1)
    first, rest = o.lines[:cut], o.lines[cut:]
    reason = {"code": "BACKORDER", "text": "Stock awaiting inbound, the rest ships later"}
    at = t + rec.minutes(2, 10)
    rec.emit(WMS, T.INVENTORY_SHORT, at, refs, dc_of(o), source_status="BACKORDER", lines=rest, reason=reason)
    return [_pick_pack(rec, o, first, t), _pick_pack(rec, o, rest, t + rec.hours(8, 30))]


def _task(rec: Recorder, o: Order, lines: list[dict[str, Any]], t: datetime) -> tuple[dict[str, str], datetime]:
    refs = {"order": o.id, "warehouse_task": f"WT-{rec.p}{rec.next('task'):06d}"}
    t += rec.minutes(1, 10)
    rec.emit(WMS, T.TASK_CREATED, t, refs, dc_of(o), source_status="ALLOCATED", lines=lines)
    return refs, t


def _pick_pack(rec: Recorder, o: Order, lines: list[dict[str, Any]], t: datetime) -> Parcel:
    r, dc = rec.r, dc_of(o)
    refs, t = _task(rec, o, lines, t)
    t += rec.minutes(10, 60 if o.service == "express" else 240)
    started = rec.emit(WMS, T.PICK_STARTED, t, refs, dc, source_status="PICKING")
    t += rec.minutes(10, 50)
    picked = [dict(line) for line in lines]
    shortable = [line for line in picked if line["qty"] >= 2]
    if shortable and r.random() < rec.mix.short_pick:
        line = r.choice(shortable)
        line["qty"] = r.randint(1, line["qty"] - 1)
        o.short = True
        reason = {"code": "SHORT_PICK", "text": f"Pick face empty for {line['sku']}"}
        rec.emit(WMS, T.PICK_SHORT, t, refs, dc, source_status="SHORT", lines=picked, reason=reason)
        t += rec.minutes(1, 5)
    rec.emit(WMS, T.PICK_COMPLETED, t, refs, dc, source_status="PICKED", lines=picked)
    t += rec.minutes(10, 60)
    lpn = f"LPN-{rec.p}{rec.next('lpn'):07d}"
    rec.emit(WMS, T.PACK_COMPLETED, t, {**refs, "lpn": lpn}, dc, source_status="PACKED", lines=picked)
    if rec.f.random() < rec.mix.stale_feed:  # a replayed feed: the pick starts again, after the pack
        rec.resend(started, t + rec.minutes(2, 45, rec.f), rec.f)
    return Parcel(o, refs["warehouse_task"], lpn, t, picked)
