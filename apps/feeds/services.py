"""Feed lifecycle and the checks every ingest request passes (token, signature, rate)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from apps.accounts.services import audit_record
from apps.common.time import now

from .models import Feed, Partner, SignatureNonce

SIGNATURE_HEADER = "X-CT-Signature"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class FeedCredentials:
    slug: str
    token: str
    hmac_secret: str


def feed_create(
    *,
    slug: str,
    partner_name: str,
    system: str,
    format: str,
    require_signature: bool = False,
    actor: object = None,
    timezone: str = "UTC",
    mapping: dict[str, Any] | None = None,
) -> FeedCredentials:
    token = "ctf_" + secrets.token_urlsafe(32)
    secret = secrets.token_hex(32)
    with transaction.atomic():
        partner, _ = Partner.objects.get_or_create(name=partner_name)
        Feed.objects.create(
            slug=slug,
            partner=partner,
            system=system,
            format=format,
            token_hash=token_hash(token),
            token_prefix=token[:10],
            hmac_secret=secret,
            require_signature=require_signature,
            timezone=timezone,
            mapping=mapping or {},
        )
        audit_record(
            actor=actor, action="feed.created", target=f"feed:{slug}", detail={"system": system, "format": format}
        )
    return FeedCredentials(slug=slug, token=token, hmac_secret=secret)


def feed_rotate_token(*, feed: Feed, actor: object = None) -> FeedCredentials:
    """A new token (the old one stops working at once); the HMAC secret is kept."""
    token = "ctf_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        Feed.objects.filter(pk=feed.pk).update(token_hash=token_hash(token), token_prefix=token[:10])
        audit_record(actor=actor, action="feed.token_rotated", target=f"feed:{feed.slug}")
    return FeedCredentials(slug=feed.slug, token=token, hmac_secret=feed.hmac_secret)


def feed_set_paused(*, feed: Feed, paused: bool, actor: object = None) -> bool:
    """Compare-and-set: returns False when the feed already was in that state."""
    qs = Feed.objects.filter(pk=feed.pk, paused_at__isnull=paused)
    changed = qs.update(paused_at=now() if paused else None) == 1
    if changed:
        audit_record(actor=actor, action="feed.paused" if paused else "feed.resumed", target=f"feed:{feed.slug}")
    return changed


class IngestRefused(Exception):
    """An ingest request that is refused before anything is stored."""

    def __init__(self, status: int, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


def feed_authenticate(*, slug: str, authorization: str) -> Feed:
    """401 for a missing or wrong token; 403 for another feed's token or a paused feed."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise IngestRefused(401, "missing feed token: send 'Authorization: Bearer <feed token>'")
    feed = Feed.objects.select_related("partner").filter(token_hash=token_hash(token.strip())).first()
    if feed is None:
        raise IngestRefused(401, "unknown feed token")
    if feed.slug != slug:
        raise IngestRefused(403, f"this token belongs to another feed, not to '{slug}'")
    if feed.is_paused:
        raise IngestRefused(403, f"feed '{slug}' is paused; ask the control tower admins to resume it")
    return feed


def signature_verify(*, feed: Feed, header: str | None, body: bytes, at: datetime | None = None) -> None:
    """`X-CT-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 over b"<t>." + body, ±300 s, used once."""
    if not header:
        if feed.require_signature:
            raise IngestRefused(401, f"this feed requires a signature in {SIGNATURE_HEADER}")
        return
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        raise IngestRefused(401, f"malformed {SIGNATURE_HEADER}: want t=<unix seconds>,v1=<hex>")
    current = at or now()
    tolerance = settings.INGEST_SIGNATURE_TOLERANCE_SECONDS
    if abs(current.timestamp() - int(stamp)) > tolerance:
        raise IngestRefused(401, f"signature timestamp outside ±{tolerance} s of the server clock")
    expected = hmac.new(feed.hmac_secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        raise IngestRefused(401, "signature does not match the body")
    try:
        with transaction.atomic():
            SignatureNonce.objects.create(feed=feed, signature=expected, seen_at=current)
    except IntegrityError:
        raise IngestRefused(401, "signature already used (replay)") from None


def signature_nonces_prune(*, older_than: datetime | None = None) -> int:
    cutoff = older_than or now() - timedelta(seconds=2 * settings.INGEST_SIGNATURE_TOLERANCE_SECONDS)
    deleted, _ = SignatureNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


def rate_limit_check(*, feed: Feed, at: datetime | None = None) -> None:
    """Fixed one-minute window counted in the cache (Redis in production)."""
    current = at or now()
    window = int(current.timestamp() // 60)
    key = f"ratelimit:feed:{feed.pk}:{window}"
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=70)
        count = 1
    if count > feed.rate_limit_per_minute:
        retry_after = max(1, 60 - int(current.timestamp()) % 60)
        raise IngestRefused(
            429,
            f"rate limit of {feed.rate_limit_per_minute} requests/minute exceeded",
            retry_after=retry_after,
        )


def sign(*, secret: str, body: bytes, at: datetime | None = None) -> str:
    """The header value a partner sends; used by the simulator and the tests."""
    stamp = str(int((at or now()).timestamp()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"
