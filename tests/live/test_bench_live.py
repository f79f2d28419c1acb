"""`manage.py bench live`: its checks and arithmetic, and one short run on the real processes
(uvicorn and a Celery worker on PostgreSQL and Redis): a worker's commit reaches a websocket
held by the web process through the Redis layer."""

import io
import os
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import override_settings

from apps.bench import live, live_command

needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")


@override_settings(REDIS_URL="")
def test_it_refuses_without_redis() -> None:
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("bench", "live", "--seconds", "1", stdout=io.StringIO())


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_it_refuses_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    with pytest.raises(CommandError, match="not PostgreSQL"):
        call_command("bench", "live", "--seconds", "1", stdout=io.StringIO())


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert live.percentile(values, 50) == 50.0
    assert live.percentile(values, 95) == 95.0
    assert live.percentile([7.0], 95) == 7.0
    assert live.summary([3.0, 1.0, 2.0]) == {"p50": 2.0, "p95": 3.0, "max": 3.0, "mean": 2.0}
    assert live.summary([]) == {}


def test_the_report_says_whether_the_bar_is_met() -> None:
    result: dict[str, Any] = {
        "date": "2026-11-25T10:00:00+00:00",
        "machine": {"cpus": 2, "postgres": "15", "load_average_before": (1.0, 1, 1), "load_average_after": (1.5, 1, 1)},
        "setup": {"rate": 1000, "seconds": 60, "batch_size": 200, "workers": 1, "probes_per_second": 2},
        "background": {
            "events_posted": 60000,
            "posted_events_per_second": 1000,
            "events_processed_by_end": 59000,
            "processed_events_per_second": 980,
        },
        "probes": {"sent": 120, "arrived": 120, "lost": 0},
        "latency_ms": {"p50": 90.0, "p95": 180.0, "max": 240.0, "mean": 100.0},
        "order_updated_ms": {"p50": 300.0, "p95": 700.0, "max": 900.0, "mean": 350.0, "arrived": 118},
        "segments_ms": {"received_to_socket": {"p50": 10.0, "p95": 20.0, "max": 30.0, "mean": 12.0}},
        "push_only_ms": {"p50": 5.0, "p95": 7.0, "max": 9.0, "mean": 5.0, "sent": 120, "arrived": 120},
        "socket": {"frames": 10, "bytes": 1000},
        "bar_p95_ms": 250.0,
        "meets_bar": True,
    }
    text = "\n".join(live_command.report_lines(result))
    assert "p50 90.0 ms, p95 180.0 ms" in text
    assert "→ socket (early lane: queue, store, exceptions, commit, push): p50 10.0 ms, p95 20.0 ms" in text
    assert "push alone" in text
    assert "POST → websocket order.updated (118/120): p50 300.0 ms, p95 700.0 ms" in text
    assert "bar: p95 <= 250 ms: meets" in text


@pytest.mark.e2e
@pytest.mark.postgres
@needs_postgres
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_short_run_on_the_real_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    db = connection.settings_dict
    monkeypatch.setattr(live, "database_url", lambda: f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    result = live.run(
        seconds=4, rate=30, probes_per_second=2, workers=1, batch_size=50, concurrency=2, settle_s=60, keep=False
    )
    assert result["probes"]["sent"] >= 6
    assert result["probes"]["lost"] == 0  # every probe's exception.opened reached the socket
    assert result["push_only_ms"]["arrived"] == result["push_only_ms"]["sent"]
    assert result["latency_ms"]["p50"] > 0
    assert result["order_updated_ms"]["arrived"] == result["probes"]["sent"]  # the order page heard each probe
    assert set(result["segments_ms"]) == {
        "post_to_received",
        "received_to_socket",
        "regular_queue_wait",
        "post_to_processed",
    }
    assert result["segments_ms"]["received_to_socket"]["p50"] > 0  # every probe's stamps were read
    assert result["background"]["events_posted"] > 0
