from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def has_capability(user: Any, capability: str) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(f"accounts.{capability}"))


class HasCapability(BasePermission):
    """Use as `permission_classes = [HasCapability.of("lookup_orders")]`."""

    capability = ""

    @classmethod
    def of(cls, capability: str) -> type["HasCapability"]:
        return type(f"Has_{capability}", (cls,), {"capability": capability})

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_capability(request.user, self.capability)
