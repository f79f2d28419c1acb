"""Feed noise: duplicates, local reordering and bad events the control tower must refuse."""

import copy
from collections import Counter
from datetime import UTC, datetime

import pytest

from apps.events.validation import Rejection, ValidEvent, validate_one
from apps.simulator.noise import BAD_KINDS, batches, make_noisy
from apps.simulator.world import generate_world, world_stats


@pytest.fixture(scope="module")
def world():
    return generate_world(orders=120, seed=3, start=datetime(2026, 11, 22, tzinfo=UTC))


def key(sim):
    return (sim.system, sim.event["event_id"])


def test_it_is_deterministic_and_leaves_the_input_alone(world):
    before = copy.deepcopy(world)
    assert make_noisy(world, seed=5) == make_noisy(world, seed=5)
    assert world == before


def test_duplicates_repeat_the_event_identically(world):
    noisy = make_noisy(world, seed=5, duplicate_rate=0.1, bad_rate=0)
    counts = Counter(key(sim) for sim in noisy)
    repeated = [k for k, n in counts.items() if n > 1]
    assert len(repeated) > len(world) * 0.05
    by_key = {}
    for sim in noisy:
        if key(sim) in by_key:
            assert sim == by_key[key(sim)]  # same event_id, same body
        by_key[key(sim)] = sim
    assert world_stats(noisy)["duplicates"] == len(noisy) - len(world)


def test_events_move_at_most_a_window(world):
    noisy = make_noisy(world, seed=5, duplicate_rate=0, bad_rate=0, reorder_window=20)
    assert sorted(noisy, key=lambda s: world.index(s)) == world
    assert noisy != world
    position = {key(sim): i for i, sim in enumerate(world)}
    assert all(abs(position[key(sim)] - i) <= 20 for i, sim in enumerate(noisy))


def test_bad_events_are_rejected_with_a_readable_reason(world):
    noisy = make_noisy(world, seed=5, duplicate_rate=0, bad_rate=0.01)
    bad = [sim for sim in noisy if sim.event["event_id"].startswith("bad-")]
    assert len(bad) >= len(BAD_KINDS)
    assert len({key(sim) for sim in bad}) == len(bad)
    errors = []
    for sim in bad:
        result = validate_one(0, sim.event)
        assert isinstance(result, Rejection), sim.event
        assert result.event_id == sim.event["event_id"]
        errors += result.errors
    text = "\n".join(errors)
    assert "occurred_at: naive time, offset required" in text
    assert "unknown event type 'order.teleported'" in text
    assert "refs: at least one ref is required" in text
    assert "refs.pallet: unknown ref kind" in text
    assert "occurred_at: not an RFC 3339 time" in text
    good = [sim for sim in noisy if not sim.event["event_id"].startswith("bad-")]
    assert all(isinstance(validate_one(0, sim.event), ValidEvent) for sim in good)


def test_no_noise_is_the_same_stream(world):
    assert make_noisy(world, seed=1, duplicate_rate=0, reorder_window=0, bad_rate=0) == world


def test_batches_cut_each_system_in_stream_order(world):
    cut = batches(world, 50)
    assert set(cut) == {"erp", "wms", "tms", "lastmile"}
    for system, bodies in cut.items():
        assert all(1 <= len(body) <= 50 for body in bodies)
        flat = [event for body in bodies for event in body]
        assert flat == [sim.event for sim in world if sim.system == system]
    with pytest.raises(ValueError, match="at least 1"):
        batches(world, 0)
