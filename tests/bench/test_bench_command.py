"""`manage.py bench ingest`: it refuses the embedded default clearly, and its pieces measure what
they say. The full run (real processes, 100k events) is recorded in docs/benchmarks.md, not run
here."""

import io
import os

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import override_settings

from apps.bench import ingest_command
from apps.bench.floors import copy_rate, validator_rate
from apps.bench.ingest import (
    bodies,
    real_services_problems,
    stream_make,
)
from apps.events.validation import ValidEvent, validate_json_batch
from tests.factories import event

needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)


def test_the_preconditions_name_what_is_missing():
    assert real_services_problems(vendor="postgresql", redis_url="redis://127.0.0.1:6379/0") == []
    problems = real_services_problems(vendor="sqlite", redis_url="")
    assert len(problems) == 2
    assert "PostgreSQL" in problems[0]
    assert "REDIS_URL" in problems[1]


@override_settings(REDIS_URL="")
def test_it_refuses_without_redis_and_says_what_to_set():
    with pytest.raises(CommandError) as exc:
        call_command("bench", "ingest", "--events", "10", stdout=io.StringIO())
    message = str(exc.value)
    assert "REDIS_URL is not set" in message
    assert "DATABASE_URL=postgres://postgres@127.0.0.1:5432/controltower_bench" in message
    assert "REDIS_URL=redis://127.0.0.1:6379/0" in message


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_it_refuses_on_sqlite(monkeypatch):
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"the database is sqlite, not PostgreSQL \(set DATABASE_URL\)"):
        call_command("bench", "ingest", "--events", "10", stdout=io.StringIO())


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_it_refuses_a_database_behind_the_code(monkeypatch):
    monkeypatch.setattr(connections["default"], "vendor", "postgresql")
    monkeypatch.setattr(ingest_command, "unapplied_migrations", lambda: ["correlation.0009_new_column"])
    with pytest.raises(CommandError, match=r"1 unapplied migrations, e\.g\. correlation\.0009_new_column.*migrate"):
        call_command("bench", "ingest", "--events", "10", stdout=io.StringIO())


def test_the_stream_has_the_asked_size_and_counts_its_noise():
    stream = stream_make(events=400, prefix="T1", duplicate_rate=0.05, bad_rate=0.02)
    assert len(stream.events) == 400
    assert stream.unique + stream.duplicates + stream.bad == 400
    assert stream.duplicates > 0
    assert stream.bad > 0
    assert all("T1" in str(sim.event["event_id"]) for sim in stream.events)


def test_the_validator_measurement_sees_every_event_once():
    stream = stream_make(events=400, prefix="T2", duplicate_rate=0.05, bad_rate=0.02)
    posted = bodies(stream.events, 100)
    assert sum(len(orjson.loads(body)["events"]) for _, body in posted) == 400
    result = validator_rate(posted)
    assert result.events == 400
    assert result.rejected == stream.bad
    assert sum(len(v) for v in result.valid.values()) == stream.unique + stream.duplicates
    assert result.events_per_second > 0


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("logged", [False, True])
def test_the_copy_floor_copies_each_event_once_into_scratch_tables(logged):
    body = orjson.dumps(
        {"events": [event(1), event(2), event(2), event(3, refs={"order": ["SO-1", "SO-2"], "lpn": "L-1"})]}
    )
    outcomes = validate_json_batch(body)
    assert outcomes is not None
    valid = [o for o in outcomes if isinstance(o, ValidEvent)]
    result = copy_rate([(1, "wms", valid), (2, "wms", valid[:1])], logged=logged)
    assert result.events == 4  # e-1, e-2, e-3 on feed 1 (e-2 once), e-1 on feed 2
    assert result.refs == 2 + 2 + 3 + 2
    assert result.seconds > 0
    assert result.events_per_second > 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'bench_copy_%'")
        assert cursor.fetchone() == (0,)


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_bench_lookup_refuses_on_sqlite(monkeypatch):
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"bench lookup measures the real services: the database is sqlite"):
        call_command("bench", "lookup", "--events", "10", stdout=io.StringIO())


def test_bench_lookup_percentiles_are_nearest_rank():
    from apps.bench.lookup import Latency

    latency = Latency("order", [float(ms) for ms in range(1, 101)])
    assert (latency.pct(50), latency.pct(95), latency.pct(99)) == (51.0, 95.0, 99.0)
    assert latency.row()["n"] == 100
