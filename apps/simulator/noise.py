"""What real feeds do to a clean stream: resend events, send them out of order, and now and
then send something the control tower must refuse (with a reason a partner can act on)."""

import copy
import random
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from .model import SimEvent

# Each bad event breaks one rule of canonical-events.md §4; validate_one rejects all of them.
BAD_KINDS = ("naive_time", "unknown_type", "empty_refs", "unknown_ref_kind", "garbage_time")


def _spoil(event: dict[str, Any], kind: str, event_id: str) -> dict[str, Any]:
    bad = copy.deepcopy(event)
    bad["event_id"] = event_id
    if kind == "naive_time":
        bad["occurred_at"] = str(event["occurred_at"])[:19]  # "2026-11-25T10:00:00": no offset
    elif kind == "unknown_type":
        bad["type"] = "order.teleported"
    elif kind == "empty_refs":
        bad["refs"] = {}
    elif kind == "unknown_ref_kind":
        bad["refs"] = {**event["refs"], "pallet": "P1"}
    elif kind == "garbage_time":
        bad["occurred_at"] = "yesterday-ish"
    else:
        raise ValueError(f"unknown kind of bad event: {kind!r}")
    return bad


def make_noisy(
    events: list[SimEvent],
    *,
    seed: int,
    duplicate_rate: float = 0.03,
    reorder_window: int = 20,
    bad_rate: float = 0.01,
) -> list[SimEvent]:
    """A noisy copy of the stream; the input is not changed.

    - duplicates: ~`duplicate_rate` of the events are sent again (same event_id, identical
      body), from right after the original to ~10 windows later;
    - reordering: every event moves by at most `reorder_window` places;
    - bad events: ~`bad_rate` of the count (at least one per kind when the rate is above 0
      and there are enough events), each a spoiled copy of a real event with its own
      event_id `bad-<original event_id>`, cycling through BAD_KINDS."""
    r = random.Random(seed)
    window = max(0, reorder_window)
    keyed: list[tuple[float, int, SimEvent]] = []
    for i, sim in enumerate(events):
        keyed.append((i + r.uniform(0, window), len(keyed), sim))
        if r.random() < duplicate_rate:
            later = i + r.uniform(1, max(2, 10 * window))
            keyed.append((later, len(keyed), SimEvent(sim.system, copy.deepcopy(sim.event))))
    if bad_rate > 0 and events:
        count = min(len(events), max(round(len(events) * bad_rate), len(BAD_KINDS)))
        for k, index in enumerate(sorted(r.sample(range(len(events)), count))):
            base = events[index]
            kind = BAD_KINDS[k % len(BAD_KINDS)]
            bad = _spoil(base.event, kind, f"bad-{base.event.get('event_id', index)}")
            keyed.append((index + r.uniform(0, window), len(keyed), SimEvent(base.system, bad)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [sim for _, _, sim in keyed]


def batches(events: Iterable[SimEvent], size: int) -> dict[str, list[list[dict[str, Any]]]]:
    """Per system, the event bodies cut into lists of at most `size`, keeping stream order:
    each inner list is the `events` of one POST to that system's feed."""
    if size < 1:
        raise ValueError("size must be at least 1")
    out: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for sim in events:
        bodies = out[sim.system]
        if not bodies or len(bodies[-1]) >= size:
            bodies.append([])
        bodies[-1].append(sim.event)
    return dict(out)
