"""The four roles, as Django groups, and what each may do (docs/roles.md mirrors this).

Permissions are named capabilities on the unmanaged `accounts.Capability` model, so that a
role grants "work the exception queue" rather than "change ExceptionCase rows"."""

from django.db import models


class Role(models.TextChoices):
    CS_AGENT = "cs_agent", "Customer-service agent"
    OPS_LEAD = "ops_lead", "Operations lead"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Administrator"


CAPABILITIES: dict[str, str] = {
    "lookup_orders": "Look up orders, timelines and messages",
    "view_feeds": "See feeds, their messages, rejections and dead letters",
    "work_exceptions": "Assign, acknowledge, snooze, resolve and comment on exceptions",
    "view_finance": "See invoice holds and reconciliation",
    "release_invoice_holds": "Release an invoice hold",
    "manage_feeds": "Create, pause and resume feeds; replay messages",
    "manage_sla_policies": "Create and change SLA policies",
    "view_audit_log": "Read the audit log",
}

ROLE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    Role.CS_AGENT: ("lookup_orders", "work_exceptions"),
    Role.OPS_LEAD: ("lookup_orders", "view_feeds", "work_exceptions"),
    Role.FINANCE: ("lookup_orders", "work_exceptions", "view_finance", "release_invoice_holds"),
    Role.ADMIN: tuple(CAPABILITIES),
}

# The exception queue each role works by default ("My queue" on the queue page). The values are
# apps.exceptions' Queue choices, spelled out: accounts depends on no other app. A role missing
# here (admin) sees every queue. Anyone with `work_exceptions` may still act on any queue's case.
ROLE_DEFAULT_QUEUE: dict[str, str] = {
    Role.OPS_LEAD: "ops",
    Role.CS_AGENT: "customer_service",
    Role.FINANCE: "finance",
}


def default_queue(role_names: list[str]) -> str | None:
    """The queue of the user's first role in Role order (an ops lead who is also in finance
    starts on ops); None for admins and users without such a role: every queue."""
    if Role.ADMIN in role_names:
        return None
    for role in Role:
        if role in role_names and role in ROLE_DEFAULT_QUEUE:
            return ROLE_DEFAULT_QUEUE[role]
    return None
