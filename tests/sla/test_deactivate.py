"""Deactivating a policy cancels its running clocks; re-activating applies it again to the
orders open at that moment."""

from datetime import datetime

from apps.accounts.models import AuditLog
from apps.exceptions.choices import CaseStatus
from apps.exceptions.models import ExceptionCase
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation
from apps.sla.selectors import policy_counts
from apps.sla.services import sla_policy_set_active, sla_sweep

from .conftest import T, express_order, pick_policy, picked, released


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(T(hour, minute))


def statuses() -> dict[str, str]:
    return dict(Expectation.objects.values_list("order__value", "status"))


def test_deactivating_cancels_the_pending_clocks_only(world):
    policy = pick_policy()
    for order in ("SO-1", "SO-2", "SO-3"):
        express_order(world, order)
        released(world, order)
    picked(world, "SO-2", at=T(11))
    sla_sweep(at(14, 30))  # SO-1 and SO-3 breach
    express_order(world, "SO-4")
    released(world, "SO-4", at=T(12))  # due 16:00, still running
    sla_policy_set_active(policy=policy, active=False, actor="tester")
    assert statuses() == {
        "SO-1": ExpectationStatus.BREACHED,
        "SO-2": ExpectationStatus.MET,
        "SO-3": ExpectationStatus.BREACHED,
        "SO-4": ExpectationStatus.CANCELLED,
    }
    assert sla_sweep(at(20)).opened == []
    assert ExceptionCase.objects.filter(status=CaseStatus.OPEN).count() == 2  # breaches stay to be worked
    counts = policy_counts(policy_ids=[policy.id], at=at(20))[policy.id]
    assert (counts.pending, counts.breached, counts.met, counts.met_late) == (0, 2, 1, 0)
    log = AuditLog.objects.filter(action="sla_policy.updated").get()
    assert (log.actor_label, log.detail["active"], log.detail["changed"]) == ("tester", False, ["active"])


def test_an_inactive_policy_ignores_new_milestones(world):
    policy = pick_policy()
    express_order(world)
    released(world)
    sla_policy_set_active(policy=policy, active=False, actor=None)
    picked(world, at=T(12))
    express_order(world, "SO-2")
    released(world, "SO-2")
    assert statuses() == {"SO-1": ExpectationStatus.CANCELLED}


def test_reactivating_runs_the_cancelled_clocks_of_open_orders_again(world, django_capture_on_commit_callbacks):
    policy = pick_policy()
    for order in ("SO-1", "SO-2", "SO-3"):
        express_order(world, order)
        released(world, order)
    sla_policy_set_active(policy=policy, active=False, actor=None)
    picked(world, "SO-2", at=T(12))  # arrives while the policy is off
    world.send("erp", "order.cancelled", {"order": "SO-3"}, T(12))  # no longer open
    with django_capture_on_commit_callbacks(execute=True):  # the evaluation, queued on commit
        sla_policy_set_active(policy=policy, active=True, actor=None)
    assert statuses() == {
        "SO-1": ExpectationStatus.PENDING,
        "SO-2": ExpectationStatus.MET,
        "SO-3": ExpectationStatus.CANCELLED,
    }
    assert [key for _, key, _ in sla_sweep(at(14)).opened] == ["SO-1"]
