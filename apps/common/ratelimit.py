"""Throttles (docs/operations.md "Security"): failed attempts counted per client, and the API's
request rates.

`FailureLimit` counts failures only (a wrong password, a wrong feed token) in Django's cache —
Redis when REDIS_URL is set, so every web process sees the same counts; in-process otherwise.
Once a client has failed `limit` times within `window` seconds of its first failure, it is refused
(429, Retry-After) until that window ends, without its credentials being checked: a guesser gains
nothing by trying faster. Success does not clear an address's count (a guesser who also owns an
account must not reset it), only that of the username that logged in.

The API's request rates are DRF's throttles, with the rates read at each request (so a test's
settings apply) and a feed token counted per feed.
"""

import hashlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # DRF imports the throttle classes while it defines APIView
    from rest_framework.request import Request
    from rest_framework.views import APIView


def client_ip(request: HttpRequest) -> str:
    """The address the request came from. Behind the proxy, uvicorn (--proxy-headers, with
    FORWARDED_ALLOW_IPS naming the proxy) has already put the client's address here;
    X-Forwarded-For itself is never read, since any client can write it."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


@dataclass(frozen=True)
class FailureLimit:
    """`limit` failures within `window` seconds of the first one, per identity (an address, a
    username). The numbers are settings names, read at each call."""

    name: str
    limit_setting: str
    window_setting: str

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.limit_setting))

    @property
    def window(self) -> int:
        return max(1, int(getattr(settings, self.window_setting)))

    def _keys(self, identity: str) -> tuple[str, str]:
        # Hashed: usernames may hold spaces or be long, which some cache backends refuse in keys.
        digest = hashlib.sha256(identity.encode()).hexdigest()[:40]
        base = f"ratelimit:{self.name}:{digest}"
        return f"{base}:count", f"{base}:since"

    def retry_after(self, identity: str) -> int | None:
        """Seconds until this identity may try again; None when it may try now."""
        limit = self.limit
        if limit <= 0:  # 0 turns the limit off
            return None
        count_key, since_key = self._keys(identity)
        if int(cache.get(count_key) or 0) < limit:
            return None
        since = float(cache.get(since_key) or time.time())
        return max(1, math.ceil(since + self.window - time.time()))

    def fail(self, identity: str) -> None:
        count_key, since_key = self._keys(identity)
        window = self.window
        # The window opens at the first failure and closes `window` seconds later, counts and all.
        if cache.add(since_key, time.time(), timeout=window):
            cache.set(count_key, 0, timeout=window)
        cache.add(count_key, 0, timeout=window)
        try:
            cache.incr(count_key)
        except ValueError:  # expired between add and incr
            cache.set(count_key, 1, timeout=window)

    def clear(self, identity: str) -> None:
        cache.delete_many(list(self._keys(identity)))


LOGIN_PER_IP = FailureLimit("login-ip", "LOGIN_FAILURES_PER_IP", "LOGIN_FAILURE_WINDOW_SECONDS")
LOGIN_PER_USERNAME = FailureLimit("login-user", "LOGIN_FAILURES_PER_USERNAME", "LOGIN_FAILURE_WINDOW_SECONDS")
INGEST_TOKEN_PER_IP = FailureLimit(
    "ingest-token-ip", "INGEST_TOKEN_FAILURES_PER_IP", "INGEST_TOKEN_FAILURE_WINDOW_SECONDS"
)


def login_retry_after(request: HttpRequest, username: str) -> int | None:
    """Seconds this login attempt must wait (its address or its username failed too often)."""
    waits = [LOGIN_PER_IP.retry_after(client_ip(request))]
    if username:
        waits.append(LOGIN_PER_USERNAME.retry_after(username.casefold()))
    known = [w for w in waits if w is not None]
    return max(known) if known else None


def login_failed(request: HttpRequest, username: str) -> None:
    LOGIN_PER_IP.fail(client_ip(request))
    if username:
        LOGIN_PER_USERNAME.fail(username.casefold())


def login_succeeded(username: str) -> None:
    LOGIN_PER_USERNAME.clear(username.casefold())


# --- the API's request rates (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]) ------------------------


class _RatesFromSettings:
    """DRF binds THROTTLE_RATES when its module is imported; these read them at each request."""

    scope: str | None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)


class UserApiThrottle(_RatesFromSettings, UserRateThrottle):
    """Per user; a feed token (the read endpoints a feed may use) counts per feed."""

    def get_cache_key(self, request: "Request", view: "APIView") -> str | None:
        user = request.user
        if not (user and user.is_authenticated):
            return None
        # A feed's principal has no primary key; its str() is "feed:<slug>".
        ident = getattr(user, "pk", None) or str(user)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonApiThrottle(_RatesFromSettings, AnonRateThrottle):
    """Per client address, for requests without credentials."""
