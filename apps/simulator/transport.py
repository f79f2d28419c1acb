"""TMS and last mile: shipments planned, tendered, carried to a depot, put on delivery runs
and delivered (or attempted, or given up)."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from apps.events.taxonomy import EventType as T

from .catalog import ATTEMPT_REASONS, CARRIERS, DCS, DELAY_REASONS, DEPOTS, FAIL_REASONS, HUBS, SIGNERS, Site
from .model import LASTMILE, TMS, WMS, Item, Parcel, Recorder, Shipment, one_or_many, stamp

_TRANSIT_HOURS = {"express": (3.0, 6.0), "standard": (8.0, 16.0), "economy": (18.0, 36.0)}
_CUTOFF = time(6, 0)  # shipments at the depot by then go out on that day's runs
LATE_BINDING_RATE = 0.05  # shipments whose TMS events arrive after the first last-mile scan


def ship(rec: Recorder, parcels: list[Parcel]) -> Shipment:
    """One shipment carrying the parcels (of one order, or of a consolidation group)."""
    r, first = rec.r, parcels[0].order
    depot = DEPOTS[first.customer.depot]
    dc, hub = DCS[depot.region], HUBS[depot.region]
    n = rec.next("shipment")
    sid = f"SH-{rec.p}{n:06d}"
    tracking = f"1Z9R4X{rec.tp}{n:08d}" if depot.region == "uk" else f"JJD0049{rec.tp}{n:09d}"
    orders = list({p.order.id: p.order for p in parcels}.values())
    items: list[Item] = []

    def tms(type_: str, at: datetime, site: Site, **fields: Any) -> None:
        items.append(rec.emit(TMS, type_, at, {"shipment": sid}, site, **fields))

    t = max(p.packed for p in parcels) + rec.minutes(15, 90)
    refs = {"shipment": sid, "order": one_or_many([o.id for o in orders]), "tracking_number": tracking}
    promised = stamp(min(o.promised for o in orders), dc.offset_minutes)
    planned = rec.emit(
        TMS,
        T.SHIPMENT_PLANNED,
        t,
        refs,
        dc,
        source_status="PLANNED",
        service_level=first.service,
        promised_by=promised,
    )
    items.append(planned)
    carriers = CARRIERS[depot.region]
    carrier = r.choice(carriers)
    t += rec.minutes(5, 30)
    tms(T.SHIPMENT_TENDERED, t, dc, source_status="TENDERED", attributes={"carrier": carrier})
    if r.random() < 0.06:
        t += rec.minutes(10, 90)
        reason = {"code": "NO_CAPACITY", "text": f"{carrier} has no capacity on this lane"}
        tms(
            T.SHIPMENT_TENDER_REJECTED,
            t,
            dc,
            source_status="D",
            attributes={"carrier": carrier},
            reason=reason,
        )
        carrier = r.choice([c for c in carriers if c != carrier])
        t += rec.minutes(5, 30)
        tms(T.SHIPMENT_TENDERED, t, dc, source_status="TENDERED", attributes={"carrier": carrier})
    t += rec.minutes(5, 60)
    tms(T.SHIPMENT_TENDER_ACCEPTED, t, dc, source_status="A", attributes={"carrier": carrier})
    cost = {"value": f"{r.uniform(40, 400):.2f}", "currency": "EUR"}
    tms(T.FREIGHT_COST_UPDATED, t + rec.minutes(1, 10), dc, source_status="RATED", amount=cost)
    pickup = t + rec.hours(1, 5)
    loaded = {
        "shipment": sid,
        "warehouse_task": one_or_many([p.task for p in parcels]),
        "lpn": one_or_many([p.lpn for p in parcels]),
    }
    rec.emit(WMS, T.SHIPMENT_LOADED, pickup - rec.minutes(10, 40), loaded, dc, source_status="LOADED")
    tms(T.SHIPMENT_PICKED_UP, pickup, dc, source_status="CP")
    picked_up = items[-1]
    for o in orders:
        o.shipped.append(pickup)
    t = pickup + rec.minutes(5, 20)
    tms(T.SHIPMENT_DEPARTED, t, dc, source_status="AF")
    hours = r.uniform(*_TRANSIT_HOURS[first.service])
    arrive = t + timedelta(hours=hours)
    tms(T.SHIPMENT_ETA_UPDATED, t + rec.minutes(1, 5), dc, source_status="AG", eta=eta(arrive, depot))
    if first.service != "express":  # via the linehaul hub
        at_hub = t + timedelta(hours=hours * 0.45)
        tms(T.SHIPMENT_ARRIVED, at_hub, hub, source_status="X4")
        tms(T.SHIPMENT_DEPARTED, at_hub + rec.minutes(30, 120), hub, source_status="P1")
    if r.random() < 0.08:
        code, text = r.choice(DELAY_REASONS)
        at = t + timedelta(hours=hours * r.uniform(0.2, 0.8))
        arrive += rec.hours(4, 20)
        tms(T.SHIPMENT_DELAYED, at, hub, source_status="SD", reason={"code": code, "text": text})
        tms(T.SHIPMENT_ETA_UPDATED, at + rec.minutes(1, 15), hub, source_status="AG", eta=eta(arrive, depot))
    tms(T.SHIPMENT_ARRIVED, arrive, depot, source_status="X4")
    if rec.f.random() < rec.mix.stale_feed:  # a replayed feed: picked up again, after arriving
        items.append(rec.resend(picked_up, arrive + rec.minutes(10, 120, rec.f), rec.f))
    return Shipment(sid, tracking, parcels, arrive, items)


def eta(at_depot: datetime, depot: Site) -> str:
    """The delivery a shipment reaching the depot at `at_depot` can expect: a noon estimate."""
    tz = timezone(timedelta(minutes=depot.offset_minutes))
    local = at_depot.astimezone(tz)
    day = local.date() if local.time() <= _CUTOFF else local.date() + timedelta(days=1)
    return stamp(datetime.combine(day, time(12, 0), tzinfo=tz), depot.offset_minutes)


def last_mile(rec: Recorder, shipments: list[Shipment]) -> None:
    """Each morning, per depot: what arrived overnight and yesterday's failed attempts are cut
    into runs of 10-30 stops."""
    by_depot: dict[str, list[Shipment]] = defaultdict(list)
    for s in sorted(shipments, key=lambda s: (s.at_depot, s.id)):
        by_depot[s.parcels[0].order.customer.depot].append(s)
    for code in sorted(by_depot):
        depot, pending = DEPOTS[code], by_depot[code]
        tz = timezone(timedelta(minutes=depot.offset_minutes))
        retry: list[Shipment]
        day = pending[0].at_depot.astimezone(tz).date()
        last = (rec.end + timedelta(days=1)).astimezone(tz).date()
        i, retry = 0, []
        while day <= last and (i < len(pending) or retry):
            today, retry = retry, []
            cutoff = datetime.combine(day, _CUTOFF, tzinfo=tz)
            while i < len(pending) and pending[i].at_depot <= cutoff:
                today.append(pending[i])
                i += 1
            while today:
                size = rec.r.randint(10, 30)
                chunk, today = today[:size], today[size:]
                retry += _run(rec, chunk, depot, day, tz)
            day += timedelta(days=1)


def _run(rec: Recorder, chunk: list[Shipment], depot: Site, day: date, tz: timezone) -> list[Shipment]:
    """One driver's day; returns the shipments to try again tomorrow."""
    r, off = rec.r, depot.offset_minutes
    rid = f"R-{rec.p}{rec.next('run'):05d}"
    run_refs = {"delivery_run": rid}
    t = datetime.combine(day, time(5, 30), tzinfo=tz) + rec.minutes(0, 20)
    planned = {"delivery_run": rid, "shipment": [s.id for s in chunk]}
    rec.emit(LASTMILE, T.RUN_PLANNED, t, planned, depot, source_status="ROUTE_BUILT")
    dispatched = datetime.combine(day, time(7, 30), tzinfo=tz) + rec.minutes(0, 45)
    rec.emit(LASTMILE, T.RUN_DISPATCHED, dispatched, run_refs, depot, source_status="DISPATCHED")
    for s in chunk:
        refs = {"delivery_run": rid, "tracking_number": s.tracking}
        at = dispatched + rec.minutes(1, 8)
        scan = rec.emit(LASTMILE, T.DELIVERY_OUT_FOR_DELIVERY, at, refs, depot, source_status="X6")
        if not s.late_checked:
            s.late_checked = True
            if r.random() < LATE_BINDING_RATE:  # the TMS sends this shipment's events hours late
                late = scan.sent + rec.minutes(5, 60)
                for item in s.tms_items:
                    item.sent = max(item.sent, late)
    retry, t = [], dispatched
    for s in chunk:
        t += rec.minutes(8, 22)
        cust = s.parcels[0].order.customer
        stop = {"code": cust.code, "name": f"{cust.name}, {cust.city}"}
        refs = {"delivery_run": rid, "tracking_number": s.tracking}
        if r.random() < 0.08:
            at = t - rec.minutes(30, 60)
            rec.emit(
                LASTMILE,
                T.DELIVERY_ETA_UPDATED,
                at,
                refs,
                depot,
                location=stop,
                source_status="AG",
                eta=stamp(t, off),
            )
        if s.attempts == 0 and r.random() < rec.mix.attempted:
            s.attempts += 1
            code, text = r.choice(ATTEMPT_REASONS)
            reason = {"code": code, "text": text}
            rec.emit(
                LASTMILE,
                T.DELIVERY_ATTEMPTED,
                t,
                refs,
                depot,
                location=stop,
                source_status="AH",
                reason=reason,
            )
            retry.append(s)
        elif s.attempts and r.random() < rec.mix.failed_retry:
            code, text = r.choice(FAIL_REASONS)
            reason = {"code": code, "text": text}
            rec.emit(LASTMILE, T.DELIVERY_FAILED, t, refs, depot, location=stop, source_status="A3", reason=reason)
            for o in s.orders:
                o.failed = True
        else:
            _hand_over(rec, s, t, refs, depot, stop, f"pod/{rid}/{s.tracking}.jpg")
    rec.emit(LASTMILE, T.RUN_COMPLETED, t + rec.minutes(20, 60), run_refs, depot, source_status="ROUTE_CLOSED")
    return retry


def _hand_over(
    rec: Recorder, s: Shipment, t: datetime, refs: dict[str, str], depot: Site, stop: dict[str, str], photo: str
) -> None:
    """The consignee signs for the goods (a POD), or, on a first stop, refuses them for
    `mix.refused` of the shipments (the finance generator decides; the world's generator
    draws the same signer and lag either way, so a refusal changes nothing else)."""
    signer = rec.r.choice(SIGNERS)
    if s.attempts == 0 and rec.f.random() < rec.mix.refused:
        code, text = FAIL_REASONS[0]
        reason = {"code": code, "text": text}
        rec.emit(LASTMILE, T.DELIVERY_FAILED, t, refs, depot, location=stop, source_status="A3", reason=reason)
        for o in s.orders:
            o.failed = True
        return
    lines, short = pod_lines(rec, s)
    pod = {"signed_by": signer, "photo_ref": photo}
    fields: dict[str, Any] = {"location": stop, "source_status": "D1", "pod": pod, "lines": lines, "reason": short}
    _pod_sent(rec, s, rec.emit(LASTMILE, T.DELIVERY_COMPLETED, t, refs, depot, **fields))


def pod_lines(rec: Recorder, s: Shipment) -> tuple[list[dict[str, Any]] | None, dict[str, str] | None]:
    """What the POD says was delivered, and why it is short when it is: the packed lines of a
    single-order shipment, one of them short for `mix.short_delivery` of them. A consolidated
    shipment's POD carries no lines: one signature covers several orders, and a line names no
    order, so the control tower could not tell whose quantities they are."""
    if len(s.orders) != 1:
        return None, None
    by_sku: dict[str, dict[str, Any]] = {}
    for parcel in s.parcels:
        for line in parcel.lines:
            got = by_sku.setdefault(line["sku"], {**line, "qty": 0})
            got["qty"] += line["qty"]
    lines = list(by_sku.values())
    shortable = [line for line in lines if line["qty"] >= 2]
    if not shortable or rec.f.random() >= rec.mix.short_delivery:
        return lines, None
    line = rec.f.choice(shortable)
    refused = rec.f.randint(1, max(1, line["qty"] // 3))
    line["qty"] -= refused
    s.orders[0].short = True
    return lines, {"code": "PARTIAL_DELIVERY", "text": f"{refused} x {line['sku']} refused at the door, damaged"}


def _pod_sent(rec: Recorder, s: Shipment, item: Item) -> None:
    """The POD is sent (late for `mix.late_pod` of them) or lost (`pod_missing` orders); the
    ERP learns of the delivery when it is sent."""
    if any("pod_missing" in o.flags for o in s.orders):
        item.withheld = True
        return
    if rec.f.random() < rec.mix.late_pod:
        item.sent = max(item.sent, item.at + rec.hours(2, 20, rec.f))
    for o in s.orders:
        o.delivered.append(item.sent)
