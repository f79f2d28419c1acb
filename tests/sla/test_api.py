"""`/api/v1/sla-policies/`: the contract's body, validation, permissions, audit."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import AuditLog
from apps.accounts.services import api_token_create
from apps.sla.models import Expectation, SlaPolicy
from tests.factories import UserFactory

from .conftest import express_order, released

BODY = {
    "name": "pick-within-4h",
    "start": "order.released",
    "stop": ["pick.completed"],
    "within": "PT4H",
    "applies_to": {"service_level": "express"},
    "severity": "high",
    "queue": "ops",
}


@pytest.fixture
def as_role(client: Client, db: None) -> Callable[[str], Callable[..., Any]]:
    def for_role(role: str) -> Callable[..., Any]:
        token = api_token_create(user=UserFactory(role=role))
        auth = {"HTTP_AUTHORIZATION": f"Token {token}"}

        def call(method: str, path: str = "sla-policies/", data: dict[str, Any] | None = None) -> Any:
            if method == "get":
                return client.get(f"/api/v1/{path}", **auth)
            return client.generic(method.upper(), f"/api/v1/{path}", json.dumps(data or {}), "application/json", **auth)

        return call

    return for_role


@pytest.fixture
def admin(as_role: Callable[[str], Callable[..., Any]]) -> Callable[..., Any]:
    return as_role("admin")


def test_it_creates_the_contract_policy(admin):
    response = admin("post", data=BODY)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in BODY} == BODY
    assert body["deadline"] is None
    policy = SlaPolicy.objects.get()
    assert policy.within == timedelta(hours=4)
    log = AuditLog.objects.get(action="sla_policy.created")
    assert log.target == "sla_policy:pick-within-4h"
    assert admin("get").json()["results"][0]["name"] == "pick-within-4h"


def test_it_creates_a_promised_by_policy(admin):
    body = {**BODY, "within": None, "deadline": "promised_by"}
    del body["within"]
    response = admin("post", data=body)
    assert response.status_code == 201, response.json()
    assert (response.json()["within"], response.json()["deadline"]) == (None, "promised_by")


def test_a_created_policy_applies_to_open_orders(admin, world, django_capture_on_commit_callbacks):
    express_order(world)
    released(world)
    with django_capture_on_commit_callbacks(execute=True):  # the evaluation, queued on commit
        assert admin("post", data=BODY).status_code == 201
    assert Expectation.objects.get().order.value == "SO-1"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"within": "4 hours"}, "within", "not an ISO-8601 duration"),
        ({"within": "4:00:00"}, "within", "not an ISO-8601 duration"),
        ({"within": "PT0S"}, "within", "positive"),
        ({"deadline": "promised_by"}, "within", "exactly one of within or deadline"),
        ({"within": None}, "within", "exactly one of within or deadline"),
        ({"start": "order.teleported"}, "start", "not a valid choice"),
        ({"stop": []}, "stop", ""),
        ({"applies_to": {"colour": "red"}}, "applies_to", "unknown key colour"),
        ({"severity": "apocalyptic"}, "severity", "not a valid choice"),
    ],
)
def test_it_rejects_bad_input(admin, change, field, message):
    response = admin("post", data={**BODY, **change})
    assert response.status_code == 400
    errors = response.json()
    assert field in str(errors)
    assert message in str(errors)
    assert not SlaPolicy.objects.exists()


def test_it_rejects_a_duplicate_name(admin):
    assert admin("post", data=BODY).status_code == 201
    response = admin("post", data=BODY)
    assert response.status_code == 400
    assert "exists" in str(response.json()["name"])


def test_only_admins_manage_policies(as_role):
    ops = as_role("ops_lead")
    assert ops("post", data=BODY).status_code == 403
    assert ops("get").status_code == 200
    assert not SlaPolicy.objects.exists()


def test_it_updates_a_policy_audited(admin):
    policy_id = admin("post", data=BODY).json()["id"]
    response = admin("patch", f"sla-policies/{policy_id}/", {"within": "PT2H", "active": False})
    assert response.status_code == 200, response.json()
    assert (response.json()["within"], response.json()["active"]) == ("PT2H", False)
    assert AuditLog.objects.filter(action="sla_policy.updated").count() == 1
    bad = admin("patch", f"sla-policies/{policy_id}/", {"deadline": "promised_by"})
    assert bad.status_code == 400


def test_a_form_encoded_body_is_refused_415_and_creates_nothing(client: Client, db: None) -> None:
    # A form would carry `within`'s null as the text "null": the API takes JSON bodies only.
    token = api_token_create(user=UserFactory(role="admin"))
    response = client.post(
        "/api/v1/sla-policies/",
        {**BODY, "stop": "pick.completed", "applies_to": ""},
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 415, response.content
    assert "detail" in response.json()
    assert not SlaPolicy.objects.exists()
