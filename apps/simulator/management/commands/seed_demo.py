"""Demo users for the four roles (passwords printed) and the simulator's four partner feeds."""

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.roles import Role
from apps.simulator.services import simulation_feeds_ensure

DEMO_USERS: dict[str, tuple[str, str]] = {
    # username: (role, password) — demo only; the README says so.
    "agent": (Role.CS_AGENT, "agent-demo-pass"),
    "opslead": (Role.OPS_LEAD, "opslead-demo-pass"),
    "finance": (Role.FINANCE, "finance-demo-pass"),
    "admin": (Role.ADMIN, "admin-demo-pass"),
}


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
        if opts["quiet"]:
            return
        self.stdout.write("Demo users (role: username / password):")
        for username, password, role in rows:
            self.stdout.write(f"  {role:<9} {username} / {password}")
        self.stdout.write("Demo feeds: " + ", ".join(c.slug for c in feeds.values()))
