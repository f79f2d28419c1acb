"""The live clock: a world's days replayed as if they were happening while it is sent.

`generate_world` plays days of history; sent as they are, every event would arrive days after
it occurred and the feeds' lag (received - occurred) would read in days. `relive` moves each
event so that it occurs its own lag (how long its system took to send it, drawn per system in
model.py, hours for a late POD) before the moment the simulator will post it, at `rate` events
per second from `start`. The world's days are compressed into the sending time, and its lags
are kept as they are: lag, silence and future-dated events mean what they mean in production.

Compressing can put an event before one that preceded it in the world (a pick completed in
the second after its start was sent, with a longer lag): within everything an event refers to
(its order, task, shipment, run…), the world's order of occurrence is kept, never past the
moment the event is posted; except for an event late by an hour or more (a POD synced hours
after the delivery, a TMS catching up), which keeps its lag and so lands before stages the
compressed world sent since, as a late report does. Other times an event carries (`promised_by`, `eta`) move with it.

Pure: the same arguments give the same list; run it before make_noisy so that a duplicate
is the same body as its original."""

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from .model import SimEvent, stamp

_MOVED_WITH_THE_EVENT = ("promised_by", "eta")
LATE = timedelta(hours=1)  # a lag this long is a late report: kept, not ordered
DEFAULT_RATE = 200.0  # events per second assumed when the simulator sends as fast as it goes


def _ref_keys(refs: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    for kind, value in refs.items():
        for one in [value] if isinstance(value, str) else value:
            keys.append((kind, str(one)))
    return keys


def _restamp(value: str, delta: timedelta) -> str:
    at = datetime.fromisoformat(value)
    offset = at.utcoffset() or timedelta(0)
    return stamp((at + delta).astimezone(timezone(offset)), int(offset.total_seconds() // 60))


def relive(events: list[SimEvent], *, start: datetime, rate: float | None) -> list[SimEvent]:
    """The stream (in sending order, as generate_world gives it) with every event moved to
    occur its lag before its planned post time `start + i / rate`."""
    if start.tzinfo is None:
        raise ValueError("start: naive time, offset required")
    step = 1.0 / (rate if rate and rate > 0 else DEFAULT_RATE)
    # Per referenced entity: (world occurrence, live occurrence) of the events already placed.
    placed: dict[tuple[str, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    out: list[SimEvent] = []
    for i, sim in enumerate(events):
        at = datetime.fromisoformat(sim.event["occurred_at"])
        sent = sim.sent if sim.sent is not None else at
        posted = start + timedelta(seconds=i * step)
        live = posted - (sent - at)
        keys = _ref_keys(sim.event.get("refs") or {})
        if sent - at < LATE:
            before = [new for key in keys for old, new in placed[key] if old <= at]
            live = min(max([live, *before]), posted)
        for key in keys:
            placed[key].append((at, live))
        delta = live - at
        event = dict(sim.event)
        event["occurred_at"] = _restamp(sim.event["occurred_at"], delta)
        for name in _MOVED_WITH_THE_EVENT:
            if isinstance(event.get(name), str):
                event[name] = _restamp(event[name], delta)
        out.append(SimEvent(sim.system, event, sent + delta))
    return out
