"""`create_feed --transport poll` (http-api.md "Commands"): the flags make the feed's FeedPoll;
poll flags without the poll transport, or a poll feed without its URL, are refused with a
message and leave nothing behind."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import AuditLog
from apps.feeds.models import Feed, FeedPoll

pytestmark = pytest.mark.django_db

BASE = ["create_feed", "--slug", "carrier-x", "--partner", "Carrier X", "--system", "tms", "--format", "dcsa-tnt"]


def run(*flags: str) -> tuple[dict[str, str], str]:
    out, err = StringIO(), StringIO()
    call_command(*BASE, *flags, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_a_polled_feed_with_its_url_interval_and_headers():
    printed, said = run(
        "--transport",
        "poll",
        "--poll-url",
        "https://api.carrier-x.example/v2/events?eventType=TRANSPORT",
        "--poll-interval",
        "30",
        "--poll-header",
        "Authorization: Bearer s3cr3t",
        "--poll-header",
        "X-API-Key:  k-1 ",
    )
    assert set(printed) == {"slug", "token", "hmac_secret"}
    feed = Feed.objects.get(slug="carrier-x")
    assert feed.transport == "poll"
    poll = FeedPoll.objects.get(feed=feed)
    assert poll.url == "https://api.carrier-x.example/v2/events?eventType=TRANSPORT"
    assert poll.interval_seconds == 30
    assert poll.headers == {"Authorization": "Bearer s3cr3t", "X-API-Key": "k-1"}
    assert (poll.cursor_from, poll.cursor_name, poll.cursor_param, poll.cursor) == (
        "header",
        "Next-Page-Cursor",
        "cursor",
        "",
    )
    assert poll.next_poll_at is not None  # due at the first dispatch
    assert "every 30 s" in said
    audit = AuditLog.objects.get(action="feed.poll_configured", target="feed:carrier-x")
    assert audit.detail["headers"] == ["Authorization", "X-API-Key"]
    assert "s3cr3t" not in json.dumps(audit.detail)  # credentials stay out of the audit log
    assert "eventType" not in audit.detail["url"]


def test_the_interval_defaults_to_60_seconds_and_the_cursor_source_can_be_set():
    run(
        "--transport",
        "poll",
        "--poll-url",
        "http://wms.example/tasks",
        "--poll-cursor-from",
        "field",
        "--poll-cursor-name",
        "paging.next",
        "--poll-cursor-param",
        "after",
    )
    poll = FeedPoll.objects.get(feed__slug="carrier-x")
    assert (poll.interval_seconds, poll.headers) == (60, {})
    assert (poll.cursor_from, poll.cursor_name, poll.cursor_param) == ("field", "paging.next", "after")


def test_push_and_file_feeds_have_no_poll_settings():
    run()
    assert Feed.objects.get(slug="carrier-x").transport == "push"
    call_command(*BASE[:2], "files-y", *BASE[3:], "--transport", "file", stdout=StringIO())
    assert Feed.objects.get(slug="files-y").transport == "file"
    assert not FeedPoll.objects.exists()


@pytest.mark.parametrize(
    ("flags", "why"),
    [
        (["--poll-url", "https://x.example/e"], "--poll-url: only with --transport poll"),
        (["--transport", "push", "--poll-interval", "5"], "--poll-interval: only with --transport poll"),
        (["--poll-header", "A: b"], "--poll-header: only with --transport poll"),
        (["--transport", "poll"], "--transport poll needs --poll-url"),
        (["--transport", "poll", "--poll-url", "ftp://x.example/e"], "want an http:// or https:// URL"),
        (["--transport", "poll", "--poll-url", "https://x.example", "--poll-interval", "0"], "at least 1"),
        (["--transport", "poll", "--poll-url", "https://x.example", "--poll-header", "Bearer abc"], "'Name: value'"),
        (
            ["--transport", "poll", "--poll-url", "https://x.example", "--poll-cursor-from", "field"],
            "give the field's dotted path",
        ),
    ],
)
def test_flags_that_do_not_fit_are_refused_and_nothing_is_created(flags, why):
    with pytest.raises(CommandError, match=why):
        run(*flags)
    assert not Feed.objects.exists()
    assert not FeedPoll.objects.exists()
