"""Fixtures for the web pages: users per role, logged-in clients, feeds with messages."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from tests.factories import FeedFactory, UserFactory, event

NAIVE_TIME = "2026-11-25T10:15:00"  # no offset: the validator rejects it


@pytest.fixture
def login(db: None) -> Callable[..., Client]:
    """A client logged in as a new user with the given role (None: no role at all)."""

    def make(role: str | None, **user: Any) -> Client:
        client = Client()
        client.force_login(UserFactory(role=role, **user))
        return client

    return make


@pytest.fixture
def ops_client(login: Callable[..., Client]) -> Client:
    return login("ops_lead")


@pytest.fixture
def admin_client_role(login: Callable[..., Client]) -> Client:
    """An `admin`-role user (not a superuser): manages feeds, reads the audit log."""
    return login("admin", is_staff=True)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw-for-tests")


@pytest.fixture
def receive(django_capture_on_commit_callbacks: Any) -> Callable[..., RawMessage]:
    """Receive a body on a feed; the processing task runs at once (Celery is eager in tests)."""

    def do(feed: Any, events: list[dict[str, Any]]) -> RawMessage:
        with django_capture_on_commit_callbacks(execute=True):
            message = message_receive(feed=feed, body=orjson.dumps({"events": events}), content_type="application/json")
        message.refresh_from_db()
        return message

    return do


@pytest.fixture
def acme(db: None) -> Any:
    return FeedFactory(slug="acme-wms", partner_name="Acme Logistics", system="wms")


@pytest.fixture
def clean_message(acme: Any, receive: Callable[..., RawMessage]) -> RawMessage:
    return receive(acme, [event(1), event(2)])


@pytest.fixture
def partial_message(acme: Any, receive: Callable[..., RawMessage]) -> RawMessage:
    """Processed, with event #1 (e-bad) rejected for its naive time."""
    return receive(acme, [event(3), event("bad", occurred_at=NAIVE_TIME)])
