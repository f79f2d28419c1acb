"""A polled feed's settings (http-api.md "Polled feeds"): validated, stored on its FeedPoll row,
audited. The `create_feed --transport poll` flags and the onboarding pages both come here."""

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from apps.accounts.services import audit_record
from apps.common.time import now
from apps.feeds.choices import FeedTransport
from apps.feeds.models import Feed, FeedPoll

DEFAULT_INTERVAL_SECONDS = 60
# Where the next page's cursor is read, and the name it is read under by default.
CURSOR_SOURCES: dict[str, str] = {
    "header": "Next-Page-Cursor",  # a response header holding the cursor (the reference behaviour)
    "link": "next",  # the rel of a `Link: <url>; rel="next"` header: the next page's whole URL
    "field": "",  # a dotted path into the JSON body, e.g. `metadata.next_cursor`: no default
}
DEFAULT_CURSOR_PARAM = "cursor"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110 token)
_FIELD_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")


class PollSettingsError(ValueError):
    """Settings that cannot be saved; the message names every problem."""


def header_parse(line: str) -> tuple[str, str]:
    """`"Name: value"` → (name, value). Raises PollSettingsError naming what is wrong."""
    name, colon, value = line.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not name:
        raise PollSettingsError(f"header {line!r}: want 'Name: value', e.g. 'Authorization: Bearer <token>'")
    if not _TOKEN.match(name):
        raise PollSettingsError(f"header {name!r}: not a valid header name")
    if "\r" in value or "\n" in value:
        raise PollSettingsError(f"header {name}: a value may not contain a line break")
    return name, value


def headers_parse(lines: Iterable[str]) -> dict[str, str]:
    """Every `"Name: value"` line → a dict (a name given twice: the last value counts)."""
    return dict(header_parse(line) for line in lines)


def poll_settings_errors(
    *,
    url: str,
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
    headers: Mapping[str, str] | None = None,
    cursor_from: str = "header",
    cursor_name: str = "",
    cursor_param: str = DEFAULT_CURSOR_PARAM,
) -> list[str]:
    """Everything wrong with these settings, in words (empty: they can be saved)."""
    errors = []
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors.append(f"poll URL {url!r}: want an http:// or https:// URL")
    if len(url) > FeedPoll._meta.get_field("url").max_length:  # type: ignore[operator]
        errors.append("poll URL: at most 1,000 characters")
    if not isinstance(interval_seconds, int) or interval_seconds < 1:
        errors.append(f"poll interval {interval_seconds!r}: want a whole number of seconds, at least 1")
    for name, value in (headers or {}).items():
        try:
            header_parse(f"{name}: {value}")
        except PollSettingsError as exc:
            errors.append(str(exc))
    if cursor_from not in CURSOR_SOURCES:
        errors.append(f"cursor source {cursor_from!r}: want one of {', '.join(CURSOR_SOURCES)}")
    elif cursor_from == "field" and not _FIELD_PATH.match(cursor_name or ""):
        errors.append("cursor from a response field: give the field's dotted path, e.g. metadata.next_cursor")
    elif cursor_from == "header" and cursor_name and not _TOKEN.match(cursor_name):
        errors.append(f"cursor header {cursor_name!r}: not a valid header name")
    if not _TOKEN.match(cursor_param or ""):
        errors.append(f"cursor query parameter {cursor_param!r}: want a plain name such as 'cursor'")
    return errors


def poll_configure(
    *,
    feed: Feed,
    url: str,
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
    headers: Mapping[str, str] | None = None,
    cursor_from: str = "header",
    cursor_name: str = "",
    cursor_param: str = DEFAULT_CURSOR_PARAM,
    reset_cursor: bool = False,
    actor: object = None,
) -> FeedPoll:
    """Make `feed` a polled feed with these settings (or change them), due at the next dispatch.

    The cursor is kept (the partner goes on from where it was) unless `reset_cursor`, or the
    cursor source changes (a header's token and a Link's URL do not mean the same). New headers
    (new credentials) start the count of auth failures again. Raises PollSettingsError."""
    errors = poll_settings_errors(
        url=url,
        interval_seconds=interval_seconds,
        headers=headers,
        cursor_from=cursor_from,
        cursor_name=cursor_name,
        cursor_param=cursor_param,
    )
    if errors:
        raise PollSettingsError("; ".join(errors))
    clean_headers = dict(header_parse(f"{name}: {value}") for name, value in (headers or {}).items())
    values: dict[str, Any] = {
        "url": url,
        "interval_seconds": interval_seconds,
        "headers": clean_headers,
        "cursor_from": cursor_from,
        "cursor_name": cursor_name or CURSOR_SOURCES[cursor_from],
        "cursor_param": cursor_param,
        # Due at once; a round holding the old settings loses its claim at its next page.
        "next_poll_at": now(),
    }
    with transaction.atomic():
        Feed.objects.filter(pk=feed.pk).update(transport=FeedTransport.POLL)
        feed.transport = FeedTransport.POLL
        current = FeedPoll.objects.select_for_update().filter(feed=feed).first()
        if current is None:
            poll = FeedPoll.objects.create(feed=feed, **values)
        else:
            if reset_cursor or current.cursor_from != cursor_from:
                values["cursor"] = ""
            if current.headers != clean_headers:
                values["auth_failures"] = 0
            FeedPoll.objects.filter(pk=current.pk).update(**values)
            poll = FeedPoll.objects.get(pk=current.pk)
        audit_record(
            actor=actor,
            action="feed.poll_configured",
            target=f"feed:{feed.slug}",
            # Header values and the URL's query are credentials often: never in the audit log.
            detail={
                "url": display_url(url),
                "interval_seconds": interval_seconds,
                "headers": sorted(clean_headers),
                "cursor_from": cursor_from,
                "cursor_reset": "cursor" in values,
            },
        )
    return poll


def display_url(url: str) -> str:
    """The URL without its query and credentials (an API key in `?key=…`): for errors and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}" + ("?…" if parts.query else "")
