from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import TestCase

from apps.sla.models import SlaPolicy
from apps.sla.services import sla_policy_create
from tests.browser.conftest import page  # noqa: F401 - the shared fixture
from tests.correlation.conftest import World, world  # noqa: F401 - the shared fixture

NOW = "2026-11-26T09:00:00+00:00"  # after every event time the tests send


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def T(hour: int, minute: int = 0) -> str:
    return f"2026-11-25T{hour:02d}:{minute:02d}:00+00:00"


def pick_policy(**overrides: Any) -> SlaPolicy:
    data: dict[str, Any] = {
        "name": "pick-within-4h",
        "start": "order.released",
        "stop": ["pick.completed"],
        "within": timedelta(hours=4),
        "applies_to": {"service_level": "express"},
        "severity": "high",
        "queue": "ops",
    }
    data.update(overrides)
    # The open orders are evaluated by a task queued on commit (eager here): run it, although
    # the test holds the transaction.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return sla_policy_create(actor=None, **data)


def express_order(w: World, order: str = "SO-1", at: str = T(8), **extra: Any) -> None:
    extra.setdefault("service_level", "express")
    w.send("erp", "order.created", {"order": order}, at, customer="Acme Retail", **extra)


def released(w: World, order: str = "SO-1", at: str = T(10)) -> None:
    w.send("erp", "order.released", {"order": order}, at)


def picked(w: World, order: str = "SO-1", at: str = T(12)) -> None:
    w.send("wms", "pick.completed", {"order": order}, at)
