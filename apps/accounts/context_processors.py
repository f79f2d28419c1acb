from typing import Any

from django.http import HttpRequest

from .access import may, navigation
from .roles import CAPABILITIES


def roles(request: HttpRequest) -> dict[str, Any]:
    """`can.<capability>` for templates, and the top bar's links (`nav`, `nav_search`), which
    come from the route table (access.py): a link is shown exactly when its page would open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can": {}, "nav": [], "nav_search": False}
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match is not None else None
    return {
        "can": {c: user.has_perm(f"accounts.{c}") for c in CAPABILITIES},
        # Callables: templates call them only when they show the top bar (not for fragments).
        "nav": lambda: list(navigation(user, current)),
        "nav_search": lambda: may(user, "search"),
    }
