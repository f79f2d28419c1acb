"""`?page_size=` on the API's lists: a whole number from 1 (at most 500 are given); anything
else is a 400 naming it, not the default page as if nothing were wrong."""

import pytest
from django.test import Client

from apps.accounts.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def get(client: Client):  # type: ignore[no-untyped-def]
    token = api_token_create(user=UserFactory(role="admin"))
    return lambda path: client.get(path, HTTP_AUTHORIZATION=f"Token {token}")


@pytest.mark.parametrize("value", ["null", "abc", "0", "-1", "2.5", ""])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400_naming_it(get, value: str) -> None:
    response = get(f"/api/v1/messages/?page_size={value}")
    assert response.status_code == 400, response.content
    assert "page_size" in response.json()


def test_a_valid_page_size_is_taken_and_a_large_one_cut_to_500(get) -> None:
    assert get("/api/v1/messages/?page_size=20").status_code == 200
    assert get("/api/v1/dead-letters/?page_size=100000").status_code == 200
