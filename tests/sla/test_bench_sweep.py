"""`manage.py bench sweep` at a tiny size: it fills, sweeps, reports and cleans up after itself.
The 1 M run is recorded in docs/benchmarks.md, not run here."""

import io
import os

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from apps.correlation.models import Node
from apps.exceptions.models import ExceptionCase
from apps.sla.models import Expectation, SlaPolicy


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)
@pytest.mark.parametrize("layout", ["arrival", "random"])
def test_it_sweeps_a_small_store_and_cleans_up(layout):
    out = io.StringIO()
    call_command(
        "bench", "sweep", "--expectations", "400", "--overdue", "0.1", "--layout", layout, "--json", stdout=out
    )
    result = orjson.loads(out.getvalue())
    assert (result["expectations"], result["orders"], result["policies"], result["layout"]) == (400, 100, 4, layout)
    assert 0 < result["overdue"] < 400
    assert result["claimed"] == result["opened"] == result["overdue"]
    assert result["second_claimed"] == 0
    assert result["sweep_s"] > 0
    assert result["sweep_db_cpu_s"] is None or result["sweep_db_cpu_s"] >= 0
    assert not Expectation.objects.exists()
    assert not ExceptionCase.objects.exists()
    assert not SlaPolicy.objects.exists()
    assert not Node.objects.exists()


def test_it_prints_a_readable_report(monkeypatch):
    from apps.bench.sweep import SweepBench, report_lines

    bench = SweepBench("arrival", 2, 1_000_000, 250_000, 4, 70_000, 95.0, 8.4, 70_000, 70_000, 0, 0.012, 0, 790.0)
    bench.sweep_cpu_s, bench.sweep_db_cpu_s, bench.load_1m = 1.2, 6.5, 0.8
    lines = report_lines(bench)
    assert lines[0].startswith("filled 1,000,000 pending expectations (250,000 orders x 4 policies, 70,000 overdue")
    assert lines[1] == "sweep (2 workers): 8.40 s, claimed 70,000, opened 70,000 cases, closed 0"
    assert lines[2] == "  CPU: 1.2 s here, 6.5 s in the database; load average 0.8"
    assert lines[-1] == "bar: sweep <= 10 s: meets"


def test_it_refuses_sqlite(monkeypatch, db):
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    with pytest.raises(CommandError, match="bench sweep fills with COPY: the database is sqlite"):
        call_command("bench", "sweep", "--expectations", "10", stdout=io.StringIO())
