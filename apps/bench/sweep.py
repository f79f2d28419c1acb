"""`bench sweep`: the SLA sweep over a large store of open expectations (issue: 1 M in ≤ 10 s).

The store is synthetic and COPYed straight into the tables: order nodes, a few policies whose
filter selects no real order, and `expectations` pending rows of which `overdue` (a share) are
already past due. Then it times `sla_sweep` — the function the beat task runs — once (it claims
the overdue rows and opens their `sla_breach` cases) and again (nothing is due: the partial
index answers at once), and the policy page's count query over the whole store."""

import os
import random
import resource
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from apps.sla.models import SlaPolicy
from apps.sla.selectors import policy_counts
from apps.sla.services import SWEEP_WORKERS, sla_sweep

PREFIX = "bench-sweep"
BAR_SECONDS = 10.0
WITHIN = timedelta(hours=4)
OVERDUE_SPAN = timedelta(hours=6)  # the overdue rows fell due over the last 6 hours
LAYOUTS = ("arrival", "random")
COPY_CHUNK = 50_000


@dataclass
class SweepBench:
    layout: str
    workers: int
    expectations: int
    orders: int
    policies: int
    overdue: int  # rows due at the sweep's time, as filled
    fill_s: float
    sweep_s: float
    claimed: int
    opened: int
    closed: int
    second_sweep_s: float
    second_claimed: int
    counts_ms: float
    # CPU seconds the sweep used in this process and in the database's backends (None when the
    # database is on another host), and the machine's 1-minute load: on a shared machine, wall
    # time alone says as much about the neighbours as about the sweep.
    sweep_cpu_s: float = 0.0
    sweep_db_cpu_s: float | None = None
    load_1m: float = 0.0
    bar_s: float = BAR_SECONDS

    @property
    def meets_bar(self) -> bool:
        return self.sweep_s <= self.bar_s

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "meets_bar": self.meets_bar}


@dataclass
class Filled:
    layout: str
    run: str
    at: datetime  # the store's "now": due times are spread around it, the sweep runs as of it
    expectations: int
    policy_ids: list[int]
    orders: int
    overdue: int
    seconds: float


def fill(
    *,
    expectations: int,
    policies: int,
    overdue_share: float,
    at: datetime,
    layout: str = "arrival",
    advance: Callable[[int], None],
    seed: int = 7,
) -> Filled:
    """COPY `expectations` pending rows (policies x orders), about `overdue_share` of them due by
    `at`. Layout "arrival": rows in the order their clocks started, as a live store grows, so the
    due rows share pages; "random": due times shuffled over the table (the worst case for I/O)."""
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - synthetic due times for a benchmark
    run = uuid.uuid4().hex[:8]
    policy_ids = [
        SlaPolicy.objects.create(
            name=f"{PREFIX}-{run}-{n}",
            start="order.released",
            stop=["pick.completed"],
            within=WITHIN,
            # A customer no order has: the real pipeline never evaluates these policies.
            applies_to={"customer": f"{PREFIX}-{run}"},
            severity="medium",
            queue="ops",
        ).id
        for n in range(policies)
    ]
    orders = -(-expectations // policies)
    overdue = 0
    # Due times spread over `span`, the first OVERDUE_SPAN of it already past: that share is due.
    span = OVERDUE_SPAN / overdue_share if overdue_share > 0 else timedelta(days=3)
    first_due = at - OVERDUE_SPAN
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3: COPY is not DB-API
        raw.execute(
            "SELECT nextval(pg_get_serial_sequence('correlation_node', 'id')) FROM generate_series(1, %s)", [orders]
        )
        node_ids = [row[0] for row in raw.fetchall()]
        with transaction.atomic(), raw.copy("COPY correlation_node (id, kind, value) FROM STDIN") as copy:
            for n, node_id in enumerate(node_ids):
                copy.write_row((node_id, "order", f"BSW{run}-{n}"))
        written = 0
        columns = "policy_id, order_id, started_at, due_at, status, created_at, updated_at"
        while written < expectations:
            chunk = min(COPY_CHUNK, expectations - written)
            with transaction.atomic(), raw.copy(f"COPY sla_expectation ({columns}) FROM STDIN") as copy:
                for i in range(written, written + chunk):
                    policy_id, node_id = policy_ids[i % policies], node_ids[i // policies]
                    if layout == "arrival":
                        # Rows are stored as the clocks started, so the due ones sit together.
                        due_at = first_due + span * ((i // policies + rng.random()) / orders)
                    else:
                        due_at = at + span * rng.random() - OVERDUE_SPAN
                    overdue += due_at <= at
                    copy.write_row((policy_id, node_id, due_at - WITHIN, due_at, "pending", at, at))
            written += chunk
            advance(chunk)
        raw.execute("ANALYZE correlation_node, sla_expectation, exceptions_exceptioncase")
    return Filled(layout, run, at, expectations, policy_ids, orders, overdue, time.perf_counter() - started)


def clean_up(filled: Filled) -> None:
    """Remove the run's rows (set-based: the ORM's cascade would load a million objects)."""
    names = [f"{PREFIX}-{filled.run}-{n}" for n in range(len(filled.policy_ids))]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM exceptions_exceptionactivity WHERE case_id IN "
            "(SELECT id FROM exceptions_exceptioncase WHERE kind = 'sla_breach' AND code = ANY(%s))",
            [names],
        )
        cursor.execute("DELETE FROM exceptions_exceptioncase WHERE kind = 'sla_breach' AND code = ANY(%s)", [names])
        cursor.execute("DELETE FROM sla_expectation WHERE policy_id = ANY(%s)", [filled.policy_ids])
        cursor.execute("DELETE FROM sla_slapolicy WHERE id = ANY(%s)", [filled.policy_ids])
        cursor.execute("DELETE FROM correlation_node WHERE kind = 'order' AND value LIKE %s", [f"BSW{filled.run}-%"])


def measure(filled: Filled, *, keep: bool, workers: int = SWEEP_WORKERS) -> SweepBench:
    """Time the sweep as of the store's time, then again (nothing left due), then the counts."""
    try:
        cpu = _process_cpu()
        with DatabaseCpu() as db:
            started = time.perf_counter()
            first = sla_sweep(filled.at, workers=workers)  # the beat task runs it with SWEEP_WORKERS
            sweep_s = time.perf_counter() - started
        cpu = _process_cpu() - cpu
        db_cpu = db.seconds
        load = os.getloadavg()[0]
        started = time.perf_counter()
        second = sla_sweep(filled.at, workers=workers)
        second_s = time.perf_counter() - started
        started = time.perf_counter()
        policy_counts(policy_ids=filled.policy_ids, at=filled.at)
        counts_ms = (time.perf_counter() - started) * 1000
    finally:
        if not keep:
            clean_up(filled)
    return SweepBench(
        layout=filled.layout,
        workers=workers,
        expectations=filled.expectations,
        orders=filled.orders,
        policies=len(filled.policy_ids),
        overdue=filled.overdue,
        fill_s=round(filled.seconds, 2),
        sweep_s=round(sweep_s, 3),
        claimed=first.claimed,
        opened=len(first.opened),
        closed=len(first.closed),
        second_sweep_s=round(second_s, 4),
        second_claimed=second.claimed,
        counts_ms=round(counts_ms, 1),
        sweep_cpu_s=round(cpu, 2),
        sweep_db_cpu_s=round(db_cpu, 2) if db_cpu is not None else None,
        load_1m=round(load, 2),
    )


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class DatabaseCpu:
    """CPU seconds used by this database's PostgreSQL backends while the block runs, when they
    run on this machine (None otherwise). The sweep's worker threads open connections of their
    own, so a sampler lists the database's backends every 50 ms and reads their /proc counters."""

    def __init__(self) -> None:
        self.seconds: float | None = None
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-db-cpu", daemon=True)

    def __enter__(self) -> "DatabaseCpu":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._last:
            self.seconds = sum(cpu - self._first.get(pid, 0.0) for pid, cpu in self._last.items())

    def _sample(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (me,) = cursor.fetchone() or (0,)
                first = True
                while True:
                    cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                    for (pid,) in cursor.fetchall():
                        cpu = _proc_cpu(pid) if pid != me else None
                        if cpu is None:
                            continue
                        if first:
                            self._first[pid] = cpu
                        self._last[pid] = cpu
                    first = False
                    if self._stop.wait(0.05):
                        return
        finally:
            connection.close()


def _proc_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report_lines(r: SweepBench) -> list[str]:
    return [
        f"filled {r.expectations:,} pending expectations ({r.orders:,} orders x {r.policies} policies, "
        f"{r.overdue:,} overdue, {r.layout} layout) in {r.fill_s:.1f} s",
        f"sweep ({r.workers} worker{'s' if r.workers != 1 else ''}): {r.sweep_s:.2f} s, "
        f"claimed {r.claimed:,}, opened {r.opened:,} cases, closed {r.closed:,}",
        f"  CPU: {r.sweep_cpu_s:.1f} s here, "
        + (f"{r.sweep_db_cpu_s:.1f} s in the database" if r.sweep_db_cpu_s is not None else "database remote")
        + f"; load average {r.load_1m:.1f}",
        f"second sweep (nothing due): {r.second_sweep_s * 1000:.1f} ms, claimed {r.second_claimed:,}",
        f"policy page counts over the store: {r.counts_ms:.0f} ms",
        f"bar: sweep <= {r.bar_s:.0f} s: {'meets' if r.meets_bar else 'MISSES'}",
    ]
