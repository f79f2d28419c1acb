"""Who receives which message: decided per message type from the user's capabilities
(apps/accounts/roles.py), when the socket connects and again every few seconds while it
receives (apps.live.consumers). docs/live.md has the table."""

from typing import Any

from apps.accounts.permissions import has_capability

from .messages import MESSAGE_TYPES, MessageType

# A message type goes to a user holding any one of these capabilities.
AUDIENCE: dict[MessageType, tuple[str, ...]] = {
    # The queues are read by those who work them: the page's and the API's rule (apps.accounts.access).
    "exception.opened": ("work_exceptions",),
    "exception.updated": ("work_exceptions",),
    "order.updated": ("lookup_orders",),
    "hold.changed": ("view_finance",),
}
assert set(AUDIENCE) == set(MESSAGE_TYPES)


def allowed_types(user: Any) -> frozenset[str]:
    """The message types this user may receive (empty for anonymous or inactive users)."""
    if not (user and user.is_authenticated and user.is_active):
        return frozenset()
    return frozenset(t for t, capabilities in AUDIENCE.items() if any(has_capability(user, c) for c in capabilities))
