from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from .conftest import T, express_order, pick_policy, picked, released


def run(*args: str) -> str:
    out = StringIO()
    call_command("evaluate_slas", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_breaches_it_opened(world):
    pick_policy()
    express_order(world)
    released(world)
    assert run("--now", T(13)).splitlines() == ["0 opened, 0 closed"]
    lines = run("--now", "2026-11-25T14:30:00Z").splitlines()
    assert lines[0].startswith("opened sla_breach pick-within-4h order SO-1 (exception ")
    assert lines[-1] == "1 opened, 0 closed"
    assert run("--now", T(15)).splitlines() == ["0 opened, 0 closed"]


def test_it_prints_what_it_closed(world):
    from apps.sla.models import Expectation

    pick_policy()
    express_order(world)
    released(world)
    picked(world, at=T(12))
    Expectation.objects.update(status="pending", met_at=None)  # as if the stop had been missed
    assert run("--now", T(15)).splitlines() == ["closed pick-within-4h order SO-1: met", "0 opened, 1 closed"]


def test_it_defaults_to_now(world):
    pick_policy()
    express_order(world)
    released(world)
    assert run().splitlines()[-1] == "1 opened, 0 closed"  # the frozen clock is the next day


def test_it_rejects_a_bad_time(db):
    with pytest.raises(CommandError, match="not an ISO-8601 time"):
        run("--now", "yesterday")
