import os
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import FeedFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses that
# unless told the test controls it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True, scope="session")
def _media_root_removed() -> Iterator[None]:
    """Uploaded files of this run (controltower/settings/test.py MEDIA_ROOT) go with the run."""
    yield
    import shutil

    from django.conf import settings

    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # rate-limit windows must not leak between tests


@pytest.fixture
def feed(db: None) -> Any:
    return FeedFactory()


@pytest.fixture
def ops_user(db: None) -> Any:
    return UserFactory(role="ops_lead")


@pytest.fixture
def user_token(ops_user: Any) -> str:
    from apps.accounts.services import api_token_create

    return api_token_create(user=ops_user)


@pytest.fixture
def post_events(client: Client, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """POST a body to a feed's ingest endpoint with its own token (override headers as needed)."""

    def post(feed: Any, body: Any, *, token: str | None = None, raw: bytes | None = None, **headers: str) -> Any:
        data = raw if raw is not None else orjson.dumps(body)
        headers.setdefault("content_type", "application/json")
        content_type = headers.pop("content_type")
        auth = token if token is not None else f"Bearer {feed.credentials.token}"
        extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
        extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
        # Runs the after-commit enqueue (eager in tests) although the test holds a transaction.
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic("POST", f"/api/v1/ingest/{feed.slug}/", data, content_type=content_type, **extra)

    return post


from tests.workers import real_broker  # noqa: E402, F401  (a fixture for every test module)
