"""Session fixtures of the fault tests: a PostgreSQL cluster and a Redis server of their own,
the template database (migrated once, with the feeds), the stream, and the reference run (the
same stream through the same processes, no fault) every fault run is compared with."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.utils import timezone

from apps.bench.ingest import Stream, stream_make
from apps.feeds.services import FeedCredentials
from tests.workers import REPO, use_broker

from . import load
from .services import PostgresCluster, RedisServer, missing_binaries

EVENTS = int(os.environ.get("FAULTS_EVENTS", "24000"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Opt-in: about 4 minutes of real processes, run by `.ci/run` on a line of its own
    (`pytest -m faults tests/faults`), not by every `./scripts/test`."""
    chosen = "faults" in str(config.getoption("markexpr") or "") or os.environ.get("FAULTS") == "1"
    missing = missing_binaries()
    reason = f"fault tests need {', '.join(missing)}" if missing else "fault tests run with -m faults (or FAULTS=1)"
    if chosen and not missing:
        return
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def cluster() -> Iterator[PostgresCluster]:
    pg = PostgresCluster()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    from controltower.celery import app

    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    try:
        server.start()
        yield server
    finally:
        app.conf.task_always_eager = saved[0]
        use_broker(saved[1])
        server.destroy()


@pytest.fixture(scope="session")
def creds(cluster: PostgresCluster) -> dict[str, FeedCredentials]:
    """The template database, migrated, with the feeds; their credentials by system (and `probe`)."""
    cluster.execute(f'CREATE DATABASE "{load.TEMPLATE}"')
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "controltower.settings.base",
        "DATABASE_URL": cluster.url(load.TEMPLATE),
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.prepare"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    raw: dict[str, dict[str, str]] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return {name: FeedCredentials(**c) for name, c in raw.items()}


@pytest.fixture(scope="session")
def stream() -> Stream:
    """The simulator's noisy stream (duplicates, reordering, bad events), all of it in the past
    (no event is held as future-dated, whatever the run's moment)."""
    return stream_make(events=EVENTS, prefix="FLT", seed=7, now=timezone.now() - timedelta(days=1))


@pytest.fixture(scope="session")
def orm(django_db_blocker: Any) -> Iterator[None]:
    """The test process reads the runs' databases through aliases of its own (load.py)."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def reference(
    orm: None, cluster: PostgresCluster, redis_server: RedisServer, stream: Stream, creds: dict[str, FeedCredentials]
) -> dict[str, Any]:
    """The clean run: what every fault run must come to."""
    result = load.run(name="reference", cluster=cluster, redis=redis_server, stream=stream, creds=creds)
    print(result.summary())
    return {"result": result, "seen": load.seen(result.alias), "counts": load.counts(result.alias)}
