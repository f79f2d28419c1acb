"""Feed lifecycle and the checks every ingest request passes (token, signature, rate)."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from apps.accounts.models import AuditLog
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
    transport: str = "push",
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
            transport=transport,
        )
        audit_record(
            actor=actor, action="feed.created", target=f"feed:{slug}", detail={"system": system, "format": format}
        )
    return FeedCredentials(slug=slug, token=token, hmac_secret=secret)


# Credential rotation (docs/credentials.md): the previous token / secret stays accepted for an
# overlap, so that a partner can switch without a gap; 0 refuses it at once (a leaked token).
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=30)
LAST_USED_RESOLUTION = timedelta(seconds=60)
TOKEN_ROTATED = "feed.token_rotated"  # noqa: S105 (an audit action, not a secret)
HMAC_ROTATED = "feed.hmac_secret_rotated"

LastUsedField = Literal["token_last_used_at", "previous_token_last_used_at", "hmac_last_used_at"]


class CredentialConflict(Exception):
    """The credential changed after it was read (another rotation came first); nothing changed."""


def secret_fingerprint(secret: str) -> str:
    """Names an HMAC secret without showing it: the first 10 hex digits of its SHA-256, which a
    partner can compute from the secret it holds (`printf %s "$SECRET" | sha256sum`)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:10]


def _overlap_hours(overlap: timedelta) -> float:
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValueError(f"overlap must be between 0 and {MAX_OVERLAP.days * 24} hours")
    return round(overlap.total_seconds() / 3600, 2)


def feed_rotate_token(
    *,
    feed: Feed,
    overlap: timedelta = DEFAULT_OVERLAP,
    actor: object = None,
    expected_prefix: str | None = None,
) -> FeedCredentials:
    """A new token; the one `feed` was read with stays accepted for `overlap` (0: refused at once)
    and an older previous token is dropped. Compare-and-set from the token read (and, given
    `expected_prefix`, from the one the caller saw): CredentialConflict when it had changed."""
    hours = _overlap_hours(overlap)
    if expected_prefix is not None and expected_prefix != feed.token_prefix:
        raise CredentialConflict(f"the token is no longer {expected_prefix}…: it was rotated meanwhile")
    token = "ctf_" + secrets.token_urlsafe(32)
    expires = now() + overlap
    with transaction.atomic():
        changed = Feed.objects.filter(pk=feed.pk, token_hash=feed.token_hash).update(
            token_hash=token_hash(token),
            token_prefix=token[:10],
            previous_token_hash=feed.token_hash,
            previous_token_expires_at=expires,
            # SET reads the row as it was: the old token's last use moves to "previous".
            previous_token_last_used_at=F("token_last_used_at"),
            token_last_used_at=None,
        )
        if not changed:
            raise CredentialConflict("the token was rotated meanwhile; nothing changed")
        audit_record(
            actor=actor,
            action=TOKEN_ROTATED,
            target=f"feed:{feed.slug}",
            detail={
                "token_prefix": token[:10],
                "previous_prefix": feed.token_prefix,
                "overlap_hours": hours,
                "previous_expires_at": expires.isoformat(),
            },
        )
    feed.refresh_from_db()
    return FeedCredentials(slug=feed.slug, token=token, hmac_secret=feed.hmac_secret)


def feed_rotate_hmac_secret(
    *,
    feed: Feed,
    overlap: timedelta = DEFAULT_OVERLAP,
    actor: object = None,
    expected_fingerprint: str | None = None,
) -> str:
    """A new HMAC secret, returned once; signatures with the one `feed` was read with stay
    accepted for `overlap` (0: refused at once). Compare-and-set like feed_rotate_token."""
    hours = _overlap_hours(overlap)
    old = secret_fingerprint(feed.hmac_secret)
    if expected_fingerprint is not None and expected_fingerprint != old:
        raise CredentialConflict(f"the HMAC secret is no longer {expected_fingerprint}: it was rotated meanwhile")
    secret = secrets.token_hex(32)
    expires = now() + overlap
    with transaction.atomic():
        changed = Feed.objects.filter(pk=feed.pk, hmac_secret=feed.hmac_secret).update(
            hmac_secret=secret,
            previous_hmac_secret=feed.hmac_secret,
            previous_hmac_expires_at=expires,
            hmac_last_used_at=None,  # "last used" is the new secret's: has the partner switched?
        )
        if not changed:
            raise CredentialConflict("the HMAC secret was rotated meanwhile; nothing changed")
        audit_record(
            actor=actor,
            action=HMAC_ROTATED,
            target=f"feed:{feed.slug}",
            detail={
                "fingerprint": secret_fingerprint(secret),
                "previous_fingerprint": old,
                "previous_last_used_at": feed.hmac_last_used_at.isoformat() if feed.hmac_last_used_at else None,
                "overlap_hours": hours,
                "previous_expires_at": expires.isoformat(),
            },
        )
    feed.refresh_from_db()
    return secret


def credential_last_rotation(*, feed: Feed, action: str) -> AuditLog | None:
    """The audit entry of the feed's latest token (TOKEN_ROTATED) or secret (HMAC_ROTATED)
    rotation: when the previous credential was replaced, and its prefix or fingerprint."""
    return AuditLog.objects.filter(action=action, target=f"feed:{feed.slug}").order_by("-at", "-id").first()


def _expired_detail(*, feed: Feed, action: str, what: str, expired_at: datetime | None, advice: str) -> str:
    """Why a replaced credential is refused, in words a partner can act on."""
    rotation = credential_last_rotation(feed=feed, action=action)
    replaced = f" on {rotation.at:%Y-%m-%d %H:%M} UTC" if rotation else ""
    expired = f" and expired on {expired_at:%Y-%m-%d %H:%M} UTC" if expired_at else " and has expired"
    return f"this {what} was replaced{replaced}{expired}; {advice}"


def credential_used(*, feed: Feed, field: LastUsedField, at: datetime | None = None) -> None:
    """Stamp a credential's last use, cheaply: nothing while the loaded stamp is under a minute
    old, else one conditional UPDATE (WHERE the stamp is NULL or older, and the credential is
    still the one used) that one of concurrent requests wins; run after the surrounding
    transaction commits, so never inside the critical section that stores a message."""
    current = at or now()
    cutoff = current - LAST_USED_RESOLUTION
    seen = getattr(feed, field)
    if seen is not None and seen >= cutoff:
        return
    setattr(feed, field, current)
    same: dict[str, str] = {
        "token_last_used_at": {"token_hash": feed.token_hash},
        "previous_token_last_used_at": {"previous_token_hash": feed.previous_token_hash},
        "hmac_last_used_at": {"hmac_secret": feed.hmac_secret},
    }[field]  # the credential is still the one used (a rotation may have come in between)
    stale = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": cutoff})

    def stamp() -> None:
        Feed.objects.filter(stale, pk=feed.pk, **same).update(**{field: current})

    # robust: a failed stamp is logged, and never fails the request it belongs to.
    transaction.on_commit(stamp, robust=True)


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


def feed_token_resolve(*, token: str, at: datetime | None = None) -> tuple[Feed, bool]:
    """The feed a token belongs to, and whether it is that feed's previous token (accepted while
    previous_token_expires_at is ahead). IngestRefused(401): unknown, or replaced and expired."""
    digest = token_hash(token)
    feed = Feed.objects.select_related("partner").filter(Q(token_hash=digest) | Q(previous_token_hash=digest)).first()
    if feed is None:
        raise IngestRefused(401, "unknown feed token")
    if feed.token_hash == digest:
        return feed, False
    expires = feed.previous_token_expires_at
    if expires is None or expires <= (at or now()):
        advice = f"use the new token ({feed.token_prefix}…) the control tower admins gave you"
        detail = _expired_detail(feed=feed, action=TOKEN_ROTATED, what="token", expired_at=expires, advice=advice)
        raise IngestRefused(401, detail)
    return feed, True


def feed_authenticate(*, slug: str, authorization: str) -> Feed:
    """401 for a missing, wrong or expired token; 403 for another feed's token or a paused feed.
    The previous token is accepted inside its overlap; the token's last use is stamped."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise IngestRefused(401, "missing feed token: send 'Authorization: Bearer <feed token>'")
    feed, previous = feed_token_resolve(token=token.strip())
    if feed.slug != slug:
        raise IngestRefused(403, f"this token belongs to another feed, not to '{slug}'")
    if feed.is_paused:
        raise IngestRefused(403, f"feed '{slug}' is paused; ask the control tower admins to resume it")
    credential_used(feed=feed, field="previous_token_last_used_at" if previous else "token_last_used_at")
    return feed


def _signature(secret: str, signed: bytes) -> str:
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


# ASCII only: str.isdigit() and int() also take "²" or "٣", and int() refuses (or float math
# overflows on) thousands of digits. 12 digits reach the year 33658.
_SIGNATURE_STAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_SIGNATURE_WANT = "want t=<unix seconds>,v1=<64 hex digits>"


def signature_header_parse(header: str) -> tuple[str, str]:
    """`(t, v1)` of an X-CT-Signature value, v1 in lower case; IngestRefused(401) naming what
    is wrong with any other value. Unknown keys are ignored (room for later schemes)."""
    malformed = f"malformed {SIGNATURE_HEADER}"
    fields: dict[str, str] = {}
    for part in header.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise IngestRefused(401, f"{malformed}: every part must be key=value; {_SIGNATURE_WANT}")
        if key in ("t", "v1") and key in fields:
            raise IngestRefused(401, f"{malformed}: {key}= given more than once; {_SIGNATURE_WANT}")
        fields[key] = value
    stamp, given = fields.get("t"), fields.get("v1")
    if stamp is None or given is None:
        missing = " and ".join(name for name, got in (("t", stamp), ("v1", given)) if got is None)
        raise IngestRefused(401, f"{malformed}: no {missing}; {_SIGNATURE_WANT}")
    if not _SIGNATURE_STAMP.fullmatch(stamp):
        raise IngestRefused(
            401, f"{malformed}: t must be the Unix time in whole seconds, 1 to 12 ASCII digits (e.g. t=1767225600)"
        )
    if not _SIGNATURE_DIGEST.fullmatch(given):
        raise IngestRefused(401, f'{malformed}: v1 must be the 64 hex digits of HMAC-SHA256 over "<t>." + body')
    return stamp, given.lower()


def signature_verify(*, feed: Feed, header: str | None, body: bytes, at: datetime | None = None) -> None:
    """`X-CT-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 over b"<t>." + body, ±300 s, used once.
    With the current secret, or the previous one while inside its overlap."""
    if not header:
        if feed.require_signature:
            raise IngestRefused(401, f"this feed requires a signature in {SIGNATURE_HEADER}")
        return
    stamp, given = signature_header_parse(header)
    current = at or now()
    tolerance = settings.INGEST_SIGNATURE_TOLERANCE_SECONDS
    if abs(current.timestamp() - int(stamp)) > tolerance:
        raise IngestRefused(401, f"signature timestamp outside ±{tolerance} s of the server clock")
    signed = stamp.encode() + b"." + body
    expected = _signature(feed.hmac_secret, signed)
    with_current = hmac.compare_digest(expected, given)
    if not with_current:
        expected = _signature(feed.previous_hmac_secret, signed) if feed.previous_hmac_secret else ""
        if not expected or not hmac.compare_digest(expected, given):
            raise IngestRefused(401, "signature does not match the body")
        expires = feed.previous_hmac_expires_at
        if expires is None or expires <= current:
            detail = _expired_detail(
                feed=feed,
                action=HMAC_ROTATED,
                what="HMAC secret",
                expired_at=expires,
                advice="sign with the new secret the control tower admins gave you",
            )
            raise IngestRefused(401, detail)
    try:
        with transaction.atomic():
            SignatureNonce.objects.create(feed=feed, signature=expected, seen_at=current)
    except IntegrityError:
        raise IngestRefused(401, "signature already used (replay)") from None
    if with_current:
        credential_used(feed=feed, field="hmac_last_used_at", at=current)


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
