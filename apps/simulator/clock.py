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
compressed world sent since, as a late report does.

The times an event *promises* (`promised_by`, `eta`) are read on the same compressed clock:
a promise three world-days ahead is as many sending-seconds ahead as those days take to send,
so an order the world delivers late is delivered after its promise in the demo too (and the
"delivered by the promised date" SLA breaches there while people watch), and a stuck order's
promise runs out during the demo instead of days later. A promise beyond the world's last
moment is that far beyond the round's end, in real time: the orders still open when the world
ends are not all late a minute later.

Pure: the same arguments give the same list; run it before make_noisy so that a duplicate
is the same body as its original."""

from bisect import bisect_right
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from .model import SimEvent, stamp

_PROMISED_TIMES = ("promised_by", "eta")
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


class _Compressed:
    """World time → sending time: piecewise linear through (world sent time, planned post time)
    of the stream's events; before them at the stream's overall compression, after them at
    real speed (the world's last moment is its "now": a promise two days after it is two days
    after the round, not seconds)."""

    def __init__(self, world: list[datetime], live: list[datetime]) -> None:
        self.world, self.live = world, live
        span = (world[-1] - world[0]).total_seconds() if world else 0.0
        self.ratio = (live[-1] - live[0]).total_seconds() / span if span > 0 else 1.0

    def __call__(self, at: datetime) -> datetime:
        if not self.world:
            return at
        i = bisect_right(self.world, at)
        if i == 0:
            return self.live[0] - (self.world[0] - at) * self.ratio
        if i == len(self.world):
            return self.live[-1] + (at - self.world[-1])
        w0, w1, l0, l1 = self.world[i - 1], self.world[i], self.live[i - 1], self.live[i]
        gap = (w1 - w0).total_seconds()
        return l0 + (l1 - l0) * ((at - w0).total_seconds() / gap) if gap > 0 else l0


def _compressed(events: list[SimEvent], start: datetime, step: float) -> _Compressed:
    points: list[tuple[datetime, datetime]] = []
    for i, sim in enumerate(events):
        sent = sim.sent if sim.sent is not None else datetime.fromisoformat(sim.event["occurred_at"])
        if not points or sent > points[-1][0]:  # strictly increasing world times
            points.append((sent, start + timedelta(seconds=i * step)))
    return _Compressed([w for w, _ in points], [live for _, live in points])


def _moved(value: str, clock: _Compressed) -> str:
    at = datetime.fromisoformat(value)
    offset = at.utcoffset() or timedelta(0)
    return stamp(clock(at).astimezone(timezone(offset)), int(offset.total_seconds() // 60))


def relive(events: list[SimEvent], *, start: datetime, rate: float | None) -> list[SimEvent]:
    """The stream (in sending order, as generate_world gives it) with every event moved to
    occur its lag before its planned post time `start + i / rate`."""
    if start.tzinfo is None:
        raise ValueError("start: naive time, offset required")
    step = 1.0 / (rate if rate and rate > 0 else DEFAULT_RATE)
    clock = _compressed(events, start, step)
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
        for name in _PROMISED_TIMES:
            if isinstance(event.get(name), str):
                event[name] = _moved(event[name], clock)
        out.append(SimEvent(sim.system, event, sent + delta))
    return out
