"""`manage.py simulate` end to end: a live server, real HTTP, the messages stored and processed."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.pipeline.runner import message_process
from apps.simulator.management.commands.simulate import auto_prefix


def test_auto_prefix_is_short_and_changes_every_minute():
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert auto_prefix(at).isalnum()
    assert len(auto_prefix(at)) == 5
    assert auto_prefix(at) != auto_prefix(datetime(2026, 11, 25, 10, 1, tzinfo=UTC))


def test_a_dry_run_prints_the_world_and_sends_nothing():
    out = io.StringIO()
    call_command("simulate", "--orders", "30", "--dry-run", stdout=out)
    assert "30 orders" in out.getvalue()


@pytest.mark.django_db
def test_it_gives_up_when_no_server_answers():
    with pytest.raises(CommandError, match="no server"):
        call_command("simulate", "--base", "http://127.0.0.1:9", "--wait", "0.3", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_it_posts_a_world_to_a_live_server(live_server):
    out = io.StringIO()
    call_command(
        "simulate",
        "--orders", "25",
        "--rate", "0",
        "--batch-size", "100",
        "--base", live_server.url,
        "--id-prefix", "T1",
        "--wait", "5",
        "--concurrency", "1",  # the test database (in-memory SQLite) takes one writer at a time
        stdout=out,
    )  # fmt: skip
    output = out.getvalue()
    assert "events sent" in output
    messages = RawMessage.objects.filter(feed__slug__startswith="sim-")
    assert {m.feed.slug for m in messages} == {"sim-erp", "sim-wms", "sim-tms", "sim-lastmile"}
    for message in messages.filter(status=MessageStatus.RECEIVED):  # the worker's part, if not done eagerly
        message_process(message_id=message.id)
    messages = messages.all()
    assert all(m.status == MessageStatus.PROCESSED for m in messages)
    assert sum(m.accepted for m in messages) > 0
    rejected = [r for m in messages for r in m.rejections]
    assert rejected
    assert all(r["event_id"].startswith("bad-") for r in rejected)
