"""A deterministic simulated world: orders flowing through ERP, WMS, TMS and last mile.

`generate_world` plays every order's life (canonical-events.md §3) from its creation and cuts
the world at `start + horizon`: a snapshot in progress, where recent orders are half way and
old ones are invoiced. The events come in the order the four systems send them: each a little
after it occurred, and for a few shipments the TMS is late, so that last-mile scans by
tracking number arrive before the `shipment.planned` that binds the number (late binding).

What is in it: split shipments (~10% of orders), consolidated shipments (2-3 orders, ~10%),
delivery runs of 10-30 shipments, tender rejections, delays with new ETAs, short picks,
credit holds, order changes and cancellations, failed attempts retried the next day (then
delivered or given up). And the finance traffic, in the proportions of a `FinanceMix`
(mix.py): invoices raised at ship-confirm (held until the PODs come) or after delivery, in
EUR, GBP or USD, posted after delivery, a few posted while held, a few cancelled and raised
again; PODs with the delivered lines, a few short; late PODs, lost PODs, deliveries refused at
the door; and now and then a stale feed (the WMS or the TMS re-sending an earlier stage
stamped after a later one).

Pure: no database, no clock; the same arguments give the same list."""

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from apps.events.taxonomy import EventType

from .finance import invoice
from .mix import FINANCE_MIX, FinanceMix
from .model import Recorder as _Recorder
from .model import Shipment as _Shipment
from .model import SimEvent, stamp
from .orders import make_orders, order_flow
from .transport import last_mile, ship

__all__ = ["FINANCE_MIX", "FinanceMix", "SimEvent", "generate_world", "stamp", "world_stats"]


def generate_world(
    *,
    orders: int,
    seed: int = 1,
    start: datetime,
    horizon: timedelta = timedelta(days=3),
    id_prefix: str = "",
    finance: FinanceMix = FINANCE_MIX,
) -> list[SimEvent]:
    """`orders` orders created over [start, start + horizon), played out, cut at the end.

    `id_prefix` goes into every id (orders, shipments, runs, event ids…) so that several
    worlds can be sent to one control tower without colliding. `finance` sets the shares of
    the finance traffic; it is drawn from a generator of its own (seeded from `seed`), so a
    seed's orders, shipments and runs are the same under any mix."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start: naive time, offset required")
    rec = _Recorder(
        random.Random(seed),
        start,
        start + horizon,
        id_prefix,
        mix=finance,
        finance_rng=random.Random(f"{seed}:finance"),
    )
    groups = make_orders(rec, orders)
    shipments: list[_Shipment] = []
    for group in groups:
        parcels = [parcel for order in group for parcel in order_flow(rec, order)]
        if group[0].kind == "consolidated":
            shipments += [ship(rec, parcels)] if parcels else []
        else:
            shipments += [ship(rec, [parcel]) for parcel in parcels]
    last_mile(rec, shipments)
    for group in groups:
        for order in group:
            invoice(rec, order)
    return rec.finish()


def _ids(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def world_stats(events: Iterable[SimEvent]) -> dict[str, int]:
    """Counts for a summary: distinct events, orders, shipments, runs, split orders,
    consolidated shipments, late-bound tracking numbers (scanned before the shipment.planned
    that binds them was sent), invoices raised, posted and cancelled, and short PODs.
    Duplicates and `bad-` events are counted, not analysed."""
    seen: set[tuple[str, str]] = set()
    orders: set[str] = set()
    runs: set[str] = set()
    shipments_of: dict[str, set[str]] = defaultdict(set)
    consolidated: set[str] = set()
    scanned: set[str] = set()
    late: set[str] = set()
    invoices: dict[str, set[str]] = defaultdict(set)  # event type -> invoice numbers
    duplicates = bad = short = 0
    for sim in events:
        event, event_id = sim.event, str(sim.event.get("event_id", ""))
        if event_id.startswith("bad-"):
            bad += 1
            continue
        if (sim.system, event_id) in seen:
            duplicates += 1
            continue
        seen.add((sim.system, event_id))
        refs: dict[str, Any] = event["refs"]
        if event["type"] == EventType.ORDER_CREATED:
            orders.update(_ids(refs["order"]))
        if "invoice" in refs:
            invoices[event["type"]].update(_ids(refs["invoice"]))
        if event["type"] == EventType.DELIVERY_COMPLETED and (event.get("reason") or {}).get("code"):
            short += 1
        if "delivery_run" in refs:
            runs.update(_ids(refs["delivery_run"]))
            scanned.update(_ids(refs.get("tracking_number", [])))
        if event["type"] == EventType.SHIPMENT_PLANNED:
            shipment, order_ids = refs["shipment"], _ids(refs["order"])
            for order_id in order_ids:
                shipments_of[order_id].add(shipment)
            if len(order_ids) > 1:
                consolidated.add(shipment)
            late.update(t for t in _ids(refs.get("tracking_number", [])) if t in scanned)
    return {
        "events": len(seen),
        "orders": len(orders),
        "shipments": len({s for ids in shipments_of.values() for s in ids}),
        "runs": len(runs),
        "split": sum(1 for ids in shipments_of.values() if len(ids) > 1),
        "consolidated": len(consolidated),
        "late_bound": len(late),
        "invoices": len(invoices[EventType.INVOICE_CREATED]),
        "invoices_posted": len(invoices[EventType.INVOICE_POSTED]),
        "invoices_cancelled": len(invoices[EventType.INVOICE_CANCELLED]),
        "short_pods": short,
        "duplicates": duplicates,
        "bad": bad,
    }
