"""The list API's extension filters (docs/api.md): assignee `me` / `unassigned`, `age`, `customer`."""

from datetime import timedelta

import pytest
from django.test import Client

from apps.accounts.services import api_token_create
from tests.factories import UserFactory

from .cases import BASE, CaseFactory, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client):
    user = UserFactory(username="olivia", role="ops_lead")
    token = api_token_create(user=user)

    def get(**params: str) -> list[int]:
        response = client.get("/api/v1/exceptions/", params, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    get.user = user  # type: ignore[attr-defined]
    get.client = client  # type: ignore[attr-defined]
    get.token = token  # type: ignore[attr-defined]
    return get


def test_assignee_me_and_unassigned(api):
    mine = CaseFactory(assignee=api.user)
    theirs = CaseFactory(assignee=UserFactory(username="sam"))
    nobodys = CaseFactory()
    assert api(assignee="me") == [mine.id]
    assert api(assignee="unassigned") == [nobodys.id]
    assert api(assignee="sam") == [theirs.id]  # a username, as before


def test_age_counts_from_when_the_case_opened(api):
    # the conftest's frozen clock is BASE (2026-11-26 09:00 UTC)
    old = CaseFactory(opened_at=BASE - timedelta(days=4), last_seen_at=BASE - timedelta(minutes=5))
    CaseFactory(opened_at=BASE - timedelta(minutes=30))
    assert api(age="3d") == [old.id]
    assert api(age="90m") == [old.id]
    assert len(api(age="10m")) == 2


def test_customer_matches_part_of_the_name_of_the_cases_order(api):
    acme = CaseFactory(order=order(customer="Acme Retail GmbH"))
    CaseFactory(order=order(customer="Globex Corp"))
    CaseFactory()  # on no order
    assert api(customer="retail") == [acme.id]


@pytest.mark.parametrize("age", ["soon", "0h", "4 weeks", "-1d"])
def test_a_bad_age_is_a_400_that_says_what_is_accepted(api, age):
    response = api.client.get("/api/v1/exceptions/", {"age": age}, HTTP_AUTHORIZATION=f"Token {api.token}")
    assert response.status_code == 400
    assert "4h or 3d" in response.json()["age"][0]
