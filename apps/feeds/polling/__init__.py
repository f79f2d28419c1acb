"""The polling transport (http-api.md "Polled feeds"; docs/polling.md): feeds the control
tower pulls from the partner's URL on a schedule, instead of waiting for the partner to push.

* config.py — the settings (URL, interval, headers, where the cursor is), validated and audited;
* fetch.py — one GET: the page, its next cursor (header, Link or JSON field), Retry-After;
* rounds.py — which feeds are due and claiming them; one round of one feed, its backoff.

Polling is a client of the intake, like the ingest API's view: it sits above `ingestion` (each
page goes through `message_receive`) and `exceptions` (the case of a feed paused for refused
credentials), although it lives with the feeds it serves. The beat entry `poll-feeds` runs
`feeds.poll_due` every 10 s, which queues one `feeds.poll_feed` task per feed round."""

from .config import (
    CURSOR_SOURCES,
    DEFAULT_INTERVAL_SECONDS,
    PollSettingsError,
    display_url,
    header_parse,
    headers_parse,
    poll_configure,
    poll_settings_errors,
)
from .rounds import (
    AUTH_CASE_CODE,
    AUTH_FAILURES_TO_PAUSE,
    BACKOFF_BASE,
    BACKOFF_CAP,
    ROUND_MAX_PAGES,
    RoundResult,
    backoff,
    poll_claim,
    poll_now,
    poll_round,
    polls_claim_due,
)

__all__ = [
    "AUTH_CASE_CODE",
    "AUTH_FAILURES_TO_PAUSE",
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CURSOR_SOURCES",
    "DEFAULT_INTERVAL_SECONDS",
    "ROUND_MAX_PAGES",
    "PollSettingsError",
    "RoundResult",
    "backoff",
    "display_url",
    "header_parse",
    "headers_parse",
    "poll_claim",
    "poll_configure",
    "poll_now",
    "poll_round",
    "poll_settings_errors",
    "polls_claim_due",
]
