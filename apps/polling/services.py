"""The polling transport's public functions (see the package's docstring)."""

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
