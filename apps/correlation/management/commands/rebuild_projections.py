"""`manage.py rebuild_projections [--batch-size 500]`: recompute the identity graph, every
timeline and every order projection from the stored events.

It replays the incremental path rather than a second implementation of it: the derived tables
are emptied (links, timeline entries, projections; alias bindings and `matched` flags reset;
nodes are kept, other tables may point at them) and `events_correlate` runs over all stored
events in batches ordered by (received_at, id), the order they were first correlated in. So a
rebuild gives what users saw: the same timelines and projections. Only provenance may differ
where the original processing order did (which event first established a link, and so the
`via` a timeline entry reports).

One transaction: readers see the old state until the new one is complete, and on PostgreSQL
the node table is locked against the pipeline's row locks (EXCLUSIVE mode: reads go on) for the
whole of it, so batches processed meanwhile wait and are correlated on top of the rebuilt graph."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Q
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from apps.correlation.models import Link, Member, Node, OrderProjection, TimelineEntry
from apps.correlation.services import events_correlate
from apps.events.models import CanonicalEvent


class Command(BaseCommand):
    help = "Recompute links, timelines and order projections from the stored events (replays correlation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="events correlated per batch (default 500)")

    def handle(self, *args: Any, **opts: Any) -> None:
        size = opts["batch_size"]
        if size < 1:
            raise CommandError("--batch-size must be at least 1")
        console = Console(stderr=True)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("LOCK TABLE correlation_node IN EXCLUSIVE MODE")
            _reset()
            ids = list(CanonicalEvent.objects.order_by("received_at", "id").values_list("id", flat=True))
            with Progress(
                TextColumn("rebuild"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                disable=not ids,
            ) as progress:
                task = progress.add_task("rebuild", total=len(ids))
                for start in range(0, len(ids), size):
                    batch = ids[start : start + size]
                    events_correlate(batch)
                    progress.advance(task, len(batch))
        orders = OrderProjection.objects.count()
        matched = CanonicalEvent.objects.filter(matched=True).count()
        unmatched = CanonicalEvent.objects.filter(matched=False).count()
        self.stdout.write(
            f"rebuilt from {len(ids)} events: {orders} orders, {matched} events matched, {unmatched} unmatched"
        )


def _reset() -> None:
    """Empty what correlation derives; keep the events and the nodes."""
    TimelineEntry.objects.all().delete()
    Member.objects.all().delete()
    OrderProjection.objects.all().delete()
    Link.objects.all().delete()
    Node.objects.filter(Q(entity__isnull=False) | Q(bound_by_event__isnull=False) | Q(bound_at__isnull=False)).update(
        entity=None, bound_by_event=None, bound_at=None
    )
    CanonicalEvent.objects.filter(matched=True).update(matched=False)
