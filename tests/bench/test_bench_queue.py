"""`manage.py bench queue`: it fills a store of cases the queue page can read, and times the page.
The recorded run (100k open cases) is in docs/benchmarks.md, not run here."""

import io
import os

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from apps.bench import queue
from apps.exceptions.models import ExceptionCase

needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)


def test_it_refuses_sqlite(monkeypatch, db):
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    with pytest.raises(CommandError, match="not PostgreSQL"):
        call_command("bench", "queue", "--open", "10", stdout=io.StringIO())


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_fills_once_and_times_every_view():
    out = io.StringIO()
    call_command(
        "bench", "queue", "--open", "300", "--resolved", "100", "--samples", "2", "--no-http", "--json", stdout=out
    )
    result = orjson.loads(out.getvalue())
    assert result["store"]["open_cases"] == 300
    assert result["store"]["resolved_cases"] == 100
    assert set(result["scenarios"]) == set(queue.SCENARIOS)
    default = result["scenarios"]["ops lead, default (my queue, needs action)"]
    assert default["rows"] == min(50, default["total"]) > 0
    assert default["page_p95_ms"] > 0
    assert all(plan.startswith(("Limit", "Aggregate")) for plan in result["plans"].values())
    # a second run reuses the store instead of adding to it
    call_command(
        "bench",
        "queue",
        "--open",
        "300",
        "--resolved",
        "100",
        "--samples",
        "1",
        "--no-http",
        "--json",
        stdout=io.StringIO(),
    )
    assert ExceptionCase.objects.filter(fingerprint__startswith="bench-queue:").count() == 400
    call_command("bench", "queue", "--clean", stdout=io.StringIO())
    assert not ExceptionCase.objects.filter(fingerprint__startswith="bench-queue:").exists()
