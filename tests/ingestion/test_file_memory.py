"""A 200 MB X12 file is split with memory bounded by one message, not by the file: the peak
RSS of `ingest_file` on 200 MB is within a few tens of MB of its peak on 20 MB (a split that
held the file would add ~200 MB). Measured in a process of its own (ru_maxrss of a child)."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.bench.x12_214 import write_file
from apps.ingestion.models import IngestFile, RawMessage
from tests.factories import FeedFactory
from tests.workers import REPO, needs_postgres

pytestmark = [pytest.mark.postgres, needs_postgres]

MEASURE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss_mb(feed: str, path: Path, media: Path) -> float:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "controltower.settings.base",
        "REDIS_URL": "",
        "DJANGO_DEBUG": "false",  # as in production: DEBUG keeps every SQL statement in memory
        "MEDIA_ROOT": str(media),
    }
    argv = [sys.executable, "-c", MEASURE, sys.executable, "manage.py", "ingest_file", "--feed", feed, str(path)]
    out = subprocess.run([*argv, "--no-queue"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def test_a_200_mb_x12_file_splits_with_bounded_memory(transactional_db: None, tmp_path: Path, capsys: Any) -> None:
    feed = FeedFactory(format="x12", system="tms")
    small, large = tmp_path / "20mb.edi", tmp_path / "200mb.edi"
    write_file(small, megabytes=20, prefix="M1")
    size, statuses = write_file(large, megabytes=200, prefix="M2")
    assert size >= 200 * 1024 * 1024
    rss_small = peak_rss_mb(feed.slug, small, tmp_path / "media")
    rss_large = peak_rss_mb(feed.slug, large, tmp_path / "media")
    with capsys.disabled():
        print(f"\ningest_file peak RSS: 20 MB file {rss_small:.0f} MB, 200 MB file {rss_large:.0f} MB")
    record = IngestFile.objects.get(name="200mb.edi")
    assert (record.status, record.errors) == ("split", [])
    assert record.events == statuses
    assert RawMessage.objects.filter(file=record).count() == record.parts >= statuses // 1000
    assert rss_large - rss_small < 40, (rss_small, rss_large)
