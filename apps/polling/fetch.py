"""One page from a partner: the GET (size-limited), where its next cursor is, and Retry-After."""

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

import httpx
import orjson

USER_AGENT = "controltower-poll/1"
ERROR_SNIPPET_BYTES = 300


class PageTooLarge(Exception):
    """The page is larger than the feed takes in one body."""


class CursorRefused(Exception):
    """The partner's next-page link points somewhere the feed's headers must not go."""


@dataclass(frozen=True)
class Page:
    """A response as far as polling needs it. `body` is the whole body of a 2xx (at most the
    limit), else the start of it (for the error text)."""

    status: int
    body: bytes
    headers: httpx.Headers
    links: dict[str | None, dict[str, str]]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def snippet(self) -> str:
        text = self.body[:ERROR_SNIPPET_BYTES].decode("utf-8", errors="replace").strip()
        return " ".join(text.split())


def client_open(headers: dict[str, str], timeout: float) -> httpx.Client:
    """The round's client: the feed's headers on every request, no redirects followed (a
    redirect would carry an API-key header to wherever it points)."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT, "Accept": "*/*", **headers},
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
    )


def page_fetch(client: httpx.Client, url: str, *, limit: int) -> Page:
    """GET `url`. Raises httpx.TimeoutException / httpx.HTTPError (network), PageTooLarge."""
    with client.stream("GET", url) as response:
        if not response.is_success:
            first = next(response.iter_bytes(), b"")
            return Page(response.status_code, first[:ERROR_SNIPPET_BYTES], response.headers, response.links)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PageTooLarge(
                f"the page is {int(declared):,} bytes; this feed takes at most {limit:,} bytes in one body"
            )
        chunks, size = [], 0
        for chunk in response.iter_bytes():  # decoded: a gzip bomb is cut at the limit too
            size += len(chunk)
            if size > limit:
                raise PageTooLarge(
                    f"the page is over {limit:,} bytes; this feed takes at most {limit:,} bytes in one body"
                )
            chunks.append(chunk)
        return Page(response.status_code, b"".join(chunks), response.headers, response.links)


def url_with_cursor(url: str, param: str, cursor: str) -> str:
    """`url` with `param=<cursor>` in its query, replacing a value it had; the URL's own query
    parameters are kept byte for byte."""
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and unquote_plus(p.partition("=")[0]) != param]
    kept.append(f"{quote(param, safe='')}={quote(cursor, safe='')}")
    return urlunsplit(parts._replace(query="&".join(kept)))


def same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def next_cursor(page: Page, *, cursor_from: str, cursor_name: str, request_url: str) -> str | None:
    """The cursor of the page after this one, None when this page is the last one.

    `header`: the header's value (a token for `?cursor=`). `link`: the `rel` link's URL,
    resolved against the request. `field`: the value at the dotted path in the JSON body; a
    value that is a URL is used as the next page's URL. A URL to another scheme or host than
    the request's is refused (CursorRefused): the feed's credentials go to its partner only."""
    value: str | None
    if cursor_from == "header":
        value = page.headers.get(cursor_name, "").strip() or None
    elif cursor_from == "link":
        link = page.links.get(cursor_name or "next", {}).get("url", "").strip()
        value = urljoin(request_url, link) if link else None
    else:
        value = field_value(page.body, cursor_name)
        if value is not None and value.startswith("/"):
            value = urljoin(request_url, value)
    if value is not None and is_url(value) and not same_origin(value, request_url):
        raise CursorRefused(f"the next page's link points to another host ({urlsplit(value).netloc}); refused")
    return value


def is_url(cursor: str) -> bool:
    return cursor.startswith(("http://", "https://"))


def field_value(body: bytes, path: str) -> str | None:
    """The string or number at `a.b.0.c` in a JSON body; None when absent, null or empty."""
    try:
        node: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    for key in path.split("."):
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    if isinstance(node, bool) or not isinstance(node, str | int | float):
        return None
    return str(node).strip() or None


def retry_after(value: str | None, at: datetime) -> timedelta | None:
    """`Retry-After`: seconds, or an HTTP date; None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": no zone said; an HTTP date is GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(when - at, timedelta(0))
