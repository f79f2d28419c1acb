"""Demo users for the four roles (passwords printed), the simulator's four partner feeds, one
feed of each standard partner format with a sample to dry-run (apps/simulator/format_samples.py)
and a few SLA policies, so the demo's queue and dashboard show breaches as the simulator's late
milestones arrive."""

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.roles import Role
from apps.events.taxonomy import EventType
from apps.exceptions.choices import Queue, Severity
from apps.simulator.format_samples import FORMAT_SAMPLES
from apps.simulator.services import format_feeds_ensure, simulation_feeds_ensure
from apps.sla.models import SlaPolicy
from apps.sla.services import sla_policy_create

DEMO_USERS: dict[str, tuple[str, str]] = {
    # username: (role, password) — demo only; the README says so.
    "agent": (Role.CS_AGENT, "agent-demo-pass"),
    "opslead": (Role.OPS_LEAD, "opslead-demo-pass"),
    "finance": (Role.FINANCE, "finance-demo-pass"),
    "admin": (Role.ADMIN, "admin-demo-pass"),
}

# Fitted to the simulator's timings (apps/simulator/orders.py): release → pick takes 20 min to
# 2 h for express orders and up to 5 h for standard ones, so each policy breaches now and then.
DEMO_POLICIES: tuple[dict[str, Any], ...] = (
    {
        "name": "Express picked within 90 minutes of release",
        "start": EventType.ORDER_RELEASED,
        "stop": [EventType.PICK_COMPLETED],
        "within": timedelta(minutes=90),
        "applies_to": {"service_level": "express"},
        "severity": Severity.HIGH,
        "queue": Queue.OPS,
    },
    {
        "name": "Standard picked within 4 hours of release",
        "start": EventType.ORDER_RELEASED,
        "stop": [EventType.PICK_COMPLETED],
        "within": timedelta(hours=4),
        "applies_to": {"service_level": "standard"},
        "severity": Severity.MEDIUM,
        "queue": Queue.OPS,
    },
    {
        "name": "Delivered by the promised date",
        "start": EventType.ORDER_CREATED,
        "stop": [EventType.DELIVERY_COMPLETED],
        "deadline": "promised_by",
        "severity": Severity.HIGH,
        "queue": Queue.CUSTOMER_SERVICE,
    },
)


class Command(BaseCommand):
    help = "Create (or reset) the demo users and feeds. Never run this against production."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        rows = []
        for username, (role, password) in DEMO_USERS.items():
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = role == Role.ADMIN  # the admin role works in Django's admin too
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            rows.append((username, password, role))
        feeds = simulation_feeds_ensure(prefix="sim")
        samples_dir = format_feeds_ensure()
        policies = [p for p in DEMO_POLICIES if not SlaPolicy.objects.filter(name=p["name"]).exists()]
        for policy in policies:
            sla_policy_create(actor="seed_demo", **policy)
        if opts["quiet"]:
            return
        self.stdout.write("Demo users (role: username / password):")
        for username, password, role in rows:
            self.stdout.write(f"  {role:<9} {username} / {password}")
        self.stdout.write("Demo feeds: " + ", ".join(c.slug for c in feeds.values()))
        self.stdout.write(f"SLA policies: {SlaPolicy.objects.count()} ({len(policies)} added now)")
        self.stdout.write(
            "Partner format feeds: "
            + ", ".join(f"{s.slug} ({s.fmt})" for s in FORMAT_SAMPLES)
            + f"; a sample of each to dry-run or upload in {samples_dir}"
        )
