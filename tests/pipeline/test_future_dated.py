"""Events dated in the future beyond their feed's tolerance: flagged on the event and counted,
shown on the order's timeline, but not trusted to move a stage, meet an SLA or prove a delivery
until their own time comes; the release sweep (pipeline.release_held_events) then recomputes
their orders as if they had arrived on time. Frozen clock; PostgreSQL and SQLite."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from apps.correlation.models import OrderProjection
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed
from apps.pipeline.runner import held_events_release
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation
from tests.correlation.conftest import World
from tests.factories import sla_policy

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T09:00:00+00:00")


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def at(**delta: float) -> str:
    return (NOW + timedelta(**delta)).isoformat()


def shipped_order(w: World) -> None:
    w.send("erp", "order.created", {"order": "SO-1"}, at(hours=-6), service_level="express")
    w.send("erp", "order.released", {"order": "SO-1"}, at(hours=-5))
    w.send("wms", "shipment.confirmed", {"order": "SO-1", "shipment": "SH-1"}, at(hours=-2))


def stage() -> str:
    return OrderProjection.objects.get(order_key="SO-1").stage


def test_an_event_dated_beyond_the_tolerance_is_flagged_and_moves_no_stage(world: World) -> None:
    shipped_order(world)
    assert stage() == "shipped"
    world.send("tms", "delivery.completed", {"shipment": "SH-1"}, at(hours=3), event_id="pod-early")
    event = CanonicalEvent.objects.get(event_key="pod-early")
    assert event.future_dated
    assert event.held_until == NOW + timedelta(hours=3)
    projection = OrderProjection.objects.get(order_key="SO-1")
    assert projection.stage == "shipped"  # not delivered: its time has not come
    assert projection.event_count == 4  # but it is on the timeline, and counted
    assert world.timeline("SO-1")[-1] == "pod-early"
    assert projection.pod is None  # and proves no delivery to the invoice holds


def test_within_the_tolerance_an_event_moves_the_stage_at_once(world: World) -> None:
    shipped_order(world)
    world.send("tms", "delivery.completed", {"shipment": "SH-1"}, at(minutes=10), event_id="pod-soon")
    event = CanonicalEvent.objects.get(event_key="pod-soon")
    assert (event.future_dated, event.held_until) == (False, None)
    assert stage() == "delivered"


def test_the_tolerance_is_the_feeds_own(world: World) -> None:
    Feed.objects.filter(pk=world.feeds["tms"].pk).update(future_tolerance=timedelta(minutes=5))
    world.feeds["tms"].refresh_from_db()
    shipped_order(world)
    world.send("tms", "delivery.completed", {"shipment": "SH-1"}, at(minutes=10), event_id="pod-soon")
    assert CanonicalEvent.objects.get(event_key="pod-soon").future_dated
    assert stage() == "shipped"


def test_when_its_time_comes_the_sweep_trusts_it_and_the_order_moves(
    world: World, clock: time_machine.Traveller
) -> None:
    shipped_order(world)
    world.send("tms", "delivery.completed", {"shipment": "SH-1"}, at(hours=3), event_id="pod-early")
    assert held_events_release() == 0  # not yet
    assert stage() == "shipped"
    clock.move_to(NOW + timedelta(hours=3, seconds=1))
    assert held_events_release() == 1
    event = CanonicalEvent.objects.get(event_key="pod-early")
    assert (event.future_dated, event.held_until) == (True, None)  # the flag stays: it was sent early
    projection = OrderProjection.objects.get(order_key="SO-1")
    assert projection.stage == "delivered"
    assert projection.pod is not None
    assert held_events_release() == 0  # released once


def test_a_held_stop_meets_no_sla_until_released(world: World, clock: time_machine.Traveller) -> None:
    sla_policy(name="deliver-within-8h", start="order.released", within=timedelta(hours=8))
    shipped_order(world)
    world.send("tms", "delivery.completed", {"shipment": "SH-1"}, at(hours=1), event_id="pod-early")
    assert Expectation.objects.get().status == ExpectationStatus.PENDING
    clock.move_to(NOW + timedelta(hours=1, minutes=1))
    held_events_release()
    expectation = Expectation.objects.get()
    assert (expectation.status, expectation.met_at) == (ExpectationStatus.MET, NOW + timedelta(hours=1))


def test_a_rebuild_agrees_with_the_held_fold(world: World, clock: time_machine.Traveller) -> None:
    shipped_order(world)
    world.send("tms", "delivery.completed", {"shipment": "SH-1"}, at(hours=3), event_id="pod-early")

    def fields() -> tuple[str, int, object]:
        p = OrderProjection.objects.get(order_key="SO-1")
        return p.stage, p.event_count, p.pod

    before = fields()
    call_command("rebuild_projections", stdout=StringIO(), stderr=StringIO())
    assert fields() == before == ("shipped", 4, None)
    clock.move_to(NOW + timedelta(hours=4))
    held_events_release()
    released = fields()
    call_command("rebuild_projections", stdout=StringIO(), stderr=StringIO())
    assert fields() == released
    assert released[0] == "delivered"
