"""`/api/v1/exceptions/…`: the contract's shapes, filters, permissions and audited actions."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import AuditLog
from apps.accounts.services import api_token_create
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from tests.factories import UserFactory

from .conftest import T, attempt

CONTRACT_KEYS = {
    "id",
    "kind",
    "code",
    "severity",
    "status",
    "queue",
    "order",
    "opened_at",
    "last_seen_at",
    "occurrences",
    "assignee",
}


@pytest.fixture
def as_user(client: Client, db: None) -> Callable[[str], Callable[..., Any]]:
    """`as_user("ops_lead")("post", "exceptions/1/resolve/", {...})` — with that role's token."""

    def for_role(role: str) -> Callable[..., Any]:
        user = UserFactory(role=role)
        token = api_token_create(user=user)

        def call(method: str, path: str, data: dict[str, Any] | None = None, **params: str) -> Any:
            auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
            if method == "get":
                return client.get(f"/api/v1/{path}", params, **auth)
            return client.post(f"/api/v1/{path}", data or {}, content_type="application/json", **auth)

        call.user = user  # type: ignore[attr-defined]
        return call

    return for_role


@pytest.fixture
def ops(as_user: Callable[[str], Callable[..., Any]]) -> Callable[..., Any]:
    return as_user("ops_lead")


@pytest.fixture
def case(world: Any) -> ExceptionCase:
    world.send("erp", "order.created", {"order": "SO-1"}, T(8))
    attempt(world, T(10))
    return ExceptionCase.objects.get()


def test_it_lists_exceptions_in_the_contract_shape(world, case, as_user):
    cs = as_user("cs_agent")
    r = cs("get", "exceptions/", status="open", order="SO-1")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    [item] = body["results"]
    assert set(item) >= CONTRACT_KEYS
    assert item["kind"] == "partner_exception"
    assert item["code"] == "CUSTOMER_ABSENT"
    assert item["order"] == "SO-1"
    assert item["status"] == "open"
    assert item["assignee"] is None
    assert item["occurrences"] == 1
    assert item["last_seen_at"].startswith("2026-11-25T10:00:00")


def test_the_order_counts_its_open_exceptions(world, case, as_user):
    cs = as_user("cs_agent")
    assert cs("get", "orders/SO-1/").json()["open_exceptions"] == 1
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(12))
    assert cs("get", "orders/SO-1/").json()["open_exceptions"] == 0


def test_it_filters_and_orders_by_severity_then_last_seen(world, as_user):
    world.send("lastmile", "delivery.attempted", {"order": "SO-1"}, T(10), reason={"code": "A"})
    world.send("lastmile", "delivery.attempted", {"order": "SO-2"}, T(11), reason={"code": "A"})
    world.send("lastmile", "delivery.failed", {"order": "SO-3"}, T(9), reason={"code": "REFUSED"})
    cs = as_user("cs_agent")

    def orders(**params: str) -> list[str]:
        r = cs("get", "exceptions/", **params)
        assert r.status_code == 200, r.json()
        return [x["order"] for x in r.json()["results"]]

    assert orders() == ["SO-3", "SO-2", "SO-1"]
    assert orders(queue="customer_service") == ["SO-2", "SO-1"]
    assert orders(severity="high") == ["SO-3"]
    assert orders(kind="sla_breach") == []
    assert orders(order="SO-2") == ["SO-2"]
    assert orders(status="resolved") == []
    assert orders(status="open,resolved") == ["SO-3", "SO-2", "SO-1"]
    r = cs("get", "exceptions/", status="closed")
    assert r.status_code == 400
    assert "status" in r.json()
    assert cs("get", "exceptions/", kind="nope").status_code == 400


def test_it_paginates(world, as_user):
    for n in range(3):
        world.send("lastmile", "delivery.attempted", {"order": f"SO-{n}"}, T(10 + n), reason={"code": "A"})
    body = as_user("cs_agent")("get", "exceptions/", page_size="2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert body["previous"] is None


def test_every_action_is_audited_and_recorded_on_the_case(case, ops, as_user):
    colleague = UserFactory(role="ops_lead", username="colleague")
    path = f"exceptions/{case.id}"
    r = ops("post", f"{path}/assign/", {"assignee": "colleague"})
    assert r.status_code == 200
    assert r.json()["assignee"] == "colleague"
    r = ops("post", f"{path}/acknowledge/")
    assert r.status_code == 200
    assert r.json()["status"] == "acknowledged"
    r = ops("post", f"{path}/snooze/", {"until": "2026-11-26T12:00:00+01:00"})
    assert r.status_code == 200
    assert r.json()["status"] == "snoozed"
    r = ops("post", f"{path}/comment/", {"text": "called the customer"})
    assert r.status_code == 200
    r = ops("post", f"{path}/resolve/", {"resolution": "redelivery booked"})
    assert r.status_code == 200
    assert r.json()["status"] == "resolved"
    assert r.json()["resolution"] == "redelivery booked"

    actions = ["assigned", "acknowledged", "snoozed", "commented", "resolved"]
    audited = AuditLog.objects.filter(target=f"exception:{case.id}").order_by("id")
    assert [a.action for a in audited] == [f"exception.{a}" for a in actions]
    assert {a.actor for a in audited} == {ops.user}
    history = ExceptionActivity.objects.filter(case=case, actor=ops.user).order_by("id")
    assert [a.action for a in history] == actions
    assert history[0].detail == {"assignee": colleague.username}

    detail = ops("get", f"{path}/").json()
    assert [a["action"] for a in detail["activity"]] == ["opened", *actions]


def test_a_snooze_that_has_passed_shows_the_case_open_again(case, ops, as_user):
    import time_machine

    ops("post", f"exceptions/{case.id}/snooze/", {"until": "2026-11-26T10:00:00+00:00"})
    cs = as_user("cs_agent")
    assert cs("get", "exceptions/", status="snoozed").json()["count"] == 1
    with time_machine.travel("2026-11-26T10:00:01+00:00", tick=False):
        [item] = cs("get", "exceptions/", status="open").json()["results"]
    assert item["status"] == "open"


def test_a_user_who_may_only_look_up_may_neither_read_nor_act(case, as_user):
    # Reading the queues is part of working them (`work_exceptions`), as on the queue page.
    from django.contrib.auth.models import Permission

    cs = as_user("cs_agent")
    cs.user.groups.clear()
    cs.user.user_permissions.add(Permission.objects.get(codename="lookup_orders"))
    assert cs("get", f"exceptions/{case.id}/").status_code == 403
    assert cs("get", "exceptions/").status_code == 403
    for action, body in [
        ("assign", {"assignee": cs.user.username}),
        ("acknowledge", {}),
        ("snooze", {"until": "2026-11-27T00:00:00+00:00"}),
        ("resolve", {"resolution": "x"}),
        ("comment", {"text": "x"}),
    ]:
        assert cs("post", f"exceptions/{case.id}/{action}/", body).status_code == 403, action
    assert not AuditLog.objects.filter(target=f"exception:{case.id}").exists()


def test_it_needs_credentials(client, case):
    assert client.get("/api/v1/exceptions/").status_code == 401


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("assign", {"assignee": "nobody-by-that-name"}, "assignee"),
        ("assign", {}, "assignee"),
        ("snooze", {"until": "2026-11-27T00:00:00"}, "until"),  # naive
        ("snooze", {"until": "next tuesday"}, "until"),
        ("snooze", {"until": "2026-11-26T08:00:00+00:00"}, "until"),  # in the past
        ("resolve", {"resolution": "   "}, "resolution"),
        ("resolve", {}, "resolution"),
        ("comment", {"text": ""}, "text"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(case, ops, action, body, field):
    r = ops("post", f"exceptions/{case.id}/{action}/", body)
    assert r.status_code == 400
    assert field in r.json()
    assert not AuditLog.objects.filter(target=f"exception:{case.id}").exists()


def test_acting_on_a_resolved_case_is_a_conflict(case, ops):
    ops("post", f"exceptions/{case.id}/resolve/", {"resolution": "done"})
    r = ops("post", f"exceptions/{case.id}/acknowledge/")
    assert r.status_code == 409
    assert "resolved" in r.json()["detail"]
    # a comment on a resolved case is still history worth keeping
    assert ops("post", f"exceptions/{case.id}/comment/", {"text": "for the record"}).status_code == 200


def test_an_unknown_case_is_404(db, ops):
    assert ops("post", "exceptions/999999/acknowledge/").status_code == 404
    assert ops("get", "exceptions/999999/").status_code == 404


def test_an_attempt_older_than_a_manual_resolution_does_not_reopen(world, case, ops):
    ops("post", f"exceptions/{case.id}/resolve/", {"resolution": "spoke to the driver"})
    attempt(world, T(11))  # reported late; happened before the decision (the clock is the next day)
    assert ExceptionCase.objects.count() == 1
    case.refresh_from_db()
    assert (case.status, case.occurrences) == ("resolved", 2)
