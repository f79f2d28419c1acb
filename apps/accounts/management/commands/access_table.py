from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.access_docs import DOCS_FILE, docs_rendered, render_route_table


class Command(BaseCommand):
    help = (
        "Print the route table (who may use which route, apps/accounts/access.py) as Markdown; "
        "--write updates the generated parts of docs/roles.md, --check fails when they are stale."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true", help="rewrite docs/roles.md's generated tables")
        parser.add_argument("--check", action="store_true", help="exit 1 when docs/roles.md differs")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not (opts["write"] or opts["check"]):
            self.stdout.write(render_route_table())
            return
        current = DOCS_FILE.read_text(encoding="utf-8")
        wanted = docs_rendered(current)
        if opts["check"]:
            if wanted != current:
                raise CommandError("docs/roles.md is stale: run `manage.py access_table --write`")
            self.stdout.write("docs/roles.md is up to date")
            return
        DOCS_FILE.write_text(wanted, encoding="utf-8")
        self.stdout.write("docs/roles.md updated" if wanted != current else "docs/roles.md was up to date")
