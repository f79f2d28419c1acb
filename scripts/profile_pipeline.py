"""Where a worker's time goes: the whole ingestion pipeline in this process, phase by phase.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch db, migrated> LOG_LEVEL=WARNING \
        .venv/bin/python scripts/profile_pipeline.py --events 8000 --body-size 200

Stores simulated traffic (apps.bench.ingest.stream_make) as raw messages of `--body-size` events
on four `prof-*` feeds, then processes them with `apps.pipeline.runner.message_process`, as a worker
does (batching included), and prints events/s and the seconds spent in each stage (the runner's own
timings) and in each hot-path step of correlation. The data is
kept (a growing store is part of what is measured): use a scratch database. Numbers on a shared
VM drift from run to run; compare runs made one after the other (docs/benchmarks.md)."""

import argparse
import functools
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")

import django

django.setup()

from rich.progress import track  # noqa: E402

from apps.bench.ingest import bodies, stream_make, unique_prefix  # noqa: E402
from apps.bench.maintenance import analyzing_while  # noqa: E402
from apps.correlation import refresh  # noqa: E402
from apps.correlation import services as correlation  # noqa: E402
from apps.feeds.models import Feed  # noqa: E402
from apps.feeds.services import feed_create  # noqa: E402
from apps.ingestion import services as ingestion  # noqa: E402
from apps.pipeline import metrics, runner  # noqa: E402

STEPS = (
    "nodes_ensure",
    "links_insert",
    "_bind_aliases",
    "orders_touched",
    "closures_grown",
    "closures",
    "events_naming",
    "events_by_id",
    "_with_older_events",
    "folds_read",
    "entries_insert",
    "members_store",
    "projections_upsert",
    "events_mark_matched",
    "events_mark_unmatched",
)
seconds: dict[str, float] = defaultdict(float)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[name] += time.perf_counter() - started

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--body-size", type=int, default=200)
    opts = parser.parse_args()
    feeds = {}
    for system in ("erp", "wms", "tms", "lastmile"):
        slug = f"prof-{system}"
        if not Feed.objects.filter(slug=slug).exists():
            feed_create(slug=slug, partner_name=f"profile {system}", system=system, format="canonical-json")
        feeds[system] = Feed.objects.get(slug=slug)
    stream = stream_make(events=opts.events, prefix=unique_prefix())
    posted = bodies(stream.events, opts.body_size)
    ids = [
        ingestion.message_receive(feed=feeds[s], body=b, content_type="application/json", enqueue=False).id
        for s, b in track(posted, description="receiving")
    ]
    for name in STEPS:  # patched where the caller looks it up (some are in both modules)
        for module in (correlation, refresh):
            if hasattr(module, name):
                setattr(module, name, timed(name, getattr(module, name)))
    started = time.perf_counter()
    with analyzing_while():  # as autovacuum's analyze would (apps/bench/maintenance.py)
        for message_id in track(ids, description="processing"):
            runner.message_process(message_id=message_id)
    elapsed = time.perf_counter() - started
    # The runner times every stage (apps/pipeline/metrics.py): read the totals from its histogram.
    for sample in metrics.STAGE_SECONDS.collect()[0].samples:
        if sample.name.endswith("_sum"):
            seconds[f"stage {sample.labels['stage']}"] += sample.value
    batches = sum(s.value for s in metrics.BATCH_EVENTS.collect()[0].samples if s.name.endswith("_count"))
    print(f"{batches:.0f} batches")
    print(f"{opts.events / elapsed:,.0f} events/s ({opts.events:,} events, {len(ids)} messages, {elapsed:.2f} s)")
    for name, spent in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"{spent:8.3f} s  {name}")


if __name__ == "__main__":
    main()
