"""The floors `manage.py bench ingest` compares its end-to-end rate with (design/floors.md): the
worker's validator on the run's bodies (and jsonschema on a sample, for comparison), and a raw
COPY of the rows the store would write, into scratch tables. The stream and the run's messages
are in ingest.py; the command (ingest_command.py) strings both together."""

import importlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from apps.events.services import EVENT_COLUMNS, event_row
from apps.events.validation import ValidEvent, validate_items, validate_json_batch

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "events" / "schema" / "canonical-event.schema.json"


# --- validator -------------------------------------------------------------------------------
@dataclass
class ValidatorResult:
    events: int = 0
    seconds: float = 0.0
    bodies: int = 0
    fallback_bodies: int = 0  # bodies with an event the typed decode refused: item by item
    rejected: int = 0
    valid: dict[str, list[ValidEvent]] = field(default_factory=dict)  # per system, in body order
    jsonschema_events: int = 0
    jsonschema_seconds: float = 0.0
    jsonschema_invalid: int = 0
    jsonschema_note: str = ""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def jsonschema_events_per_second(self) -> float:
        return self.jsonschema_events / self.jsonschema_seconds if self.jsonschema_seconds > 0 else 0.0


def validator_rate(posted: Sequence[tuple[str, bytes]]) -> ValidatorResult:
    """The worker's validation of every body: validate_json_batch (msgspec, straight from the
    bytes), and for a body it refuses, the per-item path the worker then takes."""
    result = ValidatorResult(bodies=len(posted))
    outcomes_by_body = []
    started = time.perf_counter()
    for _, body in posted:
        outcomes = validate_json_batch(body)
        if outcomes is None:
            result.fallback_bodies += 1
            outcomes = validate_items(orjson.loads(body)["events"])
        outcomes_by_body.append(outcomes)
    result.seconds = time.perf_counter() - started
    for (system, _), outcomes in zip(posted, outcomes_by_body, strict=True):
        result.events += len(outcomes)
        for outcome in outcomes:
            if isinstance(outcome, ValidEvent):
                result.valid.setdefault(system, []).append(outcome)
            else:
                result.rejected += 1
    return result


def jsonschema_rate(result: ValidatorResult, sample: Sequence[dict[str, Any]]) -> None:
    """jsonschema on a sample, for comparison (it is a dev dependency: may be missing)."""
    try:
        jsonschema: Any = importlib.import_module("jsonschema")  # no type stubs
    except ImportError:
        result.jsonschema_note = "jsonschema not installed"
        return
    schema = orjson.loads(SCHEMA_PATH.read_bytes())
    validator: Any = jsonschema.validators.validator_for(schema)(schema)
    started = time.perf_counter()
    invalid = sum(1 for event in sample if any(True for _ in validator.iter_errors(event)))
    result.jsonschema_seconds = time.perf_counter() - started
    result.jsonschema_events = len(sample)
    result.jsonschema_invalid = invalid


# --- COPY ------------------------------------------------------------------------------------
# The store's own column list, plus the id the scratch table gets from a sequence here.
_COPY_EVENT_COLUMNS = ("id", *EVENT_COLUMNS)


@dataclass
class CopyResult:
    events: int
    refs: int
    seconds: float  # the two COPY statements
    prepare_seconds: float  # building the rows (JSON of refs and body) before

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def copy_rate(groups: Sequence[tuple[int, str, Sequence[ValidEvent]]], *, logged: bool = False) -> CopyResult:
    """The floor: COPY the rows the store would write, (feed_id, system, events) per group,
    into scratch tables shaped like events_canonicalevent (primary key, UNIQUE (feed_id,
    event_key)) and events_eventref (index on (kind, value)), and commit. Repeated keys are
    dropped first, as the store does.

    TEMP tables by default (no WAL: the upper bound); `logged` uses ordinary tables, WAL and
    all, as the real tables are written. Either way nothing else is written and the scratch
    tables are dropped."""
    started = time.perf_counter()
    received_at = timezone.now()
    message_id = str(uuid.uuid4())
    seen: set[tuple[int, str]] = set()
    event_rows: list[tuple[object, ...]] = []
    ref_rows: list[tuple[object, ...]] = []
    for feed_id, system, events in groups:
        for e in events:
            if (feed_id, e.event_key) in seen:
                continue
            seen.add((feed_id, e.event_key))
            event_id = len(event_rows) + 1
            # Exactly the rows the store COPYs, so the floor measures the same bytes.
            event_rows.append((event_id, *event_row(feed_id, system, message_id, received_at, e)))
            for kind, values in e.refs.items():
                for value in values:
                    ref_rows.append((len(ref_rows) + 1, event_id, kind, value))
    prepare = time.perf_counter() - started
    cols = ", ".join(_COPY_EVENT_COLUMNS)
    suffix = uuid.uuid4().hex[:10]
    events_table, refs_table = f"bench_copy_events_{suffix}", f"bench_copy_refs_{suffix}"
    kind = "" if logged else "TEMP"
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3: COPY is not DB-API
        try:
            with transaction.atomic():
                # INCLUDING DEFAULTS for columns with a database default (ids are given, not drawn).
                raw.execute(f"CREATE {kind} TABLE {events_table} (LIKE events_canonicalevent INCLUDING DEFAULTS)")
                raw.execute(f"ALTER TABLE {events_table} ADD PRIMARY KEY (id), ADD UNIQUE (feed_id, event_key)")
                raw.execute(f"CREATE {kind} TABLE {refs_table} (LIKE events_eventref INCLUDING DEFAULTS)")
                raw.execute(f"ALTER TABLE {refs_table} ADD PRIMARY KEY (id)")
                raw.execute(f"CREATE INDEX ON {refs_table} (kind, value)")
            started = time.perf_counter()
            with transaction.atomic():  # the commit (WAL flush) is part of the cost
                with raw.copy(f"COPY {events_table} ({cols}) FROM STDIN") as copy:
                    for row in event_rows:
                        copy.write_row(row)
                with raw.copy(f"COPY {refs_table} (id, event_id, kind, value) FROM STDIN") as copy:
                    for row in ref_rows:
                        copy.write_row(row)
            seconds = time.perf_counter() - started
        finally:
            raw.execute(f"DROP TABLE IF EXISTS {refs_table}, {events_table}")
    return CopyResult(events=len(event_rows), refs=len(ref_rows), seconds=seconds, prepare_seconds=prepare)
