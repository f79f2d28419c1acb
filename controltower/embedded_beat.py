"""The periodic sweeps without `celery beat`, for the embedded default (eager tasks: the demo).

With `EMBEDDED_BEAT` on, the ASGI application starts this once per server process, on its first
connection (uvicorn's lifespan startup, or daphne's first request): a task on the server's own
event loop that runs every CELERY_BEAT_SCHEDULE entry at its interval, in Django's sync thread —
the thread the views use — so that it writes to the SQLite file one writer at a time with them,
and what it publishes reaches the in-memory channel layer from the loop the sockets listen on.

Only fixed intervals (a timedelta or seconds) are understood; production runs the real beat."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

logger = logging.getLogger(__name__)

FIRST_RUN_AFTER_S = 5.0  # let the server finish starting before the first sweep

_started: asyncio.Task[None] | None = None

Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


def intervals(schedule: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, float]]:
    """entry name -> (task name, seconds between runs); other schedules are skipped, said so."""
    out: dict[str, tuple[str, float]] = {}
    for name, entry in schedule.items():
        every = entry.get("schedule")
        seconds = every.total_seconds() if isinstance(every, timedelta) else every
        if isinstance(seconds, int | float) and seconds > 0:
            out[name] = (str(entry["task"]), float(seconds))
        else:
            logger.warning("embedded beat: %s has a schedule it cannot run (%r); skipped", name, every)
    return out


def run_task(task_name: str) -> None:
    """One run of one task, here and now, as the worker would run it."""
    from controltower.celery import app

    close_old_connections()
    try:
        app.loader.import_default_modules()  # the tasks modules of every app
        result = app.tasks[task_name].apply()
        if result.failed():
            logger.error("embedded beat: %s failed: %s", task_name, result.result)
    except Exception:
        logger.exception("embedded beat: %s could not run", task_name)
    finally:
        close_old_connections()


async def beat(schedule: Mapping[str, Mapping[str, Any]], *, first_after_s: float = FIRST_RUN_AFTER_S) -> None:
    entries = intervals(schedule)
    if not entries:
        return
    loop = asyncio.get_running_loop()
    due = {name: loop.time() + first_after_s for name in entries}
    run = sync_to_async(run_task, thread_sensitive=True)
    while True:
        name = min(due, key=lambda n: due[n])
        await asyncio.sleep(max(0.0, due[name] - loop.time()))
        task_name, every = entries[name]
        await run(task_name)
        due[name] = loop.time() + every


def with_embedded_beat(application: ASGIApp) -> ASGIApp:
    """`application`, starting the beat on the loop of its first connection."""

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        global _started
        if _started is None:
            from django.conf import settings

            _started = asyncio.get_running_loop().create_task(beat(settings.CELERY_BEAT_SCHEDULE), name="embedded-beat")
            logger.info("embedded beat started: %s", ", ".join(intervals(settings.CELERY_BEAT_SCHEDULE)))
        await application(scope, receive, send)

    return app
