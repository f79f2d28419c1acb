"""The top bar shows a page's link exactly when that page opens for the user (docs/roles.md)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The pages the top bar may link to; written out here, not read from apps/accounts/access.py,
# so that the test compares the bar with what the views answer.
TOP_PAGES = (
    "feed-list",
    "dead-letters",
    "onboarding",
    "unmatched",
    "exception-queue",
    "finance-holds",
    "dashboard",
    "sla-policy-list",
    "audit-log",
    "admin:index",
    "api-docs",
)
NAV = re.compile(r"<nav>(.*?)</nav>", re.S)
HREF = re.compile(r'href="([^"]+)"')


@pytest.mark.parametrize("role", ["cs_agent", "ops_lead", "finance", "admin", None])
def test_the_top_bar_links_exactly_the_pages_that_open(role: str | None) -> None:
    client = Client()
    client.force_login(UserFactory(role=role, is_staff=role == "admin"))
    home = client.get("/").content.decode()
    bar = NAV.search(home)
    assert bar is not None
    shown = set(HREF.findall(bar.group(1)))
    opens = {reverse(name) for name in TOP_PAGES if client.get(reverse(name)).status_code == 200}
    assert shown == opens
    search_opens = client.get(reverse("search")).status_code == 200
    assert ('role="search"' in home) == search_opens


def test_the_current_page_is_marked_in_the_top_bar() -> None:
    client = Client()
    client.force_login(UserFactory(role="ops_lead"))
    bar = NAV.search(client.get("/dashboard/").content.decode())
    assert bar is not None
    assert '<a href="/dashboard/" aria-current="page">Dashboard</a>' in bar.group(1)
    assert 'aria-current="page">Feeds' not in bar.group(1)
