"""`manage.py bench <target>`: benchmarks on the real services (PostgreSQL, Redis, uvicorn, Celery).

This module is the command's shell: the subcommands and their options, and the dispatch to
each target's run. The runs are apart: ingest in apps/bench/ingest_command.py, lookup, queue
and sweep in apps/bench/commands.py, live in apps/bench/live_command.py, snapshot in
apps/bench/snapshot.py, holds in apps/bench/holds.py, formats in apps/bench/formats.py, soak in
apps/bench/soak.py.
docs/benchmarks.md has the recorded numbers and how to read them."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.bench import commands, formats, holds, ingest_command, snapshot, soak


class Command(BaseCommand):
    help = "Benchmarks on the real services (PostgreSQL, Redis, uvicorn, Celery). See docs/benchmarks.md."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="target", required=True, metavar="{ingest,lookup,sweep,queue,live,snapshot,holds,formats,soak}"
        )
        from apps.bench import live_command

        # Added in this order: it is the order `bench --help` lists them in.
        live_command.add_arguments(
            sub.add_parser("live", help="event POST → websocket message latency under background load")
        )
        commands.queue_arguments(
            sub.add_parser("queue", help="the exception queue's first page over many open cases (COPY-filled)")
        )
        commands.sweep_arguments(
            sub.add_parser("sweep", help="the SLA sweep over many open expectations (COPY-filled, synthetic)")
        )
        commands.lookup_arguments(
            sub.add_parser("lookup", help="p50/p95/p99 of the search, order and timeline API over a large store")
        )
        ingest_command.add_arguments(
            sub.add_parser(
                "ingest",
                help="end-to-end ingest throughput (HTTP → worker → store), with the validator and COPY floors",
            )
        )
        snapshot.add_arguments(sub.add_parser("snapshot", help="an ERP snapshot run over a large file (COPY-seeded)"))
        holds.add_arguments(
            sub.add_parser("holds", help="the finance screen and the invoice-holds API over many holds")
        )
        formats.add_arguments(
            sub.add_parser("formats", help="parse + map rate per partner format, and a large X12 file end to end")
        )
        soak.add_arguments(
            sub.add_parser(
                "soak", help="a steady load for minutes: memory, connections, Redis, p95 sampled each minute"
            )
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["target"] == "ingest":
            ingest_command.command(opts, self.stdout)
        elif opts["target"] == "lookup":
            commands.lookup_command(opts, self.stdout.write)
        elif opts["target"] == "queue":
            commands.queue_command(opts, self.stdout.write)
        elif opts["target"] == "sweep":
            commands.sweep_command(opts, self.stdout.write)
        elif opts["target"] == "snapshot":
            snapshot.command(opts, self.stdout.write)
        elif opts["target"] == "holds":
            holds.command(opts, self.stdout.write)
        elif opts["target"] == "formats":
            formats.command(opts, self.stdout.write)
        elif opts["target"] == "soak":
            soak.command(opts, self.stdout.write)
        elif opts["target"] == "live":
            from apps.bench import live_command

            live_command.command(opts, self.stdout.write)
