"""Planner statistics before a measurement.

PostgreSQL's autovacuum keeps statistics current in production (it is on by default). Some
machines run with it off; there the hot tables of a long-lived bench database carry no
statistics at all, the planner guesses, and the same code measured 1,200 or 1,750 events/s
depending on when someone last ran ANALYZE (docs/benchmarks.md). So each bench that writes
through the pipeline first does what autovacuum would have done, and says so."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, connections

HOT_TABLES = (
    "events_canonicalevent",
    "events_eventref",
    "ingestion_rawmessage",
    "correlation_node",
    "correlation_link",
    "correlation_member",
    "correlation_timelineentry",
    "correlation_orderprojection",
    "sla_expectation",
    "exceptions_exceptioncase",
    "exceptions_exceptionoccurrence",
)


def autovacuum_enabled() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        row = cursor.fetchone()
    return bool(row) and str(row[0]).lower() == "on"


def statistics_refresh() -> str:
    """VACUUM ANALYZE the pipeline's tables when autovacuum is off; returns a line for the
    report. Outside a transaction (VACUUM refuses to run in one)."""
    if connection.vendor != "postgresql":
        return "statistics: not PostgreSQL, nothing to do"
    if autovacuum_enabled():
        return "statistics: autovacuum is on (left to it)"
    with connection.cursor() as cursor:
        # A (nearly) empty table is left alone: statistics saying "no rows" would outlive the
        # run's first thousands of rows (nothing refreshes them) and the planner would scan
        # them (measured: half the throughput); a table never analysed is estimated from its
        # actual size instead.
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) AND n_live_tup >= 1000",
            [list(HOT_TABLES)],
        )
        tables = [row[0] for row in cursor.fetchall()]
        if tables:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
    return (
        f"statistics: autovacuum is off on this server; ran VACUUM (ANALYZE) on {len(tables)} tables holding rows first"
    )


@contextmanager
def analyzing_while(*, every: float = 10.0) -> Iterator[None]:
    """While the block runs, ANALYZE the hot tables every `every` seconds when autovacuum is off,
    as its analyze would on a table that grows (it runs after ~10 % new rows). Without it a run
    on a fresh database works with no statistics at all: `= ANY(<2,000 ids>)` on a non-unique
    column is then estimated as most of the table, the planner scans, and the cost per event
    grows with the store (docs/benchmarks.md, 2026-12-02 "flat as the store grows")."""
    if connection.vendor != "postgresql" or autovacuum_enabled():
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(every):
                with connections["default"].cursor() as cursor:
                    cursor.execute(f"ANALYZE {', '.join(HOT_TABLES)}")
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, name="bench-analyze", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
