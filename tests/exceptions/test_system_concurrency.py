"""Two system sweeps at the same moment open each feed_silent and unmatched_event case once
(PostgreSQL only): the partial unique constraint on unresolved fingerprints decides, and the
loser counts its occurrences on the winner's case (unique per fingerprint and event)."""

import os
import threading
import time
from typing import Any

import pytest
from django.db import connections

from apps.exceptions.models import ExceptionActivity
from apps.exceptions.services import system
from apps.exceptions.services.system import system_sweep
from tests.factories import FeedFactory

from .test_system_kinds import at, cases, speak

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
    ),
]

FEEDS = 12


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_open_each_case_once(monkeypatch):
    feeds = [FeedFactory(system="lastmile") for _ in range(FEEDS)]
    for n, feed in enumerate(feeds):
        speak(feed, refs={"tracking_number": f"1Z{n}"}, event_id=f"scan-{n}", type="delivery.out_for_delivery")
        speak(feed, refs={"lpn": f"LPN-{n}"}, event_id=f"lpn-{n}", type="delivery.out_for_delivery")
    open_case = system._case_open

    def slow_open(**kwargs: Any) -> Any:
        time.sleep(0.02)  # hold each opening's transaction a little, so the other sweep runs into it
        return open_case(**kwargs)

    monkeypatch.setattr(system, "_case_open", slow_open)
    barrier = threading.Barrier(2)
    opened: list[tuple[str, str, str, int]] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            opened.extend(system_sweep(at(hours=2)).opened)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(opened) == 3 * FEEDS  # feed_silent, tracking_number and lpn per feed, each by one sweep
    assert len(cases("feed_silent")) == FEEDS
    unmatched = cases("unmatched_event")
    assert len(unmatched) == 2 * FEEDS
    assert {c.occurrences for c in unmatched} == {1}
    assert ExceptionActivity.objects.filter(action__in=["opened", "reopened"]).count() == 3 * FEEDS
