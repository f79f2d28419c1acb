"""Two sweeps at the same moment never open a breach twice (PostgreSQL only): each round locks
its due rows with SKIP LOCKED, so the sweeps share the rows instead of both taking one."""

import os
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connections

from apps.exceptions.models import ExceptionCase
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation
from apps.sla.services import sweep as sweep_module
from tests.correlation.conftest import World

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
    open_cases = sweep_module.sla_breaches_open

    def slow_open(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return open_cases(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "sla_breaches_open", slow_open)


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
            opened.extend(sweep_module.sla_sweep(at, batch=3).opened)
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


@pytest.mark.django_db(transaction=True)
def test_a_sweep_with_two_workers_opens_each_breach_once(world, wide_window):
    pick_policy()
    for n in range(ORDERS):
        express_order(world, f"SO-{n}")
        released(world, f"SO-{n}")
    result = sweep_module.sla_sweep(datetime.fromisoformat(T(15)), batch=2, workers=2)
    assert sorted(key for _, key, _ in result.opened) == sorted(f"SO-{n}" for n in range(ORDERS))
    assert result.claimed == ORDERS
    assert ExceptionCase.objects.filter(kind="sla_breach").count() == ORDERS
    assert Expectation.objects.filter(status=ExpectationStatus.BREACHED, breach_case__isnull=False).count() == ORDERS


@pytest.mark.django_db
def test_a_set_based_write_that_lost_its_row_leaves_it_to_the_per_row_path(world: World) -> None:
    """Plain transitions (a clock starts, a stop in time) are written in one compare-and-set
    UPDATE. A row another writer changed since it was read is not written by it: the caller
    re-reads and decides again."""
    from django.db import connection

    from apps.sla.deadlines import Stored, Target
    from apps.sla.services.transitions import _apply_plain

    if connection.vendor != "postgresql":
        pytest.skip("the set-based write is PostgreSQL's")
    pick_policy()
    express_order(world)
    released(world)
    row = Expectation.objects.get()
    read = Stored(row.status, row.started_at, row.due_at, row.met_at, None)
    met = Target("met", row.started_at, row.due_at, row.due_at - timedelta(hours=1))
    Expectation.objects.filter(id=row.id).update(due_at=row.due_at + timedelta(minutes=5))  # the other writer
    assert _apply_plain([(row.id, row.order_id, read, met)]) == set()
    assert Expectation.objects.get().status == "pending"
    fresh = Expectation.objects.get()
    read = Stored(fresh.status, fresh.started_at, fresh.due_at, fresh.met_at, None)
    assert _apply_plain([(row.id, row.order_id, read, met)]) == {row.id}
    assert Expectation.objects.get().status == "met"
