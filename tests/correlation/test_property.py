"""Property: whatever order the events of a world arrive in, however often each is resent and
however they are cut into messages, the control tower ends with the same stages, partial
flags, shipments and timelines as when the clean stream arrived in order (§2 rule 3, §3).

Each example generates its own small world (8 orders, with splits, consolidations, runs and
late-bound tracking numbers) under a unique id prefix and sends it through fresh feeds, in a
savepoint that is rolled back, so examples never see each other's nodes. The clean outcome of
each world is computed once (under its own prefix) and compared with the prefix blanked out."""

import functools
import itertools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from apps.simulator.world import SimEvent, generate_world
from tests.factories import FeedFactory

START = datetime(2026, 11, 23, tzinfo=UTC)
# 8-order worlds that hold a split order, a consolidated shipment and/or a late-bound tracking
# number (apps.simulator.world.world_stats), so that the interesting paths are exercised.
SEEDS = (8, 10, 17, 19, 23)
_examples = itertools.count(1)


def world(seed: int, prefix: str) -> list[SimEvent]:
    return generate_world(orders=8, seed=seed, start=START, id_prefix=prefix)


@functools.cache
def world_size(seed: int) -> int:
    return len(world(seed, ""))  # the prefix changes ids only, never the shape


def _blank(value: Any, prefix: str) -> Any:
    """The outcome with the world's id prefix replaced, so two prefixes compare."""
    if isinstance(value, str):
        return value.replace(prefix, "<P>")
    if isinstance(value, dict):
        return {_blank(k, prefix): _blank(v, prefix) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_blank(v, prefix) for v in value)
    if isinstance(value, set):
        return {_blank(v, prefix) for v in value}
    return value


@functools.cache
def clean_outcome(seed: int) -> dict[str, Any]:
    """The clean stream in sending order, as a feed would batch it: windows of 20 consecutive
    events, each window one message per system."""
    prefix = f"Q{seed}CLEANZ"
    events = world(seed, prefix)
    windows = [events[start : start + 20] for start in range(0, len(events), 20)]
    return _blank(_outcome(windows, f"clean-{seed}"), prefix)


@st.composite
def noise(draw: st.DrawFn) -> dict[str, Any]:
    seed = draw(st.sampled_from(SEEDS))
    n = world_size(seed)
    order = draw(st.permutations(range(n)))
    # (which event is resent, where in the stream the copy goes)
    repeats = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n)), max_size=25))
    cuts = draw(st.lists(st.integers(1, n + len(repeats) - 1), max_size=8))
    return {"seed": seed, "order": order, "repeats": repeats, "cuts": cuts}


def _send(feeds: dict[str, Any], segments: list[list[SimEvent]]) -> None:
    """Each segment is one message per system (the system's events in stream order)."""
    for segment in segments:
        by_system: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sim in segment:
            by_system[sim.system].append(sim.event)
        for system, events in by_system.items():
            message = message_receive(
                feed=feeds[system], body=orjson.dumps({"events": events}), content_type="application/json"
            )
            message_process(message_id=message.id)


def _outcome(segments: list[list[SimEvent]], tag: str) -> dict[str, Any]:
    """Send, read what users see, and roll it all back."""
    with transaction.atomic():
        feeds = {s: FeedFactory(system=s, slug=f"prop-{tag}-{s}") for s in ("erp", "wms", "tms", "lastmile")}
        _send(feeds, segments)
        outcome = {
            "orders": {
                p["order_key"]: p
                for p in OrderProjection.objects.values(
                    "order_key", "stage", "partial", "shipments", "warehouse_tasks", "aliases", "event_count"
                )
            },
            "timeline": set(TimelineEntry.objects.values_list("order__value", "event__system", "event__event_key")),
            "unmatched": set(CanonicalEvent.objects.filter(matched=False).values_list("system", "event_key")),
        }
        transaction.set_rollback(True)
    return outcome


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(noise=noise())
def test_any_permutation_and_duplication_gives_the_clean_streams_timelines(noise):
    example = next(_examples)
    prefix = f"Q{example}NOISYZ"  # distinctive: blanked out of every id for the comparison
    events = world(noise["seed"], prefix)
    expected = clean_outcome(noise["seed"])

    stream = [events[i] for i in noise["order"]]
    for index, position in sorted(noise["repeats"], key=lambda r: -r[1]):
        stream.insert(position, events[index])
    bounds = sorted({0, len(stream), *noise["cuts"]})
    noisy = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    got = _blank(_outcome(noisy, f"{example}-noisy"), prefix)

    assert len(expected["orders"]) >= 8
    assert {k: (p["stage"], p["partial"]) for k, p in got["orders"].items()} == {
        k: (p["stage"], p["partial"]) for k, p in expected["orders"].items()
    }
    assert got["orders"] == expected["orders"]
    assert got["timeline"] == expected["timeline"]
    assert got["unmatched"] == expected["unmatched"]
