"""A policy's save commits the policy with its audit record, and leaves the open orders to a task
queued on commit (apps/sla/services/open_orders.py): batched, idempotent, its progress on the
policy's page and in the API."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import AuditLog
from apps.accounts.services import api_token_create
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation, SlaPolicy
from apps.sla.services import open_orders, policies, sla_policy_create, sla_policy_update
from apps.sla.services.open_orders import EvaluationState, evaluation_progress, generation_of, open_orders_evaluate
from tests.factories import UserFactory

from .conftest import express_order, pick_policy, released
from .test_api import BODY


@pytest.fixture
def admin_api(client: Client, db: None) -> Callable[..., Any]:
    token = api_token_create(user=UserFactory(role="admin"))

    def call(method: str, path: str = "sla-policies/", data: dict[str, Any] | None = None) -> Any:
        return client.generic(
            method.upper(),
            f"/api/v1/{path}",
            json.dumps(data or {}),
            "application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )

    return call


def open_express_orders(world: Any, first: int, last: int) -> None:
    for n in range(first, last + 1):
        express_order(world, f"SO-{n}")
        released(world, f"SO-{n}")


def test_the_request_evaluates_no_order_and_the_task_queued_on_commit_does(
    world, admin_api, django_capture_on_commit_callbacks
):
    open_express_orders(world, 1, 2)
    with django_capture_on_commit_callbacks() as few_callbacks, CaptureQueriesContext(connection) as few:
        assert admin_api("post", data={**BODY, "name": "first"}).status_code == 201
    open_express_orders(world, 3, 12)
    with django_capture_on_commit_callbacks() as many_callbacks, CaptureQueriesContext(connection) as many:
        response = admin_api("post", data=BODY)
    assert response.status_code == 201
    # Nothing evaluated inside the request, whatever the number of open orders (the first
    # policy's clocks on SO-3… come from the pipeline, as those orders arrived after it).
    assert not Expectation.objects.filter(policy__name=BODY["name"]).exists()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert not any("sla_expectation" in q["sql"] for q in many.captured_queries)
    assert response.json()["evaluation"] is None  # queued on commit, not yet

    for callback in [*few_callbacks, *many_callbacks]:  # the commit: the tasks run (eager)
        callback()
    policy = SlaPolicy.objects.get(name=BODY["name"])
    assert Expectation.objects.filter(policy=policy, status=ExpectationStatus.PENDING).count() == 12
    evaluation = admin_api("get", f"sla-policies/{policy.id}/").json()["evaluation"]
    assert evaluation == {"state": "done", "orders_total": 12, "orders_evaluated": 12}


def audit_fails(**kwargs: Any) -> None:
    raise RuntimeError("audit log unavailable")


def test_a_failing_audit_record_rolls_the_policy_back(world, monkeypatch, django_capture_on_commit_callbacks):
    open_express_orders(world, 1, 1)
    monkeypatch.setattr(policies, "audit_record", audit_fails)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        sla_policy_create(actor=None, **{**BODY, "within": timedelta(hours=4)})
    assert not SlaPolicy.objects.exists()
    assert callbacks == []  # nothing queued for a policy that does not exist
    assert not Expectation.objects.exists()


def test_a_failing_audit_record_rolls_an_edit_back(world, monkeypatch):
    policy = pick_policy()
    monkeypatch.setattr(policies, "audit_record", audit_fails)
    with pytest.raises(RuntimeError):
        sla_policy_update(policy=policy, actor=None, severity="low")
    assert SlaPolicy.objects.get().severity == "high"
    assert not AuditLog.objects.filter(action="sla_policy.updated").exists()


def test_the_task_goes_batch_by_batch_and_its_progress_shows_on_the_page(world, client):
    open_express_orders(world, 1, 5)
    policy = pick_policy(active=False)  # saved without a run
    SlaPolicy.objects.filter(id=policy.id).update(active=True)
    policy.refresh_from_db()
    generation = generation_of(policy)

    rest = open_orders_evaluate(policy_id=policy.id, generation=generation, revive=False, batch=2, batches=1)
    assert rest is not None
    assert (rest.evaluated, rest.total) == (2, 5)
    assert Expectation.objects.count() == 2  # the first batch, committed on its own
    progress = evaluation_progress(policy_id=policy.id)
    assert progress is not None
    assert (progress.state, progress.orders_total, progress.orders_evaluated) == (EvaluationState.RUNNING, 5, 2)
    client.force_login(UserFactory(role="ops_lead"))
    page = client.get(f"/sla/policies/{policy.id}/").content.decode()
    assert "Evaluating 5 open orders…" in page
    assert "2 done" in page
    assert 'hx-trigger="every 2s"' in page  # refreshes itself while it runs

    done = open_orders_evaluate(
        policy_id=policy.id, generation=generation, revive=False, after=rest.after, evaluated=2, total=5, batch=2
    )
    assert done is None
    assert Expectation.objects.count() == 5
    page = client.get(f"/sla/policies/{policy.id}/").content.decode()
    assert "Applied to the 5 orders open at its last save" in page
    assert 'hx-trigger="every 2s"' not in page


def test_the_task_queues_the_rest_of_a_long_run_and_is_idempotent(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    open_express_orders(world, 1, 5)
    monkeypatch.setattr(open_orders, "BATCH", 2)
    monkeypatch.setattr(open_orders, "BATCHES_PER_TASK", 1)  # a task per batch: three tasks
    policy = pick_policy()
    assert Expectation.objects.filter(status=ExpectationStatus.PENDING).count() == 5
    before = list(Expectation.objects.order_by("id").values_list("id", "order_id", "status", "due_at"))

    with django_capture_on_commit_callbacks(execute=True):  # saved again: the same open orders
        sla_policy_update(policy=policy, actor=None, severity="low")
    assert list(Expectation.objects.order_by("id").values_list("id", "order_id", "status", "due_at")) == before


def test_a_deactivation_stops_a_run_in_progress(world):
    open_express_orders(world, 1, 4)
    policy = pick_policy(active=False)
    SlaPolicy.objects.filter(id=policy.id).update(active=True)
    policy.refresh_from_db()
    rest = open_orders_evaluate(policy_id=policy.id, generation=generation_of(policy), revive=False, batch=2, batches=1)
    assert rest is not None
    sla_policy_update(policy=policy, actor=None, active=False)  # cancels what the first batch started

    following = open_orders_evaluate(
        policy_id=policy.id, generation=generation_of(policy), revive=False, after=rest.after, batch=2
    )
    assert following is None
    assert set(Expectation.objects.values_list("status", flat=True)) == {ExpectationStatus.CANCELLED}
    assert Expectation.objects.count() == 2
    progress = evaluation_progress(policy_id=policy.id)
    assert progress is not None
    assert progress.state == EvaluationState.STOPPED
