"""The pieces of `manage.py bench ingest`: the preconditions, the stream to send, progress
and outcome queries over the run's messages, the clean-up, and the services' URLs. The
validator and COPY floors it is compared with are in floors.py.

The command (ingest_command.py) strings them together around the real processes
(processes.Stack); each piece here is usable, and tested, on its own."""

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

import orjson
from django.apps import apps as django_apps
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import PROTECT, Count, ForeignKey, Max, Model, ProtectedError, Q, RestrictedError, Sum
from django.utils import timezone

from apps.events.models import CanonicalEvent, EventRef
from apps.feeds.models import Feed
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.simulator.model import SimEvent
from apps.simulator.noise import batches, make_noisy
from apps.simulator.world import generate_world

FEED_PREFIX = "bench"
NEEDED_ENV = "DATABASE_URL=postgres://postgres@127.0.0.1:5432/controltower_bench REDIS_URL=redis://127.0.0.1:6379/0"
# design/floors.md: ~10k events/s end to end (1/7 of COPY) is the product goal on 2 cores;
# the bar is 2,000 events/s end to end with one worker.
GOAL_RATIO_TO_COPY = 1 / 7
BAR_EVENTS_PER_SECOND = 2000.0
FINISHED = (MessageStatus.PROCESSED, MessageStatus.REJECTED, MessageStatus.FAILED)


# --- preconditions ---------------------------------------------------------------------------
def unapplied_migrations() -> list[str]:
    """The workers would fail on a database behind the code (a new column, say)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def real_services_problems(*, vendor: str, redis_url: str) -> list[str]:
    """What stops a real benchmark: it measures PostgreSQL COPY and Celery over Redis, so the
    embedded default (SQLite, eager tasks) would measure something else."""
    problems = []
    if vendor != "postgresql":
        problems.append(f"the database is {vendor}, not PostgreSQL (set DATABASE_URL)")
    if not redis_url:
        problems.append("REDIS_URL is not set (Celery must run over Redis)")
    return problems


# --- the stream ----------------------------------------------------------------------------
@dataclass
class Stream:
    events: list[SimEvent]
    orders: int
    prefix: str
    unique: int  # distinct valid events: what the store must hold afterwards
    duplicates: int  # resent events (same feed, same event_id)
    bad: int  # events the validator must reject

    @property
    def by_system(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for sim in self.events:
            out[sim.system] = out.get(sim.system, 0) + 1
        return out


def unique_prefix() -> str:
    """Every run sends ids nobody sent before: B + 8 hex digits."""
    return "B" + uuid.uuid4().hex[:8].upper()


def stream_counts(events: Iterable[SimEvent]) -> tuple[int, int, int]:
    """(distinct valid, duplicates, bad). Bad events are the simulator's `bad-` ids."""
    seen: set[tuple[str, str]] = set()
    duplicates = bad = 0
    for sim in events:
        event_id = str(sim.event.get("event_id", ""))
        if event_id.startswith("bad-"):
            bad += 1
        elif (sim.system, event_id) in seen:
            duplicates += 1
        else:
            seen.add((sim.system, event_id))
    return len(seen), duplicates, bad


def stream_make(
    *,
    events: int,
    prefix: str,
    seed: int = 1,
    duplicate_rate: float = 0.03,
    bad_rate: float = 0.002,
    days: float = 3.0,
    now: datetime | None = None,
) -> Stream:
    """About `events` events (exactly that many, unless fewer are asked than one order makes):
    enough orders for the simulated world, noise added, the stream cut at `events`."""
    if events < 1:
        raise ValueError("events must be at least 1")
    horizon = timedelta(days=days)
    start = (now or timezone.now()) - horizon
    sample = generate_world(orders=200, seed=seed, start=start, horizon=horizon, id_prefix=prefix)
    per_order = max(1.0, len(sample) / 200 * (1 + duplicate_rate + bad_rate))
    orders = max(1, math.ceil(events / per_order * 1.02))
    while True:
        world = generate_world(orders=orders, seed=seed, start=start, horizon=horizon, id_prefix=prefix)
        stream = make_noisy(world, seed=seed, duplicate_rate=duplicate_rate, bad_rate=bad_rate)
        if len(stream) >= events or orders > 10 * events:
            break
        orders = math.ceil(orders * 1.1) + 1
    stream = stream[:events]
    unique, duplicates, bad = stream_counts(stream)
    return Stream(stream, orders, prefix, unique, duplicates, bad)


def bodies(stream: Sequence[SimEvent], batch_size: int) -> list[tuple[str, bytes]]:
    """(system, body) as apps.simulator.client.post_batches cuts them with no rate limit:
    windows of `batch_size` consecutive events, one body per system and window."""
    out: list[tuple[str, bytes]] = []
    for offset in range(0, len(stream), batch_size):
        for system, parts in batches(stream[offset : offset + batch_size], batch_size).items():
            out.extend((system, orjson.dumps({"events": events})) for events in parts)
    return out


# --- the run's messages ------------------------------------------------------------------------
def bench_feed_ids() -> list[int]:
    return list(Feed.objects.filter(slug__startswith=f"{FEED_PREFIX}-").values_list("pk", flat=True))


def bench_feeds_unthrottle(feed_ids: Sequence[int]) -> None:
    """The per-feed rate limit (600 requests/minute by default) is not what is measured."""
    Feed.objects.filter(pk__in=feed_ids).update(rate_limit_per_minute=1_000_000)


@dataclass
class Snapshot:
    messages: int  # received since the run started
    finished: int
    finished_events: int


def progress_snapshot(feed_ids: Sequence[int], since: datetime) -> Snapshot:
    """One count query: the run's messages (received since `since`) and how many are done."""
    done = Q(status__in=FINISHED)
    row = RawMessage.objects.filter(feed_id__in=feed_ids, received_at__gte=since).aggregate(
        messages=Count("id"),
        finished=Count("id", filter=done),
        finished_events=Sum("received_count", filter=done),
    )
    return Snapshot(row["messages"], row["finished"], row["finished_events"] or 0)


@dataclass
class Outcome:
    messages: int = 0
    finished: int = 0
    failed_messages: int = 0
    rejected_messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    stored: int = 0
    last_processed_at: datetime | None = None
    errors: dict[str, int] = field(default_factory=dict)  # first line of `error` of failed messages


def _chunks(ids: Sequence[str], size: int = 1000) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield [uuid.UUID(str(i)) for i in ids[start : start + size]]


def outcome(message_ids: Sequence[str]) -> Outcome:
    """What the run's messages came to: per-message counts, the events stored, the last finish."""
    out = Outcome(messages=len(message_ids))
    for chunk in _chunks(message_ids):
        qs = RawMessage.objects.filter(id__in=chunk)
        row = qs.aggregate(
            finished=Count("id", filter=Q(status__in=FINISHED)),
            failed=Count("id", filter=Q(status=MessageStatus.FAILED)),
            rejected_messages=Count("id", filter=Q(status=MessageStatus.REJECTED)),
            accepted=Sum("accepted"),
            duplicates=Sum("duplicates"),
            last=Max("processed_at"),
        )
        out.finished += row["finished"]
        out.failed_messages += row["failed"]
        out.rejected_messages += row["rejected_messages"]
        out.accepted += row["accepted"] or 0
        out.duplicates += row["duplicates"] or 0
        out.rejected += sum(len(r) for r in qs.values_list("rejections", flat=True))
        if row["last"] is not None and (out.last_processed_at is None or row["last"] > out.last_processed_at):
            out.last_processed_at = row["last"]
        out.stored += CanonicalEvent.objects.filter(message_id__in=chunk).count()
        for error in qs.filter(status=MessageStatus.FAILED).values_list("error", flat=True):
            first = (error.splitlines() or ["?"])[0][:300]
            out.errors[first] = out.errors.get(first, 0) + 1
    return out


def _protecting_fields() -> list[tuple[type[Model], str, type[Model]]]:
    """Foreign keys of later stages (e.g. correlation's links) that PROTECT events or messages."""
    out: list[tuple[type[Model], str, type[Model]]] = []
    for model in django_apps.get_models():
        if model in (CanonicalEvent, EventRef, RawMessage):
            continue
        for f in model._meta.get_fields():
            target = f.related_model
            protects = isinstance(f, ForeignKey) and f.remote_field.on_delete is PROTECT
            if protects and target in (CanonicalEvent, RawMessage):
                out.append((model, f.name, target))
    return out


def _delete_protecting_rows(ids: list[int]) -> None:
    """Rows of other apps that would block the delete and exist only because of these events
    (nodes bound by them, links they established): deleted through the ORM, which cascades.
    A few passes, since such rows may protect each other; what is left makes the delete fail."""
    pending = _protecting_fields()
    for _ in range(len(pending) + 1):
        left = []
        for model, name, target in pending:
            owned = target._default_manager.filter(feed_id__in=ids).values("pk")
            try:
                with transaction.atomic():
                    model._default_manager.filter(**{f"{name}__in": owned}).delete()
            except (ProtectedError, RestrictedError):
                left.append((model, name, target))
        if not left:
            return
        pending = left


def bench_data_delete(feed_ids: Sequence[int]) -> int:
    """Delete the events, refs and messages of the bench feeds (the feeds stay), after the rows
    of later stages that protect them. Plain SQL, refs first; should another table still point
    at these rows (a cascade Django emulates), the ORM's delete takes over. Returns the number of
    messages deleted."""
    ids = list(feed_ids)
    if not ids:
        return 0
    _delete_protecting_rows(ids)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM events_eventref WHERE event_id IN "
                "(SELECT id FROM events_canonicalevent WHERE feed_id = ANY(%s))",
                [ids],
            )
            cursor.execute("DELETE FROM events_canonicalevent WHERE feed_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM ingestion_rawmessage WHERE feed_id = ANY(%s)", [ids])
            deleted: int = cursor.rowcount
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fail here, not at commit
        return deleted
    except IntegrityError:
        pass
    with transaction.atomic():  # raises ProtectedError when another app's rows protect them
        EventRef.objects.filter(event__feed_id__in=ids).delete()
        CanonicalEvent.objects.filter(feed_id__in=ids).delete()
        deleted, _ = RawMessage.objects.filter(feed_id__in=ids).delete()
    return deleted


def database_label() -> str:
    db = connection.settings_dict
    return f"{db.get('HOST') or 'local'}:{db.get('PORT') or ''}/{db.get('NAME')}"


def database_url() -> str:
    """What the subprocesses get as DATABASE_URL: this process's, or one built from its settings."""
    url = str(getattr(settings, "DATABASE_URL", "") or "")
    if url:
        return url
    db = connection.settings_dict
    auth = db.get("USER") or ""
    if auth and db.get("PASSWORD"):
        auth += f":{quote(str(db['PASSWORD']), safe='')}"
    return f"postgres://{auth}{'@' if auth else ''}{db.get('HOST') or ''}:{db.get('PORT') or 5432}/{db['NAME']}"


def redis_url() -> str:
    return str(getattr(settings, "REDIS_URL", "") or "")
