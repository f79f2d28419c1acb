"""Two sweeps at the same moment never open a breach twice (PostgreSQL only): the pending →
breached UPDATE is the claim, and only the worker whose UPDATE changed the row opens the case."""

import os
import threading
import time
from datetime import datetime
from typing import Any

import pytest
from django.db import connections

from apps.exceptions.models import ExceptionCase
from apps.sla import services
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation

from .conftest import T, express_order, pick_policy, released

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
    ),
]

ORDERS = 12


@pytest.fixture
def wide_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each claim's transaction open a little, so the other sweep runs into it."""
    open_case = services.sla_breach_open

    def slow_open(**kwargs: Any) -> Any:
        time.sleep(0.02)
        return open_case(**kwargs)

    monkeypatch.setattr(services, "sla_breach_open", slow_open)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_open_each_breach_once(world, wide_window):
    pick_policy()
    for n in range(ORDERS):
        express_order(world, f"SO-{n}")
        released(world, f"SO-{n}")
    at = datetime.fromisoformat(T(15))
    barrier = threading.Barrier(2)
    opened: list[tuple[str, str, int]] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            opened.extend(services.sla_sweep(at).opened)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(key for _, key, _ in opened) == sorted(f"SO-{n}" for n in range(ORDERS))
    assert ExceptionCase.objects.filter(kind="sla_breach").count() == ORDERS
    assert Expectation.objects.filter(status=ExpectationStatus.BREACHED, breach_case__isnull=False).count() == ORDERS
