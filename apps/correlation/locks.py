"""Which batches may correlate at the same time: row locks on the identity graph's own nodes.

Two batches must not interleave when one's result depends on what the other writes: a link,
a binding or an event it would read, a stored closure it would grow, an order projection both
fold into. Everything a batch reads or writes hangs off nodes, so a batch holds a row lock
(`FOR NO KEY UPDATE`, compatible with the key-share locks of foreign keys pointing at a node)
until its transaction commits, on

* every node its events name (a node it creates is locked by the uncommitted insert itself);
* every order it touches (its closure, timeline, projection, exceptions and SLA rows);
* every node a walk of the graph adds to one of those orders' closures (an older shipment or
  run now reached): an event naming it may be stored right now by a batch that holds it.

Two batches with disjoint ids and disjoint orders never wait for each other; the same ids never
race. The second and third sets are only known after reading, so they are taken without waiting
(`NOWAIT`): when one is busy, `LocksBusy` carries everything wanted and the caller rolls back to
its savepoint and starts over, taking that whole set first, waiting, in id order. Waiting always
in one order, and never while holding locks taken out of that order, there is no deadlock to
detect; PostgreSQL's detector stays the backstop (the last restart waits for what it lacks).

Row locks live in the tuples, not in the shared lock table, so a batch naming thousands of
ids does not exhaust `max_locks_per_transaction` (advisory locks would). SQLite serialises
writers anyway; `CORRELATION_LOCKING=false` switches the locks off for the test that shows what
they prevent (tests/pipeline/test_parallel_workers.py)."""

from collections.abc import Iterable

from django.conf import settings
from django.db import OperationalError, connection

from apps.common.lookups import array_param


class LocksBusy(Exception):
    """A node this batch needs is held by another transaction: start over, taking `wanted`."""

    def __init__(self, wanted: set[int]) -> None:
        super().__init__(f"{len(wanted)} graph nodes wanted, some held by another batch")
        self.wanted = wanted


class GraphLocks:
    """The node locks one correlation attempt holds (until its transaction ends)."""

    def __init__(self, *, wait: bool = False) -> None:
        self.enabled = connection.vendor == "postgresql" and settings.CORRELATION_LOCKING
        self.wait = wait  # the last attempt waits for what it lacks instead of starting over
        self.held: set[int] = set()

    def take(self, node_ids: Iterable[int]) -> None:
        """Lock these nodes, waiting for them, in id order (the start of an attempt)."""
        wanted = set(node_ids) - self.held
        if not wanted:
            return
        if self.enabled:
            self._lock(wanted, nowait=False)
        self.held |= wanted

    def more(self, node_ids: Iterable[int]) -> bool:
        """Lock nodes found while reading. Returns True when it locked any: what was read
        before may be stale (a batch that held them may have committed since), so the caller
        reads again. Raises LocksBusy when one is held by another batch."""
        wanted = set(node_ids) - self.held
        if not wanted:
            return False
        if self.enabled:
            try:
                self._lock(wanted, nowait=not self.wait)
            except OperationalError as exc:
                if getattr(getattr(exc, "__cause__", None), "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                raise LocksBusy(self.held | wanted) from exc
        self.held |= wanted
        return self.enabled

    def _lock(self, node_ids: set[int], *, nowait: bool) -> None:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_NOWAIT if nowait else _LOCK_WAIT, [array_param(sorted(node_ids))])


_LOCK_WAIT = "SELECT id FROM correlation_node WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE"
_LOCK_NOWAIT = _LOCK_WAIT + " NOWAIT"
