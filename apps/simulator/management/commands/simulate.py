"""`manage.py simulate`: simulated ERP, WMS, TMS and last-mile traffic over real HTTP."""

import logging
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from apps.feeds.services import FeedCredentials
from apps.simulator.client import NO_RESPONSE, SendReport, post_batches, wait_until_up
from apps.simulator.clock import relive
from apps.simulator.noise import make_noisy
from apps.simulator.partner_api import PartnerApi
from apps.simulator.services import polled_partner_start, simulation_feeds_ensure
from apps.simulator.world import generate_world, world_stats

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def auto_prefix(at: datetime) -> str:
    """A short id prefix that changes every minute (base 36 of the Unix minute), so that a
    second run does not resend the first run's ids."""
    n, out = int(at.timestamp() // 60), ""
    while n:
        n, digit = divmod(n, 36)
        out = _BASE36[digit] + out
    return out or "0"


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "- ev/s", style="progress.data.speed")


class Command(BaseCommand):
    help = (
        "Generate a simulated world (orders over the last days, in every stage), add feed noise "
        "(duplicates, reordering, bad events) and post it to the sim-* feeds over HTTP."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=200, help="orders per world (default 200)")
        parser.add_argument("--rate", type=float, default=50.0, help="events per second; 0 = unlimited")
        parser.add_argument("--base", default="http://127.0.0.1:8000", help="the control tower's base URL")
        parser.add_argument("--seed", type=int, default=1, help="seed of the first world (rounds add 1)")
        parser.add_argument("--batch-size", type=int, default=200, help="events per POST at most (1-1000)")
        parser.add_argument("--duplicate-rate", type=float, default=0.03)
        parser.add_argument("--bad-rate", type=float, default=0.01)
        parser.add_argument("--reorder-window", type=int, default=20)
        parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
        parser.add_argument("--days", type=float, default=3.0, help="the world spans the last N days")
        parser.add_argument("--id-prefix", default=None, help="prefix of every id (default: from the clock)")
        parser.add_argument("--feed-prefix", default="sim", help="feeds are <prefix>-erp, -wms, -tms, -lastmile")
        parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the server to come up")
        parser.add_argument("--sign", action="store_true", help="sign every body (X-CT-Signature)")
        parser.add_argument("--loop", action="store_true", help="keep sending new worlds until Ctrl-C")
        parser.add_argument(
            "--history",
            action="store_true",
            help="send the world's days as they happened (lag of days) instead of replaying them live",
        )
        parser.add_argument(
            "--poll-system",
            choices=["erp", "wms", "tms", "lastmile"],
            default=None,
            help="serve this system's events from a partner API of the simulator's own, which the "
            "control tower polls (its feed becomes a polled one), instead of posting them",
        )
        parser.add_argument("--poll-interval", type=int, default=10, help="seconds between polls (default 10)")
        parser.add_argument("--dry-run", action="store_true", help="generate and print the stats; send nothing")

    partner: PartnerApi | None = None

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["orders"] < 1 or not 1 <= opts["batch_size"] <= 1000 or opts["days"] <= 0:
            raise CommandError("--orders must be >= 1, --batch-size 1..1000 and --days > 0")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the bar
        console = Console(file=getattr(self.stdout, "_out", sys.stdout), highlight=False, soft_wrap=True)
        base = opts["base"].rstrip("/")
        creds: dict[str, FeedCredentials] = {}
        if not opts["dry_run"]:
            console.print(f"Waiting for the control tower at {base} …")
            if not wait_until_up(base, timeout_s=opts["wait"]):
                raise CommandError(f"no server answered at {base} within {opts['wait']:.0f} s")
            creds = simulation_feeds_ensure(prefix=opts["feed_prefix"])
            console.print(f"Feeds: {', '.join(c.slug for c in creds.values())}")
            if opts["poll_system"]:
                self.partner = polled_partner_start(
                    feed_slug=creds[opts["poll_system"]].slug, interval_seconds=opts["poll_interval"]
                )
                console.print(
                    f"{creds[opts['poll_system']].slug} is polled: the control tower pulls it from "
                    f"{self.partner.url} every {opts['poll_interval']} s"
                )
        prefix = opts["id_prefix"] if opts["id_prefix"] is not None else auto_prefix(timezone.now())
        total = SendReport()
        round_no = 0
        while True:
            round_no += 1
            round_prefix = f"{prefix}R{round_no}" if opts["loop"] else prefix
            try:
                report = self._round(console, opts, creds, base, opts["seed"] + round_no - 1, round_prefix)
            except KeyboardInterrupt:
                report = SendReport(interrupted=True)
            _add(total, report)
            if report.interrupted or not opts["loop"]:
                break
        if self.partner is not None:
            self._drain(console, self.partner, timeout_s=3 * opts["poll_interval"] + 15)
        if opts["loop"] and round_no > 1:
            console.print(f"[bold]All {round_no} rounds[/bold]")
            self._summary(console, total)
        if not opts["dry_run"] and total.events_sent == 0 and not total.interrupted:
            raise CommandError("nothing was accepted: see the HTTP errors above")

    def _round(
        self,
        console: Console,
        opts: dict[str, Any],
        creds: dict[str, FeedCredentials],
        base: str,
        seed: int,
        prefix: str,
    ) -> SendReport:
        horizon = timedelta(days=opts["days"])
        world = generate_world(
            orders=opts["orders"],
            seed=seed,
            start=timezone.now() - horizon,
            horizon=horizon,
            id_prefix=prefix,
        )
        if not opts["history"]:  # each event occurs its own lag before it is posted
            world = relive(world, start=timezone.now(), rate=opts["rate"])
        stream = make_noisy(
            world,
            seed=seed,
            duplicate_rate=opts["duplicate_rate"],
            reorder_window=opts["reorder_window"],
            bad_rate=opts["bad_rate"],
        )
        stats = world_stats(stream)
        console.print(
            f"[bold]World[/bold] seed={seed} prefix={prefix or '-'}: {stats['orders']} orders, "
            f"{stats['shipments']} shipments ({stats['split']} split orders, {stats['consolidated']} "
            f"consolidated), {stats['runs']} runs, {stats['late_bound']} late-bound tracking numbers, "
            f"{stats['invoices']} invoices ({stats['invoices_posted']} posted, {stats['invoices_cancelled']} "
            f"cancelled), {stats['short_pods']} short PODs; "
            f"{len(stream)} events to send ({stats['duplicates']} duplicates, {stats['bad']} bad)"
        )
        if opts["dry_run"]:
            return SendReport()
        rate = opts["rate"] if opts["rate"] > 0 else None
        columns = (
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(f"posting to {base}", total=len(stream))
            report = post_batches(
                base,
                creds,
                stream,
                batch_size=opts["batch_size"],
                rate=rate,
                concurrency=opts["concurrency"],
                progress=lambda n: bar.advance(task, n),
                signed=opts["sign"],
                served={opts["poll_system"]: self.partner.publish} if self.partner is not None else None,
            )
        self._summary(console, report)
        return report

    def _drain(self, console: Console, partner: PartnerApi, *, timeout_s: float) -> None:
        """Wait (bounded) until the control tower has polled every event served, then stop serving."""
        deadline = time.monotonic() + timeout_s
        try:
            while partner.served < partner.published and time.monotonic() < deadline:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        console.print(f"polled partner: {partner.served:,} of {partner.published:,} events taken by the poller")
        partner.stop()

    def _summary(self, console: Console, report: SendReport) -> None:
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_row("events sent", f"{report.events_sent:,}")
        table.add_row("events given up", f"{report.events_failed:,}")
        table.add_row("messages", f"{len(report.messages):,}")
        errors = ", ".join(
            f"{'no response' if status == NO_RESPONSE else status}: {count}"
            for status, count in sorted(report.http_errors.items())
        )
        table.add_row("HTTP errors", errors or "none")
        table.add_row("elapsed", f"{report.elapsed_s:.1f} s ({report.events_per_second:,.0f} events/s)")
        if report.interrupted:
            table.add_row("stopped", "interrupted (Ctrl-C)")
        console.print(table)


def _add(total: SendReport, report: SendReport) -> None:
    total.messages += report.messages
    total.events_sent += report.events_sent
    total.events_failed += report.events_failed
    total.elapsed_s += report.elapsed_s
    total.interrupted = total.interrupted or report.interrupted
    for status, count in report.http_errors.items():
        total.http_errors[status] = total.http_errors.get(status, 0) + count
