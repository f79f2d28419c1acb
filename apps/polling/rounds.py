"""Polling rounds: which feeds are due, claiming them, and one round of one feed.

A round GETs the feed's URL from its cursor, stores each page as a message through
`ingestion.services.message_receive` (exactly as a pushed body: same idempotency, so a page
fetched twice gives duplicates, not new events) and saves the next cursor in the same
transaction, then follows the cursor while the partner says there is more: until a page says
nothing more, or ROUND_MAX_PAGES pages or ROUND_MAX_SECONDS (then the feed is due again at
once, behind the feeds that have waited longer).

Failures (every one in last_status / last_error / consecutive_failures): 5xx, timeouts, network
errors and other refusals back off (`backoff`); 429 waits its Retry-After; 401/403 count as auth
failures, and AUTH_FAILURES_TO_PAUSE in a row pause the feed with an `ingestion` case saying
why (`exceptions.services.system.poll_failure_record`), resolved when a round succeeds again.

Claims: a claimed feed's next_poll_at is a lease CLAIM_LEASE ahead, and every write of the round
is compare-and-set on that lease: a round that lost its feed (a stale task, settings changed)
stops without writing anything."""

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from apps.common.logging import log_context
from apps.common.time import now
from apps.exceptions.services.system import poll_failure_record, poll_failure_resolve
from apps.feeds.choices import FeedTransport
from apps.feeds.models import Feed, FeedPoll
from apps.feeds.services import feed_set_paused
from apps.ingestion.feed_formats import feed_context
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody
from apps.ingestion.services import message_receive

from .config import display_url
from .fetch import (
    CursorRefused,
    Page,
    PageTooLarge,
    client_open,
    is_url,
    next_cursor,
    page_fetch,
    retry_after,
    url_with_cursor,
)

logger = logging.getLogger(__name__)

ROUND_MAX_PAGES = 100
ROUND_MAX_SECONDS = 120.0  # well inside the task's soft time limit (240 s)
CLAIM_LEASE = timedelta(minutes=10)  # longer than any round runs (the task's hard limit is 300 s)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=15)
BACKOFF_JITTER = 0.2
RETRY_AFTER_CAP = timedelta(hours=1)  # a partner's Retry-After of a week is not taken at its word
AUTH_FAILURES_TO_PAUSE = 3
DUE_PER_DISPATCH = 200
DEFAULT_TIMEOUT_SECONDS = 10.0
AUTH_CASE_CODE = "poll_auth"
ERROR_MAX_CHARS = 2000

_jitter = random.Random()  # noqa: S311 (spreads retries; not security)


class LostClaim(Exception):
    """Another round (or a settings change) took the feed: this round writes nothing more."""


@dataclass
class RoundResult:
    """What one round did. outcome: drained (nothing more now), more (page cap reached: due
    again at once), failed (backing off), paused (paused now, or found paused), skipped (not
    this round's feed any more) or lost (lost its claim mid-round)."""

    feed: str
    outcome: str
    pages: int = 0
    messages: list[str] = field(default_factory=list)
    status: int | None = None
    error: str = ""
    next_poll_at: datetime | None = None


def timeout_seconds() -> float:
    """Per request (connect, each read): settings.FEED_POLL_TIMEOUT_SECONDS, default 10 s."""
    return float(getattr(settings, "FEED_POLL_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def backoff(failures: int) -> timedelta:
    """The wait after the n-th failure in a row: 30 s, 1, 2, 4, 8 min, then 15 min, each ±20 %
    (feeds failing together do not retry together), never more than 15 min."""
    base = BACKOFF_BASE * 2 ** min(max(failures, 1) - 1, 16)
    wait = base * _jitter.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    return wait if wait <= BACKOFF_CAP else BACKOFF_CAP * _jitter.uniform(1 - BACKOFF_JITTER, 1)


# --- claims -----------------------------------------------------------------------------------


def _claim(feed_id: int, current: datetime | None, lease: datetime) -> bool:
    rows = FeedPoll.objects.filter(feed_id=feed_id)
    rows = rows.filter(next_poll_at__isnull=True) if current is None else rows.filter(next_poll_at=current)
    return rows.update(next_poll_at=lease) == 1


def polls_claim_due(*, at: datetime | None = None, limit: int = DUE_PER_DISPATCH) -> list[tuple[int, datetime]]:
    """Claim the feeds due for a round — polled, not paused, next_poll_at passed or never set —
    longest waiting first; (feed id, lease) of each. Rows another dispatcher has locked are
    skipped (PostgreSQL), and each claim is compare-and-set on next_poll_at, so two dispatchers
    never claim one feed."""
    at = at or now()
    lease = at + CLAIM_LEASE
    claimed = []
    with transaction.atomic():
        due = (
            FeedPoll.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(feed__transport=FeedTransport.POLL, feed__paused_at__isnull=True)
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=at))
            .order_by(F("next_poll_at").asc(nulls_first=True), "feed_id")
            .values_list("feed_id", "next_poll_at")[:limit]
        )
        for feed_id, current in list(due):
            if _claim(feed_id, current, lease):
                claimed.append((feed_id, lease))
    return claimed


def poll_claim(*, feed_id: int, at: datetime | None = None, force: bool = False) -> datetime | None:
    """Claim one feed (its lease), when due or when `force` ("poll now": a round in progress
    then stops at its next page). None: not due, or another claim won."""
    at = at or now()
    rows = list(FeedPoll.objects.filter(pk=feed_id).values_list("next_poll_at", flat=True))
    if not rows or (not force and rows[0] is not None and rows[0] > at):
        return None
    lease = at + CLAIM_LEASE
    return lease if _claim(feed_id, rows[0], lease) else None


def poll_now(*, feed: Feed) -> RoundResult:
    """One round of `feed` here and now, whether due or not (tests, a "poll now" button)."""
    lease = poll_claim(feed_id=feed.pk, force=True)
    if lease is None:
        return RoundResult(feed=feed.slug, outcome="skipped")
    return poll_round(feed_id=feed.pk, lease=lease)


# --- a round ------------------------------------------------------------------------------------


def poll_round(*, feed_id: int, lease: datetime) -> RoundResult:
    """One round of a claimed feed; `lease` proves the claim (from polls_claim_due/poll_claim)."""
    poll = FeedPoll.objects.select_related("feed").filter(pk=feed_id).first()
    if poll is None or poll.next_poll_at != lease:
        return RoundResult(feed=str(feed_id), outcome="skipped")
    with log_context(feed=poll.feed.slug):
        try:
            result = _Round(poll, lease).run()
        except LostClaim:
            result = RoundResult(feed=poll.feed.slug, outcome="lost")
        logger.info(
            "poll round %s",
            result.outcome,
            extra={"pages": result.pages, "messages": len(result.messages), "status": result.status},
        )
    return result


def _has_events(feed: Feed, body: bytes, context: FeedContext) -> bool:
    """An empty page (no bytes, or no events in it) is stored as nothing."""
    if not body.strip():
        return False
    try:
        return FORMATS[feed.format].count(body, context) > 0
    except UnreadableBody:
        return True  # message_receive keeps it as a rejected message


class _Round:
    def __init__(self, poll: FeedPoll, lease: datetime) -> None:
        self.poll, self.feed, self.lease = poll, poll.feed, lease
        self.result = RoundResult(feed=poll.feed.slug, outcome="drained")
        self.notes: list[str] = []

    def run(self) -> RoundResult:
        poll, feed = self.poll, self.feed
        if feed.is_paused or feed.transport != FeedTransport.POLL:
            return self._save("paused", next_poll_at=now() + timedelta(seconds=poll.interval_seconds))
        context = feed_context(feed)
        limit = min(feed.max_body_bytes, settings.INGEST_MAX_BODY_BYTES)
        started = time.monotonic()
        cursor, url = poll.cursor, poll.url
        try:
            with client_open(poll.headers, timeout_seconds()) as client:
                while True:
                    url = self._request_url(cursor)
                    page = page_fetch(client, url, limit=limit)
                    if not page.ok:
                        return self._refused(page, url)
                    following = next_cursor(
                        page, cursor_from=poll.cursor_from, cursor_name=poll.cursor_name, request_url=url
                    )
                    self._store(page, context, following or cursor, url)
                    if following is None or following == cursor:
                        return self._succeeded(page.status, drained=True)
                    cursor = following
                    if self.result.pages >= ROUND_MAX_PAGES or time.monotonic() - started >= ROUND_MAX_SECONDS:
                        return self._succeeded(page.status, drained=False)
        except httpx.TimeoutException:
            return self._failed(None, f"timed out after {timeout_seconds():g} s: GET {display_url(url)}")
        except httpx.HTTPError as exc:
            return self._failed(None, f"could not reach the partner ({exc}): GET {display_url(url)}")
        except (PageTooLarge, CursorRefused) as exc:
            return self._failed(200, f"{exc}: GET {display_url(url)}")

    def _request_url(self, cursor: str) -> str:
        if not cursor:
            return self.poll.url
        if is_url(cursor):  # a Link header's (or a field's) next-page URL: taken as it is
            return cursor
        return url_with_cursor(self.poll.url, self.poll.cursor_param, cursor)

    def _store(self, page: Page, context: FeedContext, cursor: str, url: str) -> None:
        """The page as a message (unless empty) and the cursor after it, in one transaction:
        a crash stores both or neither, so a restart fetches no page twice into new events."""
        number = self.result.pages + 1
        with transaction.atomic():
            if _has_events(self.feed, page.body, context):
                content_type = page.headers.get("Content-Type") or FORMATS[self.feed.format].content_types[0]
                try:
                    message = message_receive(feed=self.feed, body=page.body, content_type=content_type[:200])
                    self.result.messages.append(str(message.id))
                except UnreadableBody as exc:
                    self.notes.append(
                        f"page {number} (GET {display_url(url)}) could not be read, kept as a rejected message: {exc}"
                    )
            saved = FeedPoll.objects.filter(pk=self.poll.pk, next_poll_at=self.lease).update(
                cursor=cursor, pages=F("pages") + 1, last_polled_at=now()
            )
            if not saved:
                raise LostClaim
        self.result.pages = number

    def _refused(self, page: Page, url: str) -> RoundResult:
        status, where = page.status, f"GET {display_url(url)}"
        detail = f": {page.snippet}" if page.snippet else ""
        if status in (401, 403):
            return self._auth_failed(page, where, detail)
        if status == 429:
            wait = retry_after(page.headers.get("Retry-After"), now())
            said = f", Retry-After {page.headers['Retry-After']}" if wait is not None else ", no Retry-After"
            delay = min(wait, RETRY_AFTER_CAP) if wait is not None else None
            return self._failed(429, f"HTTP 429 (rate limited{said}) from {where}", delay=delay)
        if 300 <= status < 400:
            location = page.headers.get("Location", "?")
            return self._failed(
                status,
                f"HTTP {status} from {where}: redirected to {display_url(location)}; redirects are not followed, "
                "set the poll URL to the final address",
            )
        return self._failed(status, f"HTTP {status} from {where}{detail}")

    def _failed(self, status: int | None, error: str, *, delay: timedelta | None = None) -> RoundResult:
        failures = self.poll.consecutive_failures + 1
        at = now()
        self.result.status, self.result.error = status, error
        return self._save(
            "failed",
            last_status=status,
            last_error="; ".join([error, *self.notes])[:ERROR_MAX_CHARS],
            consecutive_failures=failures,
            auth_failures=self.poll.auth_failures + (status in (401, 403)),
            last_polled_at=at,
            next_poll_at=at + (delay if delay is not None else backoff(failures)),
        )

    def _auth_failed(self, page: Page, where: str, detail: str) -> RoundResult:
        refusals = self.poll.auth_failures + 1
        if refusals < AUTH_FAILURES_TO_PAUSE:
            return self._failed(
                page.status, f"HTTP {page.status} from {where}: credentials refused ({refusals} in a row){detail}"
            )
        reason = (
            f"Polling paused after {refusals} refusals in a row: HTTP {page.status} from {where}{detail}. "
            "Check the feed's poll headers (its credentials with the partner), then resume the feed."
        )
        at = now()
        self.result.status, self.result.error = page.status, reason
        with transaction.atomic():
            result = self._save(
                "paused",
                last_status=page.status,
                last_error=reason[:ERROR_MAX_CHARS],
                consecutive_failures=self.poll.consecutive_failures + 1,
                auth_failures=refusals,
                last_polled_at=at,
                next_poll_at=at,  # due as soon as someone resumes it
            )
            feed_set_paused(feed=self.feed, paused=True, actor="polling")
            poll_failure_record(self.feed, code=AUTH_CASE_CODE, reason=reason, at=at)
        return result

    def _succeeded(self, status: int, *, drained: bool) -> RoundResult:
        at = now()
        self.result.status = status
        result = self._save(
            "drained" if drained else "more",
            last_status=status,
            last_error="; ".join(self.notes)[:ERROR_MAX_CHARS],
            last_success_at=at,
            last_polled_at=at,
            consecutive_failures=0,
            auth_failures=0,
            next_poll_at=at + timedelta(seconds=self.poll.interval_seconds) if drained else at,
        )
        poll_failure_resolve(self.feed, at=at)
        return result

    def _save(self, outcome: str, **fields: Any) -> RoundResult:
        """The round's end, compare-and-set on the lease (LostClaim when it is not ours)."""
        if not FeedPoll.objects.filter(pk=self.poll.pk, next_poll_at=self.lease).update(**fields):
            raise LostClaim
        self.result.outcome = outcome
        self.result.next_poll_at = fields.get("next_poll_at")
        return self.result
