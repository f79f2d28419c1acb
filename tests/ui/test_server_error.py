"""The 500 answer when the database is what failed: the page (or, under /api/, a JSON body)
comes without a single query, so it cannot fail in turn."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ui.urls_server_error")]


def _database_down(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


@pytest.fixture
def logged_in() -> Client:
    """A logged-in user: a page built on base.html would read the session and the user."""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role="ops_lead"))
    return client


@pytest.fixture
def database_down() -> Iterator[CaptureQueriesContext]:
    """Every query fails as with the server gone; the context lists the queries tried."""
    with CaptureQueriesContext(connection) as tried, connection.execute_wrapper(_database_down):
        yield tried


def test_the_page_is_the_500_page_and_asks_the_database_nothing_more(logged_in, database_down):
    response = logged_in.get("/test-only/needs-the-database/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something broke" in page
    assert '<link rel="stylesheet" href="/static/css/app.css">' in page
    assert "<script" not in page
    assert "<style" not in page
    assert len(database_down) == 1, [q["sql"] for q in database_down]  # the view's own, nothing after it


def test_the_api_answers_a_json_500_and_asks_the_database_nothing_more(logged_in, database_down):
    response = logged_in.get("/api/v1/test-only/needs-the-database/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error; it was logged. Try again in a moment."}
    # Authentication reads the session first and fails there: nothing is tried after that.
    assert len(database_down) == 1, [q["sql"] for q in database_down]


def test_the_project_names_this_handler():
    from controltower import urls

    assert urls.handler500 == "apps.common.views.server_error"
