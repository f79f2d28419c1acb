"""A feed's format settings: its code tables (the standard's, overridden per feed and
versioned), its custom-json mapping and its time zone, and the context an adapter reads with.

After a table or mapping change, `manage.py replay --feed S` re-derives the feed's events from
their raw messages; an event whose type changed is corrected in place (same event key), not
duplicated (apps/events/corrections.py)."""

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.accounts.services import audit_record
from apps.events.taxonomy import EVENT_TYPES
from apps.feeds.models import Feed, FeedCodeTable

from .formats import FORMATS, CodeBook, CodeTable, FeedContext
from .formats.base import IGNORE


class FormatSettingsError(ValueError):
    """A code table or mapping that cannot be saved; the message names what is wrong."""


def feed_code_tables(feed: Feed) -> tuple[CodeTable, ...]:
    """The tables the feed's overrides start from: its format's standard ones and, for a
    custom-json feed, those its mapping declares (so that an override can also remove a code)."""
    tables = FORMATS[feed.format].code_tables
    declared = (feed.mapping or {}).get("tables") if feed.format == "custom-json" else None
    if isinstance(declared, dict):
        tables += tuple(
            CodeTable(name=str(name), title="declared by the feed's mapping", entries=dict(entries))
            for name, entries in declared.items()
            if isinstance(entries, dict)
        )
    return tables


def feed_overrides(feed_id: int) -> dict[str, tuple[int, dict[str, str | None]]]:
    """The latest version of each table the feed overrides (one query)."""
    out: dict[str, tuple[int, dict[str, str | None]]] = {}
    rows = (
        FeedCodeTable.objects.filter(feed_id=feed_id)
        .order_by("table", "-version")
        .values_list("table", "version", "entries")
    )
    for table, version, entries in rows:
        if table not in out:
            out[table] = (version, dict(entries))
    return out


def feed_context(feed: Feed) -> FeedContext:
    """The context the feed's adapter reads with: its code book, mapping and time zone."""
    try:
        zone = ZoneInfo(feed.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    tables = feed_code_tables(feed)
    # canonical formats have no tables: no query on their hot path
    overrides = feed_overrides(feed.pk) if tables or feed.format == "custom-json" else {}
    return FeedContext(
        codes=CodeBook(tables, overrides),
        slug=feed.slug,
        system=feed.system,
        tz=zone,
        mapping=feed.mapping or None,
    )


def feed_code_table_summary(feed: Feed) -> list[dict[str, Any]]:
    """Each table of the feed's format: its title, how many codes it maps, the version in force."""
    context = feed_context(feed)
    return [
        {
            "name": t.name,
            "title": t.title,
            "codes": len(context.codes.entries(t.name)),
            "version": context.codes.version(t.name),
        }
        for t in feed_code_tables(feed)
    ]


def code_table_errors(feed: Feed, table: str, entries: Mapping[str, Any]) -> list[str]:
    names = {t.name for t in feed_code_tables(feed)}
    errors = []
    if table not in names and not (feed.format == "custom-json" and table.startswith("custom.")):
        known = ", ".join(sorted(names)) or "none"
        errors.append(f"table {table!r} is not a code table of the {feed.format} format (its tables: {known})")
    if not isinstance(entries, Mapping):
        return [*errors, "entries: want an object of code → canonical type"]
    for code, value in entries.items():
        if not str(code).strip():
            errors.append("entries: empty code")
        elif value is not None and not isinstance(value, str):
            errors.append(f"entries.{code}: want a canonical event type, {IGNORE!r} or null, not {value!r}")
        elif value is not None and value != IGNORE and value not in EVENT_TYPES:
            errors.append(
                f"entries.{code}: {value!r} is not a canonical event type (or {IGNORE!r}, or null to remove a default)"
            )
    return errors


def code_table_set(
    *, feed: Feed, table: str, entries: Mapping[str, Any], actor: object = None, note: str = ""
) -> FeedCodeTable:
    """A new version of the feed's override of `table` (audited). Raises FormatSettingsError."""
    errors = code_table_errors(feed, table, entries)
    if errors:
        raise FormatSettingsError("; ".join(errors))
    clean = {str(code).strip(): value for code, value in entries.items()}
    for _ in range(3):  # two admins saving at once: the version constraint decides, retry
        try:
            with transaction.atomic():
                latest = FeedCodeTable.objects.filter(feed=feed, table=table).aggregate(v=Max("version"))["v"] or 0
                row = FeedCodeTable.objects.create(
                    feed=feed,
                    table=table,
                    version=latest + 1,
                    entries=clean,
                    note=note[:500],
                    created_by=actor if isinstance(actor, get_user_model()) else None,
                )
                audit_record(
                    actor=actor,
                    action="feed.code_table_changed",
                    target=f"feed:{feed.slug}",
                    detail={"table": table, "version": row.version, "codes": len(clean)},
                )
            return row
        except IntegrityError:
            continue
    raise FormatSettingsError(f"table {table} is being changed by someone else; try again")


def feed_mapping_set(*, feed: Feed, mapping: Mapping[str, Any], actor: object = None) -> None:
    """Replace a custom-json feed's mapping (validated, audited). Raises FormatSettingsError."""
    from .formats.custom_json import mapping_errors

    if feed.format != "custom-json":
        raise FormatSettingsError(f"feed {feed.slug} speaks {feed.format}; only custom-json feeds have a mapping")
    errors = mapping_errors(dict(mapping))
    if errors:
        raise FormatSettingsError("; ".join(errors))
    with transaction.atomic():
        Feed.objects.filter(pk=feed.pk).update(mapping=dict(mapping))
        audit_record(actor=actor, action="feed.mapping_changed", target=f"feed:{feed.slug}")
    feed.mapping = dict(mapping)
