"""Failed logins are limited per client address and per username (docs/operations.md
"Security"): past the limit the login page says why and answers 429 with Retry-After, even to
the right password, until the window from the first failure has passed."""

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WINDOW = 600


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.LOGIN_FAILURES_PER_USERNAME = 3
    settings.LOGIN_FAILURES_PER_IP = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = WINDOW


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel("2026-12-01T09:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def ada(db: None) -> Any:
    return UserFactory(username="ada", role="ops_lead")


def log_in(client: Client, username: str, password: str, ip: str = "198.51.100.7") -> Any:
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_too_many_wrong_passwords_even_the_right_one_gets_429_until_the_window_ends(
    client: Client, ada: Any, clock: Any
) -> None:
    for _ in range(3):
        response = log_in(client, "ada", "wrong")
        assert response.status_code == 200
        assert "match. Please try again" in response.content.decode()

    refused = log_in(client, "ada", "pw-for-tests")
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(WINDOW)
    assert "Too many failed logins" in refused.content.decode()
    assert not logged_in(client)

    clock.shift(WINDOW - 60)
    assert log_in(client, "ada", "pw-for-tests").status_code == 429
    assert log_in(client, "ada", "pw-for-tests")["Retry-After"] == "60"
    clock.shift(61)
    assert log_in(client, "ada", "pw-for-tests").status_code == 302
    assert logged_in(client)


def test_a_locked_username_is_locked_from_every_address(client: Client, ada: Any, clock: Any) -> None:
    for n in range(3):
        log_in(client, "ada", "wrong", ip=f"203.0.113.{n}")
    assert log_in(client, "ADA", "pw-for-tests", ip="192.0.2.50").status_code == 429  # usernames fold case
    assert not logged_in(client)


def test_one_address_guessing_many_usernames_is_stopped_and_others_are_not(client: Client, clock: Any) -> None:
    UserFactory(username="bob", role="ops_lead")
    for n in range(5):
        assert log_in(client, f"guess{n}", "wrong").status_code == 200
    assert log_in(client, "bob", "pw-for-tests").status_code == 429
    assert not logged_in(client)
    assert log_in(Client(), "bob", "pw-for-tests", ip="192.0.2.99").status_code == 302


def test_logging_in_clears_the_usernames_failures(client: Client, ada: Any, clock: Any) -> None:
    log_in(client, "ada", "wrong")
    log_in(client, "ada", "wrong")
    assert log_in(client, "ada", "pw-for-tests").status_code == 302
    other = Client()
    log_in(other, "ada", "wrong", ip="192.0.2.1")
    log_in(other, "ada", "wrong", ip="192.0.2.1")
    assert log_in(other, "ada", "pw-for-tests", ip="192.0.2.1").status_code == 302


def test_the_admin_login_is_limited_too(client: Client, clock: Any) -> None:
    UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    for _ in range(3):
        client.post(admin_login, {"username": "root", "password": "wrong"}, REMOTE_ADDR="198.51.100.7")
    response = client.post(admin_login, {"username": "root", "password": "pw-for-tests"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200  # the admin's own form, with its error
    assert not logged_in(client)
