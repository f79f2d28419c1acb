"""A feed of each format: created with `create_feed --format F`, answering 415 to a content type
that does not fit it, with code tables a feed overrides (versioned, audited)."""

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from apps.accounts.models import AuditLog
from apps.feeds.choices import FeedFormat
from apps.feeds.models import Feed, FeedCodeTable
from apps.ingestion.feed_formats import FormatSettingsError, code_table_set, feed_context
from apps.ingestion.formats import FORMATS
from apps.ingestion.models import RawMessage
from tests.factories import FeedFactory, UserFactory

pytestmark = pytest.mark.django_db

WRONG_TYPE = {
    "canonical-json": "text/csv",
    "canonical-csv": "application/json",
    "x12": "application/json",
    "edifact": "application/xml",
    "epcis": "text/csv",
    "dcsa-tnt": "application/xml",
    "carrier-webhook": "text/plain",
    "custom-json": "application/edi-x12",
}


def test_every_format_has_an_adapter_and_a_choice() -> None:
    assert set(FORMATS) == set(FeedFormat.values) == set(WRONG_TYPE)


@pytest.mark.parametrize("fmt", sorted(WRONG_TYPE))
def test_create_feed_takes_every_format(fmt: str, capsys: Any) -> None:
    call_command("create_feed", "--slug", f"f-{fmt}", "--partner", "P", "--system", "tms", "--format", fmt)
    creds = json.loads(capsys.readouterr().out)
    assert creds["slug"] == f"f-{fmt}"
    assert creds["token"].startswith("ctf_")
    assert Feed.objects.get(slug=f"f-{fmt}").format == fmt


@pytest.mark.parametrize("fmt", sorted(WRONG_TYPE))
def test_a_content_type_that_does_not_fit_the_feed_is_415(fmt: str, post_events: Any) -> None:
    feed = FeedFactory(format=fmt)
    response = post_events(feed, None, raw=b"x", content_type=WRONG_TYPE[fmt])
    assert response.status_code == 415
    assert "this feed takes" in response.json()["detail"]
    assert RawMessage.objects.count() == 0


def test_create_feed_refuses_an_unknown_zone_and_a_mapping_for_another_format(tmp_path: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown zone"):
        call_command(
            "create_feed",
            "--slug",
            "z",
            "--partner",
            "P",
            "--system",
            "tms",
            "--format",
            "x12",
            "--timezone",
            "Mars/Olympus",
        )
    mapping = tmp_path / "m.json"
    mapping.write_text("{}")
    with pytest.raises(CommandError, match="custom-json"):
        call_command(
            "create_feed",
            "--slug",
            "z",
            "--partner",
            "P",
            "--system",
            "tms",
            "--format",
            "x12",
            "--mapping",
            str(mapping),
        )


def test_a_feed_overrides_a_standard_table_in_versions() -> None:
    feed = FeedFactory(format="x12", system="tms")
    admin = UserFactory(role="admin")
    standard = feed_context(feed).codes
    assert standard.version("x12.at7") == 0
    assert standard.lookup("x12.at7", "ZZ") is None
    first = code_table_set(feed=feed, table="x12.at7", entries={"ZZ": "shipment.delayed"}, actor=admin, note="ACME")
    second = code_table_set(feed=feed, table="x12.at7", entries={"ZZ": "shipment.arrived", "X1": None}, actor=admin)
    assert (first.version, second.version) == (1, 2)
    codes = feed_context(feed).codes
    assert codes.version("x12.at7") == 2
    assert codes.lookup("x12.at7", "ZZ") == "shipment.arrived"
    assert codes.lookup("x12.at7", "X1") is None  # removed from the standard's table by this feed
    assert "code 'X1' is not in code table x12.at7 (version 2)" in codes.unmapped("x12.at7", "X1")
    assert FeedCodeTable.objects.filter(feed=feed).count() == 2  # the first version is kept
    assert AuditLog.objects.filter(action="feed.code_table_changed").count() == 2
    # another feed of the same format still reads the standard's table
    assert feed_context(FeedFactory(format="x12")).codes.lookup("x12.at7", "X1") is not None


def test_a_code_table_change_that_is_not_canonical_is_refused() -> None:
    feed = FeedFactory(format="x12")
    with pytest.raises(FormatSettingsError, match="not a canonical event type"):
        code_table_set(feed=feed, table="x12.at7", entries={"ZZ": "shipment.teleported"})
    with pytest.raises(FormatSettingsError, match="not a code table of the x12 format"):
        code_table_set(feed=feed, table="edifact.iftsta", entries={"1": "shipment.arrived"})
    assert FeedCodeTable.objects.count() == 0


def test_set_code_table_command_maps_unmaps_and_shows(capsys: Any) -> None:
    feed = FeedFactory(format="x12")
    call_command("set_code_table", "--feed", feed.slug, "--table", "x12.at7", "--map", "ZZ=shipment.delayed")
    call_command("set_code_table", "--feed", feed.slug, "--table", "x12.at7", "--unmap", "X1")
    assert "version 2" in capsys.readouterr().out
    call_command("set_code_table", "--feed", feed.slug, "--table", "x12.at7", "--show")
    shown = capsys.readouterr().out
    assert '"ZZ": "shipment.delayed"' in shown
    assert '"X1"' not in shown


def test_the_feed_page_lists_its_code_tables(client: Client) -> None:
    feed = FeedFactory(format="x12")
    code_table_set(feed=feed, table="x12.at7", entries={"ZZ": "shipment.delayed"})
    client.force_login(UserFactory(role="admin"))
    page = client.get(f"/feeds/{feed.slug}/").content.decode()
    assert 'id="code-tables"' in page
    assert "x12.at7" in page
    assert "feed's version 1" in page
