"""The demo's sweeps without `celery beat`, and which channel layer each setup gets."""

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from controltower import embedded_beat

from .conftest import run


def test_every_fixed_interval_of_the_beat_schedule_is_understood() -> None:
    schedule = {
        "every-minute": {"task": "a.tasks.one", "schedule": timedelta(minutes=1)},
        "every-10s": {"task": "a.tasks.two", "schedule": 10},
        "crontab": {"task": "a.tasks.three", "schedule": object()},
    }
    assert embedded_beat.intervals(schedule) == {
        "every-minute": ("a.tasks.one", 60.0),
        "every-10s": ("a.tasks.two", 10.0),
    }
    # what production's beat runs, the demo runs too
    assert set(embedded_beat.intervals(settings.CELERY_BEAT_SCHEDULE)) == set(settings.CELERY_BEAT_SCHEDULE)


def test_the_beat_runs_each_task_at_its_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(embedded_beat, "run_task", ran.append)
    schedule = {"fast": {"task": "fast", "schedule": 0.05}, "slow": {"task": "slow", "schedule": 10}}

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(embedded_beat.beat(schedule, first_after_s=0), timeout=0.32)

    run(scenario)
    assert ran.count("slow") == 1  # once at start, next in 10 s
    assert 4 <= ran.count("fast") <= 8


def test_the_server_starts_the_beat_once(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []

    async def fake_beat(schedule: Any, **kwargs: Any) -> None:
        started.append(schedule)

    monkeypatch.setattr(embedded_beat, "beat", fake_beat)
    monkeypatch.setattr(embedded_beat, "_started", None)
    seen: list[str] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    app = embedded_beat.with_embedded_beat(inner)

    async def scenario() -> None:
        await app({"type": "lifespan"}, None, None)
        await app({"type": "http"}, None, None)
        await asyncio.sleep(0)

    run(scenario)
    assert seen == ["lifespan", "http"]
    assert started == [settings.CELERY_BEAT_SCHEDULE]


@pytest.mark.django_db
def test_a_task_runs_here_and_now(caplog: pytest.LogCaptureFixture) -> None:
    embedded_beat.run_task("apps.feeds.tasks.prune_signature_nonces")
    assert "embedded beat" not in caplog.text


def _settings_in_a_fresh_process(module: str, **env: str) -> dict[str, Any]:
    code = (
        f"import importlib, json; s = importlib.import_module({module!r}); "
        "print(json.dumps({'layer': s.CHANNEL_LAYERS['default'], 'beat': s.EMBEDDED_BEAT, "
        "'eager': s.CELERY_TASK_ALWAYS_EAGER}, default=str))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CHANNELS_PREFIX"}}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_each_setup_gets_its_channel_layer() -> None:
    redis = "redis://127.0.0.1:6379/0"
    production = _settings_in_a_fresh_process(
        "controltower.settings.production",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
        REDIS_URL=redis,
        DJANGO_SECRET_KEY="k" * 50,
        DJANGO_ALLOWED_HOSTS="example.com",
    )
    assert production["layer"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert production["layer"]["CONFIG"] == {"hosts": [{"address": redis, "socket_timeout": 30}], "prefix": "asgi"}
    assert production["beat"] is False

    demo = _settings_in_a_fresh_process("controltower.settings.base")
    assert demo["layer"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert demo["eager"] is True
    assert demo["beat"] is True

    tests = _settings_in_a_fresh_process("controltower.settings.test", REDIS_URL=redis, CELERY_QUEUE="ct-test-42")
    assert tests["layer"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert tests["layer"]["CONFIG"]["prefix"] == "ct-ct-test-42"  # this run's own
    assert tests["beat"] is False
