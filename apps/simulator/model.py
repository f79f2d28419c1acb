"""The simulated world's building blocks: the event a system sends, the entities whose lives
are played out, and the recorder that stamps every event with its source offset and the
moment its system sends it.

The recorder holds two seeded generators: `r` plays the world (orders, shipments, runs, the
feeds' lags) and `f` the finance traffic steered by `mix` (apps/simulator/mix.py), so that
the mix never changes the physical world of a seed."""

import copy
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from apps.events.taxonomy import System

from .catalog import Customer, Site
from .mix import FINANCE_MIX, FinanceMix

ERP, WMS, TMS, LASTMILE = System.ERP.value, System.WMS.value, System.TMS.value, System.LASTMILE.value
# How long after the fact each system sends an event (seconds): the feed's lag. An ERP posts
# its documents within seconds, a WMS batches its scans by the minute, a TMS polls its
# carriers every few minutes and a driver's handheld syncs when it has signal. The share late
# by hours comes from the flows themselves (late PODs, late-bound TMS shipments).
_LAG_SECONDS = {ERP: (2.0, 30.0), WMS: (15.0, 120.0), TMS: (60.0, 600.0), LASTMILE: (30.0, 300.0)}


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One canonical event as one system sends it."""

    system: str  # "erp" | "wms" | "tms" | "lastmile"
    event: dict[str, Any]
    sent: datetime | None = field(default=None, compare=False)  # when its system sends it (world time)


def stamp(at: datetime, offset_minutes: int) -> str:
    """RFC 3339 in the source's own offset, to the second; UTC is written with a Z."""
    local = at.astimezone(timezone(timedelta(minutes=offset_minutes))).replace(microsecond=0)
    return local.strftime("%Y-%m-%dT%H:%M:%SZ") if offset_minutes == 0 else local.isoformat()


def one_or_many(ids: list[str]) -> str | list[str]:
    unique = list(dict.fromkeys(ids))
    return unique[0] if len(unique) == 1 else unique


@dataclass(slots=True)
class Item:
    """An event being built: when it occurred, when its system sends it, creation order."""

    sent: datetime
    at: datetime
    seq: int
    system: str
    event: dict[str, Any]
    withheld: bool = False  # never sent (a POD the last mile loses)


@dataclass(slots=True)
class Order:
    id: str
    po: str
    customer: Customer
    service: str  # "express" | "standard" | "economy"
    created: datetime
    promised: datetime
    lines: list[dict[str, Any]]
    kind: str  # "single" | "split" | "consolidated"
    # hold, changed, cancel_early, cancel_late, invoice_early, pod_missing
    flags: frozenset[str] = frozenset()
    shipped: list[datetime] = field(default_factory=list)  # each shipment's pickup
    delivered: list[datetime] = field(default_factory=list)  # when each POD reached the ERP (sent)
    failed: bool = False
    short: bool = False  # picked or delivered fewer units than ordered


@dataclass(slots=True)
class Parcel:
    """What one warehouse task packed: one LPN for one order."""

    order: Order
    task: str
    lpn: str
    packed: datetime
    lines: list[dict[str, Any]] = field(default_factory=list)  # what was packed (picked quantities)


@dataclass(slots=True)
class Shipment:
    id: str
    tracking: str
    parcels: list[Parcel]
    at_depot: datetime
    tms_items: list[Item]
    attempts: int = 0
    late_checked: bool = False

    @property
    def orders(self) -> list[Order]:
        return list({p.order.id: p.order for p in self.parcels}.values())


class Recorder:
    """Collects the events of one world; ids and times come from its seeded generator."""

    def __init__(
        self,
        rng: random.Random,
        start: datetime,
        end: datetime,
        prefix: str,
        *,
        mix: FinanceMix = FINANCE_MIX,
        finance_rng: random.Random | None = None,
    ) -> None:
        self.r, self.start, self.end = rng, start, end
        self.mix, self.f = mix, finance_rng if finance_rng is not None else random.Random(0)
        self.p = f"{prefix}-" if prefix else ""
        self.tp = "".join(c for c in prefix.upper() if c.isalnum())  # for all-digit style numbers
        self.items: list[Item] = []
        self.counters: dict[str, int] = defaultdict(int)

    def next(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def minutes(self, lo: float, hi: float, rng: random.Random | None = None) -> timedelta:
        return timedelta(minutes=(self.r if rng is None else rng).uniform(lo, hi))

    def hours(self, lo: float, hi: float, rng: random.Random | None = None) -> timedelta:
        return timedelta(hours=(self.r if rng is None else rng).uniform(lo, hi))

    def emit(
        self,
        system: str,
        type_: str,
        at: datetime,
        refs: dict[str, Any],
        site: Site | None = None,
        *,
        rng: random.Random | None = None,
        **fields: Any,
    ) -> Item:
        """An event at `at`, printed in the site's offset (Z without a site); the site is the
        event's location unless `location` is given. Its system sends it its lag later, drawn
        from `rng` (default: the world's generator)."""
        offset = site.offset_minutes if site is not None else 0
        event: dict[str, Any] = {"type": str(type_), "occurred_at": stamp(at, offset), "refs": dict(refs)}
        if site is not None and "location" not in fields:
            event["location"] = site.as_location()
        event.update({k: v for k, v in fields.items() if v is not None})
        return self._add(system, at, event, self.r if rng is None else rng)

    def resend(self, item: Item, at: datetime, rng: random.Random) -> Item:
        """The same event sent again as new (its own event id), stamped `at` in its offset: a
        stale or replayed feed reporting an old stage as if it had just happened."""
        offset = datetime.fromisoformat(item.event["occurred_at"]).utcoffset() or timedelta(0)
        event = {**copy.deepcopy(item.event), "occurred_at": stamp(at, int(offset.total_seconds() // 60))}
        return self._add(item.system, at, event, rng)

    def _add(self, system: str, at: datetime, event: dict[str, Any], rng: random.Random) -> Item:
        lo, hi = _LAG_SECONDS[system]
        item = Item(at + timedelta(seconds=rng.uniform(lo, hi)), at, len(self.items), system, event)
        self.items.append(item)
        return item

    def finish(self) -> list[SimEvent]:
        """The snapshot: what occurred and was sent by `end`, in sending order, with event ids."""
        kept = [i for i in self.items if i.at <= self.end and i.sent <= self.end and not i.withheld]
        kept.sort(key=lambda i: (i.sent, i.seq))
        out = []
        for item in kept:
            event_id = f"{item.system}-{self.p}{self.next('event-' + item.system):06d}"
            out.append(SimEvent(item.system, {"event_id": event_id, **item.event}, item.sent))
        return out
