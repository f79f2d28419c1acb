"""A frozen clock, an order-flow builder over the real pipeline, and an exception-case factory."""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import factory
import pytest
import time_machine

from apps.exceptions.models import ExceptionCase
from tests.correlation.conftest import World, world  # noqa: F401 - the shared fixture

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def iso(hours: float) -> str:
    """NOW - hours as a feed writes it, with a +02:00 offset: the measures must work in UTC."""
    return ago(hours).astimezone(timezone(timedelta(hours=2))).isoformat()


_shipments = itertools.count(1)


def flow(
    w: World,
    order: str,
    *,
    released: float | None = None,
    picked: float | None = None,
    shipped: float | None = None,
    delivered: float | None = None,
    promised: float | None = None,
) -> str:
    """Send an order's milestones, each `hours` before NOW; returns its shipment id."""
    shipment = f"SH-{order}-{next(_shipments)}"
    started = max((h for h in (released, picked, shipped, delivered) if h is not None), default=1.0) + 1
    promise: dict[str, Any] = {"promised_by": iso(promised)} if promised is not None else {}
    w.send("erp", "order.created", {"order": order}, iso(started), **promise)
    w.send("tms", "shipment.planned", {"order": order, "shipment": shipment}, iso(started))
    if released is not None:
        w.send("erp", "order.released", {"order": order}, iso(released))
    if picked is not None:
        w.send("wms", "pick.completed", {"order": order, "warehouse_task": f"WT-{order}"}, iso(picked))
    if shipped is not None:
        w.send("tms", "shipment.picked_up", {"shipment": shipment}, iso(shipped))
    if delivered is not None:
        w.send("lastmile", "delivery.completed", {"shipment": shipment}, iso(delivered), pod={"signed_by": "R. Doe"})
    return shipment


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExceptionCase

    kind = "partner_exception"
    code = "CUSTOMER_ABSENT"
    fingerprint = factory.Sequence(lambda n: f"test:{n}")
    subject = factory.Sequence(lambda n: f"order:SO-{n}")
    severity = "medium"
    status = "open"
    opened_at = factory.LazyFunction(lambda: NOW - timedelta(hours=1))
    last_seen_at = factory.SelfAttribute("opened_at")
    occurrences = 1
