from typing import Any

from django.http import HttpRequest

from .roles import CAPABILITIES


def roles(request: HttpRequest) -> dict[str, Any]:
    """`can.<capability>` for templates (navigation shows only what the user may use)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can": {}}
    return {"can": {c: user.has_perm(f"accounts.{c}") for c in CAPABILITIES}}
