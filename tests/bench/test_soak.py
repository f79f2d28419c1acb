"""`bench soak`'s verdict: flat unless a metric grew past 5 % and its noise floor from minute 2
to the end (the median of the last three minutes); and the run refuses the embedded default."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.bench.soak import Sample, growth, verdict


def minutes(**series: list[float]) -> list[Sample]:
    """Samples whose metrics follow `series` (one value per minute); the rest steady."""
    count = len(next(iter(series.values())))
    base = {"web_rss_mb": 140.0, "workers_rss_mb": 800.0, "p95_ms": 200.0, "db_connections": 16, "redis_used_mb": 2.0}
    out = []
    for i in range(count):
        values = {**base, **{name: values[i] for name, values in series.items()}}
        out.append(
            Sample(
                minute=i + 1,
                at_s=60.0 * (i + 1),
                posted_events=30_000 * (i + 1),
                processed_events=30_000 * (i + 1),
                backlog_messages=0,
                db_connections_by_process={},
                **values,
            )
        )
    return out


def test_steady_metrics_are_flat():
    flat, sentence = verdict(growth(minutes(web_rss_mb=[120, 140, 141, 140, 142, 141, 142])))
    assert flat, sentence


def test_a_worker_memory_that_keeps_growing_is_not_flat():
    grown = growth(minutes(workers_rss_mb=[700, 800, 850, 900, 950, 1000, 1050]))
    flat, sentence = verdict(grown)
    assert not flat
    assert "workers RSS MB" in sentence
    assert grown["workers_rss_mb"]["growth"] == pytest.approx(0.25)  # the median of 950, 1000, 1050


def test_connections_piling_up_are_not_flat_but_one_more_is_noise():
    assert not verdict(growth(minutes(db_connections=[16, 16, 18, 20, 22, 24, 26])))[0]
    assert verdict(growth(minutes(db_connections=[16, 16, 16, 17, 17, 17, 17])))[0]


def test_redis_jitter_of_a_few_hundred_kilobytes_is_noise():
    assert verdict(growth(minutes(redis_used_mb=[2.4, 2.1, 2.4, 2.2, 2.5, 2.3, 2.4])))[0]


def test_two_minutes_are_too_short_to_tell():
    flat, sentence = verdict(growth(minutes(p95_ms=[100, 100])))
    assert not flat
    assert "too short" in sentence


@pytest.mark.django_db
def test_it_refuses_to_soak_the_embedded_default():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is for SQLite")
    with pytest.raises(CommandError, match="real services"):
        call_command("bench", "soak", "--minutes", "1")
