"""`manage.py bench snapshot`: an ERP snapshot run (http-api.md "ERP snapshot runs") over a large
file, on PostgreSQL.

It seeds the orders the file names straight into the tables (COPY: correlation nodes and order
projections with a ledger of ordered lines and an invoice, as ledger.py writes it), about a
third of them different from the file in one way or another (status, unknown invoice, amount,
quantity, a SKU the ERP did not order), writes the CSV (`--lines` rows per order, a few orders the
control tower has never heard of, a few malformed rows), then times `snapshot_run_process` in
this process (parse, compare in chunks, findings in bulk), checks the counts against what it
seeded, prints rows/s, and deletes its rows unless --keep. No time window: `missing_in_snapshot`
reads timeline entries and events, which this bench does not seed."""

import csv
import io
import os
import random
import time
from argparse import ArgumentParser
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from django.core.management.base import CommandError
from django.db import connection, transaction
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from apps.accounts.models import AuditLog
from apps.common.time import now
from apps.finance.models import SnapshotRun
from apps.finance.services.snapshots import snapshot_run_create, snapshot_run_process
from apps.finance.snapshot_csv import COLUMNS, parse_snapshot

from .ingest import database_label, unapplied_migrations

PREFIX = "BS-"  # order keys of the bench
COPY_CHUNK = 20_000
BAR_SECONDS = 60.0  # the issue: a 100,000-row file well under a minute
# ERP status -> a stage the control tower may have for it.
STAGE_FOR = {
    "open": ["created", "allocated", "picked", "packed", ""],
    "shipped": ["shipped", "in_transit", "out_for_delivery"],
    "delivered": ["delivered"],
    "invoiced": ["invoiced"],
    "cancelled": ["cancelled"],
    "returned": ["returned"],
}
WRONG_STAGE = {"open": "shipped", "shipped": "packed", "delivered": "in_transit", "invoiced": "delivered"}
MISMATCHES = ["status", "invoice", "amount", "quantity", "sku"]
MALFORMED = [("qty", "2.5"), ("status", "shiped"), ("amount", "12,5"), ("order", "")]


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the file")
    parser.add_argument("--lines", type=int, default=3, help="rows (SKUs) per order")
    parser.add_argument("--mismatched", type=float, default=1 / 3, help="share of the orders that differ")
    parser.add_argument("--missing", type=float, default=0.02, help="share of the orders the tower never heard of")
    parser.add_argument("--malformed", type=float, default=0.005, help="share of the rows that cannot be read")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the seeded orders and the run")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


@dataclass
class Seeded:
    body: bytes
    projections: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # key, stage, ledger
    expected: Counter[str] = field(default_factory=Counter)


def _ledger(lines: dict[str, float], invoice: str | None, value: str) -> dict[str, Any]:
    at = "2026-11-25T08:00:00+00:00"
    first = {"erp": {"at": at, "event": 1, "detail": "order.created from bench-erp"}}
    invoices = []
    if invoice:
        invoices.append(
            {
                "invoice": invoice,
                "amount": {"value": value, "currency": "EUR"},
                "created_at": at,
                "created_event": 2,
                "posted_at": None,
                "cancelled_at": None,
                "cancelled_event": None,
            }
        )
    return {
        "ordered": lines,
        "ordered_event": 1,
        "picked": lines,
        "delivered": None,
        "deliveries": [],
        "invoices": invoices,
        "first": first,
        "regressions": [],
    }


def generate(*, rows: int, lines: int, mismatched: float, missing: float, malformed: float, seed: int) -> Seeded:
    """The file and the projections to seed, with the counts a correct run must give."""
    rng = random.Random(seed)  # noqa: S311 - synthetic orders for a benchmark
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    seeded = Seeded(body=b"")
    written, n = 0, 0
    while written < rows:
        key = f"{PREFIX}{n:07d}"
        n += 1
        count = min(lines, rows - written)
        status = rng.choice(list(STAGE_FOR))
        skus = {f"SKU-{rng.randrange(500):03d}": rng.randint(1, 20) for _ in range(count)}
        while len(skus) < count:
            skus[f"SKU-X{len(skus)}"] = 1
        invoice = f"INV-{n}" if status in ("invoiced", "delivered") else ""
        value = f"{rng.randint(10, 5000)}.{rng.randrange(100):02d}"
        tower_stage, tower_lines = rng.choice(STAGE_FOR[status]), {s: float(q) for s, q in skus.items()}
        tower_invoice, tower_value = invoice or None, value
        roll = rng.random()
        kind = "matched"
        if roll < missing:
            kind = "missing_in_tower"
        elif roll < missing + mismatched:
            kind = "mismatched"
            what = rng.choice(MISMATCHES if invoice else ["status", "quantity", "sku"])
            if what == "status":
                tower_stage = WRONG_STAGE.get(status, "created")
            elif what == "invoice":
                tower_invoice = f"INV-OTHER-{n}"
            elif what == "amount":
                tower_value = str(Decimal(value) + Decimal("0.01"))
            elif what == "quantity":
                sku = next(iter(tower_lines))
                tower_lines[sku] += 1
            else:
                tower_lines.pop(next(iter(tower_lines)))
                tower_lines["SKU-NOT-IN-FILE"] = 2.0
        bad = [i for i in range(count) if rng.random() < malformed]
        if bad and len(bad) == count:
            bad = bad[1:]  # keep one readable row: the order stays in the file
        for index, (sku, qty) in enumerate(skus.items()):
            row = {"order": key, "status": status, "invoice": invoice, "amount": value if invoice else ""}
            row.update({"currency": "EUR" if invoice else "", "sku": sku, "qty": str(qty)})
            if index in bad:
                name, text = rng.choice(MALFORMED)
                row[name] = text
                seeded.expected["errors"] += 1
                if kind == "matched":  # the row is left out: the tower's line for its SKU is a difference
                    kind = "mismatched"
            writer.writerow([row[c] for c in COLUMNS])
        written += count
        seeded.expected[kind] += 1
        if kind != "missing_in_tower":
            seeded.projections.append((key, tower_stage, _ledger(tower_lines, tower_invoice, tower_value)))
    seeded.body = out.getvalue().encode()
    return seeded


def seed(projections: list[tuple[str, str, dict[str, Any]]], advance: Callable[[int], None]) -> None:
    at = now()
    for start in range(0, len(projections), COPY_CHUNK):
        chunk = projections[start : start + COPY_CHUNK]
        keys = [key for key, _, _ in chunk]
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy("COPY correlation_node (kind, value) FROM STDIN") as copy:
                for key in keys:
                    copy.write_row(("order", key))
            raw.execute("SELECT value, id FROM correlation_node WHERE kind = 'order' AND value = ANY(%s)", [keys])
            ids = dict(raw.fetchall())
            with raw.copy(
                "COPY correlation_orderprojection (order_id, order_key, stage, partial, customer, service_level, "
                "eta_feed, systems, shipments, warehouse_tasks, aliases, on_hold, event_count, ledger, fold, "
                "updated_at) FROM STDIN"
            ) as copy:
                for key, stage, ledger in chunk:
                    aliases = {"invoice": [i["invoice"] for i in ledger["invoices"]]} if ledger["invoices"] else {}
                    copy.write_row(
                        (
                            ids[key], key, stage, False, "Bench Retail", "standard", "", "{}", "[]", "[]",
                            orjson.dumps(aliases).decode(), False, 5, orjson.dumps(ledger).decode(), "{}", at,
                        )
                    )  # fmt: skip
        advance(len(chunk))


def clean(run_id: int | None = None) -> int:
    """Delete the bench's orders (and a run of it)."""
    if run_id is not None:
        SnapshotRun.objects.filter(pk=run_id).delete()
        AuditLog.objects.filter(action="snapshot_run.created", target=f"snapshot_run:{run_id}").delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM correlation_orderprojection WHERE order_key LIKE %s", [f"{PREFIX}%"])
        deleted = int(cursor.rowcount)
        cursor.execute("DELETE FROM correlation_node WHERE kind = 'order' AND value LIKE %s", [f"{PREFIX}%"])
    return deleted


def command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    if connection.vendor != "postgresql":
        raise CommandError(f"bench snapshot seeds with COPY: the database is {connection.vendor}, not PostgreSQL")
    behind = unapplied_migrations()
    if behind:
        raise CommandError(f"{len(behind)} unapplied migrations, e.g. {behind[0]}: run manage.py migrate first")
    console = Console(stderr=True)
    clean()  # what an interrupted run left
    seeded = generate(
        rows=opts["rows"],
        lines=max(opts["lines"], 1),
        mismatched=opts["mismatched"],
        missing=opts["missing"],
        malformed=opts["malformed"],
        seed=opts["seed"],
    )
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(TextColumn("seeding orders"), *columns, console=console) as progress:
        task = progress.add_task("seed", total=len(seeded.projections))
        seed(seeded.projections, lambda k: progress.advance(task, k))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE correlation_orderprojection")
    started = time.perf_counter()
    parse_snapshot(seeded.body)
    parse_seconds = time.perf_counter() - started
    run = snapshot_run_create(
        body=seeded.body, filename="bench.csv", uploaded_by=None, window_from=None, window_until=None, enqueue=False
    )
    with Progress(TextColumn(f"run {run.id}: rows"), *columns, console=console) as progress:
        task = progress.add_task("run", total=opts["rows"])
        started = time.perf_counter()
        run = snapshot_run_process(run.id, progress=lambda done, total: progress.update(task, completed=done))
        seconds = time.perf_counter() - started
    got = {k: getattr(run, k) for k in ("matched", "mismatched", "missing_in_tower")} | {"errors": run.error_count}
    expected = {k: seeded.expected[k] for k in got}
    result = {
        "rows": run.rows,
        "orders": run.orders,
        "status": run.status,
        "failure": run.failure,
        "seconds": round(seconds, 3),
        "rows_per_second": round(run.rows / seconds) if seconds else None,
        "parse_seconds": round(parse_seconds, 3),
        "counts": got,
        "expected": expected,
        "counts_ok": got == expected and run.status == "done",
        "findings": run.findings.count(),
        "bar_seconds": BAR_SECONDS,
        "meets_bar": run.status == "done" and seconds < BAR_SECONDS,
        "cpus": os.cpu_count(),
        "database": database_label(),
        "at": now().isoformat(timespec="seconds"),
    }
    if not opts["keep"]:
        clean(run.id)
    if opts["json"]:
        write(orjson.dumps(result).decode())
        return
    write(
        f"bench snapshot — {result['rows']:,} rows, {result['orders']:,} orders, {result['cpus']} CPUs, "
        f"{result['database']}"
    )
    write(f"run: {result['seconds']:.2f} s ({result['rows_per_second']:,} rows/s); parsing alone {parse_seconds:.2f} s")
    verdict = "as seeded" if result["counts_ok"] else f"EXPECTED {expected}"
    write(f"counts: {got} ({verdict}); {result['findings']:,} findings")
    write(f"bar: a {opts['rows']:,}-row file in < {BAR_SECONDS:.0f} s: {'meets' if result['meets_bar'] else 'MISSES'}")
