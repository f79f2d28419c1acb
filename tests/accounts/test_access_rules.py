"""Where the API and the pages used to disagree on a right (issue 13): each now follows the one
rule of apps/accounts/access.py, as docs/roles.md says."""

from typing import Any

import orjson
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from apps.accounts.services import api_token_create
from apps.exceptions.models import ExceptionCase
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.exceptions.cases import CaseFactory
from tests.factories import FeedFactory, UserFactory, event

pytestmark = pytest.mark.django_db


def token_client(user: User) -> Client:
    return Client(headers={"Authorization": f"Token {api_token_create(user=user)}"})


def page_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def user_with(*codenames: str) -> User:
    user: User = UserFactory()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames))
    return user


# --- 1. a message's rejections and errors are under view_feeds ------------------------------


@pytest.fixture
def partly_rejected() -> Any:
    feed = FeedFactory()
    body = {"events": [event(1), event(2, occurred_at="2026-11-25T10:15:00")]}  # the second: naive time
    message = message_receive(feed=feed, body=orjson.dumps(body), content_type="application/json")
    message_process(message_id=message.id)
    return feed, message


def test_a_role_without_view_feeds_reads_a_messages_status_but_not_its_rejections(partly_rejected: Any) -> None:
    _, message = partly_rejected
    answer = token_client(UserFactory(role="cs_agent")).get(f"/api/v1/messages/{message.id}/")
    assert answer.status_code == 200
    data = answer.json()
    assert (data["status"], data["accepted"]) == ("processed", 1)
    assert "rejected" not in data
    assert "error" not in data
    # The page says the same: the message itself is a feed's detail.
    assert page_client(UserFactory(role="cs_agent")).get(f"/messages/{message.id}/").status_code == 403


def test_view_feeds_and_the_feeds_own_token_see_the_rejections(partly_rejected: Any) -> None:
    feed, message = partly_rejected
    ops = token_client(UserFactory(role="ops_lead")).get(f"/api/v1/messages/{message.id}/").json()
    own = Client(headers={"Authorization": f"Bearer {feed.credentials.token}"}).get(f"/api/v1/messages/{message.id}/")
    for data in (ops, own.json()):
        assert [r["index"] for r in data["rejected"]] == [1]
        assert "error" in data


# --- 2. an exception is assigned only to someone who works the queues -----------------------


def test_the_api_assigns_only_to_people_the_page_offers() -> None:
    case = CaseFactory()
    lead = UserFactory(role="ops_lead")
    outsider = UserFactory()  # active, but in no role: the page's assignee list leaves them out
    api = token_client(lead)
    refused = api.post(
        f"/api/v1/exceptions/{case.id}/assign/", {"assignee": outsider.username}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "assignee" in refused.json()
    page = page_client(lead).post(f"/exceptions/{case.id}/assign/", {"assignee": outsider.username})
    assert page.status_code == 302
    assert ExceptionCase.objects.get(id=case.id).assignee is None
    worker = UserFactory(role="cs_agent")
    done = api.post(
        f"/api/v1/exceptions/{case.id}/assign/", {"assignee": worker.username}, content_type="application/json"
    )
    assert done.status_code == 200
    assert done.json()["assignee"] == worker.username


# --- 3. reading the exception queues needs work_exceptions, on the page and the API ---------


@pytest.mark.parametrize(("codenames", "allowed"), [(("lookup_orders",), False), (("work_exceptions",), True)])
def test_the_api_and_the_page_agree_on_who_reads_the_exception_queues(
    codenames: tuple[str, ...], allowed: bool
) -> None:
    case = CaseFactory()
    user = user_with(*codenames)
    expected = 200 if allowed else 403
    assert page_client(user).get("/exceptions/").status_code == expected
    assert page_client(user).get(f"/exceptions/{case.id}/").status_code == expected
    api = token_client(user)
    assert api.get("/api/v1/exceptions/").status_code == expected
    assert api.get(f"/api/v1/exceptions/{case.id}/").status_code == expected
