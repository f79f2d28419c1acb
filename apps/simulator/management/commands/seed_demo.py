"""Demo users for the four roles (passwords printed; existing users are never changed), the
simulator's four partner feeds, one feed of each standard partner format with a sample to dry-run
(apps/simulator/format_samples.py) and a few SLA policies, so the demo's queue and dashboard show
breaches as the simulator's late milestones arrive. Refused with DEBUG off unless --force-demo:
the passwords are published."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

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
    help = (
        "Create the demo users (published passwords; existing users are left as they are), feeds and "
        "SLA policies. Refuses with DEBUG off (production-like) unless --force-demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true")
        parser.add_argument(
            "--force-demo",
            action="store_true",
            help="run although DEBUG is off: only for a demo instance that runs with production settings",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["force_demo"]:
            raise CommandError(
                "seed_demo refused: DEBUG is off, so these look like production settings, and the demo users' "
                "passwords are published in the README. Use it on the local demo (scripts/demo), or pass "
                "--force-demo if this instance really is a demo."
            )
        rows = []
        for username, (role, password) in DEMO_USERS.items():
            rows.append((username, _demo_user_ensure(username, role=role, password=password), role))
        feeds = simulation_feeds_ensure(prefix="sim")
        samples_dir = format_feeds_ensure()
        policies = [p for p in DEMO_POLICIES if not SlaPolicy.objects.filter(name=p["name"]).exists()]
        for policy in policies:
            sla_policy_create(actor="seed_demo", **policy)
        if opts["quiet"]:
            return
        self.stdout.write("Demo users (role: username / password):")
        for username, shown_password, role in rows:
            shown = shown_password or "(an existing user, left as it was: its password is not the demo one)"
            self.stdout.write(f"  {role:<9} {username} / {shown}")
        self.stdout.write("Demo feeds: " + ", ".join(c.slug for c in feeds.values()))
        self.stdout.write(f"SLA policies: {SlaPolicy.objects.count()} ({len(policies)} added now)")
        self.stdout.write(
            "Partner format feeds: "
            + ", ".join(f"{s.slug} ({s.fmt})" for s in FORMAT_SAMPLES)
            + f"; a sample of each to dry-run or upload in {samples_dir}"
        )


def _demo_user_ensure(username: str, *, role: str, password: str) -> str | None:
    """A new demo user with its published password. A user of that name that exists already is
    left untouched (password, role, staff flag): the password is returned only while it still is
    the published one, else None."""
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        # hashers.check_password, not User.check_password: that one re-saves an outdated hash.
        return password if check_password(password, existing.password) else None
    user = User(username=username, is_staff=role == Role.ADMIN)  # the admin role works in Django's admin too
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    return password
