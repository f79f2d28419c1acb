"""`manage.py bench formats`: what each partner format costs, and a large X12 file end to end.

1. Parse + map, in this one process: each format's adapter on real samples from
   ../shared/realdata (read in place; generated bodies for the canonical formats and the X12
   214, of which realdata has none), repeated for `--seconds` per format: events/s and MB/s.
2. End to end (`--e2e-mb`, 0 to skip): a synthetic X12 214 file of that size uploaded over
   HTTP to a uvicorn, split by a Celery worker and processed by `--workers` workers, until
   every message is finished: events/s from upload to the last message, and the peak RSS of
   each worker process (the split must not grow with the file)."""

import os
import tempfile
import time
from argparse import ArgumentParser
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import CommandError

from apps.events.validation import ValidEvent
from apps.ingestion.formats import FORMATS, FeedContext

from .x12_214 import interchanges, write_file

REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata"
SAMPLES: dict[str, list[str]] = {
    "x12": [
        "x12-stupidedi/spec/fixtures/004010/SH856/pass/2.x12",
        "x12-stupidedi/spec/fixtures/004010/SM204/case/1.edi",
        "x12-oopfactory/tests/OopFactory.X12.Tests.Unit/Parsing/_SampleEdiFiles/TAM/_210/CN_FreightInvoiceSample1.txt",
    ],
    "edifact": ["edifact-types/test-data/d00b_iftsta.edi"],
    "epcis": [
        "gs1-epcis/JSON/Example_9.6.1-ObjectEvent.jsonld",
        "gs1-epcis/XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml",
    ],
    "dcsa-tnt": ["dcsa-conformance-gateway/tnt/src/main/resources/standards/tnt/messages/tnt-220-response.json"],
    "carrier-webhook": ["easypost-examples/official/fixtures/event-body.json"],
}


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=2.0, help="parse time per format (default 2)")
    parser.add_argument("--e2e-mb", type=float, default=20.0, help="size of the X12 214 file end to end (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers for the end-to-end run")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON on stdout")


def _generated() -> dict[str, list[bytes]]:
    events = [
        {
            "event_id": f"bench-{n}",
            "type": "shipment.departed",
            "occurred_at": "2026-11-25T10:15:00+01:00",
            "source_status": "DEP",
            "refs": {"order": f"SO-{n // 4}", "shipment": f"SH-{n // 4}"},
            "location": {"code": "DC-EAST"},
        }
        for n in range(1000)
    ]
    from apps.ingestion.formats.canonical_csv import write_csv

    x12 = next(interchanges(sets=200)).encode()
    return {
        "canonical-json": [orjson.dumps({"events": events})],
        "canonical-csv": [write_csv(events)],
        "x12": [x12],
    }


def bodies_of(fmt: str) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    generated = _generated().get(fmt, [])
    out += [(f"generated ({len(b) // 1024} KB)", b) for b in generated]
    for relative in SAMPLES.get(fmt, []):
        path = REALDATA / relative
        if path.is_file():
            out.append((relative.rsplit("/", 1)[-1], path.read_bytes()))
    return out


def parse_rates(seconds: float, write: Callable[[str], None]) -> list[dict[str, Any]]:
    ctx = FeedContext.standard(slug="bench", system="tms")
    rows: list[dict[str, Any]] = []
    for fmt, adapter in FORMATS.items():
        samples = bodies_of(fmt)
        if not samples:
            continue
        events = size = rounds = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for _, body in samples:
                events += sum(isinstance(o, ValidEvent) for o in adapter.parse(body, ctx))
                size += len(body)
            rounds += 1
        elapsed = time.perf_counter() - started
        row = {
            "format": fmt,
            "samples": [name for name, _ in samples],
            "rounds": rounds,
            "events": events,
            "events_per_second": round(events / elapsed),
            "mb_per_second": round(size / elapsed / 1024 / 1024, 2),
        }
        rows.append(row)
        write(
            f"{fmt:16} {row['events_per_second']:>9,} events/s  {row['mb_per_second']:>7} MB/s  ({len(samples)} bodies)"
        )
    return rows


def command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    say = (lambda _: None) if opts["json"] else write
    say("parse + map, one process:")
    summary: dict[str, Any] = {"parse": parse_rates(opts["seconds"], say), "machine": _machine()}
    if opts["e2e_mb"] > 0:
        summary["end_to_end"] = end_to_end(opts["e2e_mb"], opts["workers"], say)
    if opts["json"]:
        write(orjson.dumps(summary).decode())


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def _peak_rss_kb(pid: int) -> int:
    """VmHWM of a process and its children (a prefork worker forks its pool process)."""
    total = 0
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]))
        except OSError:
            continue
    return total


def end_to_end(megabytes: float, workers: int, write: Callable[[str], None]) -> dict[str, Any]:
    import httpx
    from django.db import connection

    from apps.accounts.services import api_token_create
    from apps.feeds.services import feed_create
    from apps.ingestion.choices import MessageStatus
    from apps.ingestion.models import IngestFile, RawMessage

    from .ingest import database_url, redis_url, unique_prefix
    from .processes import Stack, StackError

    if connection.vendor != "postgresql" or not redis_url():
        raise CommandError("the end-to-end run needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL); or --e2e-mb 0")
    prefix = unique_prefix()
    creds = feed_create(slug=f"bench-x12-{prefix.lower()}", partner_name="Bench carrier", system="tms", format="x12")
    from django.contrib.auth import get_user_model

    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    token = api_token_create(user=admin)
    with tempfile.TemporaryDirectory(prefix="ct-bench-formats-") as tmp:
        path = Path(tmp) / "carrier-214.edi"
        size, events = write_file(path, megabytes=megabytes, prefix=prefix)
        write(f"end to end: {size / 1024 / 1024:.1f} MB X12 214, {events:,} statuses, {workers} worker(s)")
        try:
            with Stack(
                queue=f"ct-bench-{prefix.lower()}", workers=workers, database_url=database_url(), redis_url=redis_url()
            ) as stack:
                stack.wait_ready()
                started = time.perf_counter()
                with path.open("rb") as handle, httpx.Client(base_url=stack.base_url, timeout=600) as client:
                    response = client.post(
                        f"/api/v1/feeds/{creds.slug}/files/",
                        files={"file": (path.name, handle, "application/edi-x12")},
                        headers={"Authorization": f"Token {token}"},
                    )
                if response.status_code != 202:
                    raise CommandError(f"upload: {response.status_code} {response.text[:300]}")
                uploaded = time.perf_counter() - started
                file_id = response.json()["file_id"]
                split_at = None
                while True:
                    stack.check_alive()
                    record = IngestFile.objects.get(id=file_id)
                    if split_at is None and record.status in ("split", "rejected"):
                        split_at = time.perf_counter() - started
                    unfinished = RawMessage.objects.filter(
                        file_id=file_id, status__in=[MessageStatus.RECEIVED, MessageStatus.PROCESSING]
                    ).count()
                    if split_at is not None and not unfinished:
                        break
                    time.sleep(0.5)
                elapsed = time.perf_counter() - started
                rss = {p.name: _peak_rss_kb(p.popen.pid) for p in stack.procs if p.name.startswith("worker")}
        except StackError as exc:
            raise CommandError(str(exc)) from exc
    record = IngestFile.objects.get(id=file_id)
    accepted = sum(RawMessage.objects.filter(file_id=file_id).values_list("accepted", flat=True))
    result = {
        "megabytes": round(size / 1024 / 1024, 1),
        "statuses": events,
        "messages": record.parts,
        "accepted": accepted,
        "workers": workers,
        "upload_seconds": round(uploaded, 1),
        "split_seconds": round(split_at or 0, 1),
        "total_seconds": round(elapsed, 1),
        "events_per_second": round(accepted / elapsed) if elapsed else 0,
        "worker_peak_rss_mb": {name: round(kb / 1024) for name, kb in rss.items()},
    }
    write(
        f"  upload {result['upload_seconds']} s, split done at {result['split_seconds']} s, all processed at "
        f"{result['total_seconds']} s: {result['events_per_second']:,} events/s; {record.parts} messages, "
        f"{accepted:,} accepted; worker peak RSS {result['worker_peak_rss_mb']} MB"
    )
    return result
