"""Which live message types a user receives follows the same rule as the pages and the API
(apps/accounts/access.py): the exception queues go to those who may work them."""

import pytest
from django.contrib.auth.models import Permission

from apps.live.audience import allowed_types
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def with_capabilities(*codenames: str):  # type: ignore[no-untyped-def]
    user = UserFactory(role=None)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # a fresh instance: no cached permissions


def test_a_user_who_may_only_look_up_orders_hears_orders_but_not_the_exception_queues() -> None:
    assert allowed_types(with_capabilities("lookup_orders")) == {"order.updated"}


def test_a_user_who_works_exceptions_hears_the_queues() -> None:
    assert allowed_types(with_capabilities("work_exceptions")) == {"exception.opened", "exception.updated"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("cs_agent", {"exception.opened", "exception.updated", "order.updated"}),
        ("finance", {"exception.opened", "exception.updated", "order.updated", "hold.changed"}),
        (None, set()),
    ],
)
def test_each_role_hears_what_its_pages_show(role: str | None, expected: set[str]) -> None:
    user = UserFactory(role=role)
    assert allowed_types(type(user).objects.get(pk=user.pk)) == expected
