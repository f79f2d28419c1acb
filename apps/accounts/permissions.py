from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .access import Access, Level, route


def has_capability(user: Any, capability: str) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(f"accounts.{capability}"))


def is_token_principal(user: Any) -> bool:
    """A request made with a partner feed's token: authenticated, but not a person."""
    return bool(user is not None and user.is_authenticated and not isinstance(user, AbstractBaseUser))


class HasCapability(BasePermission):
    """Use as `permission_classes = [HasCapability.of("lookup_orders")]`."""

    capability = ""

    @classmethod
    def of(cls, capability: str) -> type["HasCapability"]:
        return type(f"Has_{capability}", (cls,), {"capability": capability})

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_capability(request.user, self.capability)


def _allows(access: Access, user: Any) -> bool:
    if is_token_principal(user):
        return access.feed_token or access.level is Level.FEED_TOKEN
    return access.allows_user(user)


class RouteAccess(BasePermission):
    """`permission_classes = [RouteAccess]`: the route table decides (apps/accounts/access.py),
    by the request's URL name and method. A feed's own token passes where the row says so; the
    view still checks that the object is that feed's. A method the view has but the table does
    not name is refused (a new handler needs its row); one the view lacks gets DRF's 405."""

    def has_permission(self, request: Request, view: Any) -> bool:
        match = request.resolver_match
        if match is None:
            raise ImproperlyConfigured("RouteAccess needs a resolved URL")
        row = route(match.view_name)
        method = request.method or "GET"
        if method == "OPTIONS":
            return any(_allows(access, request.user) for access in row.methods.values())
        access = row.access(method)
        if access is None:
            return not hasattr(view, method.lower())
        return _allows(access, request.user)


def withheld_fields(request: Request) -> list[str]:
    """The response fields the route's row keeps from this caller (`Access.fields`): those whose
    capability a user lacks. A feed's own token sees its own objects whole."""
    match = request.resolver_match
    access = route(match.view_name).access(request.method or "GET") if match is not None else None
    if access is None or is_token_principal(request.user):
        return []
    return [name for name, capability in access.fields if not has_capability(request.user, capability)]
