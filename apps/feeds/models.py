"""Partners and their feeds.

A feed token is shown once and stored only as its SHA-256 (tokens are 256-bit random, so a
fast hash is enough: there is nothing to brute-force). The HMAC secret must be kept in the
clear because we recompute the signature with it."""

from datetime import timedelta

from django.conf import settings
from django.db import models

from apps.events.taxonomy import System

from .choices import FeedFormat


class Partner(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Feed(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="feeds")
    system = models.CharField(max_length=16, choices=System.choices)
    format = models.CharField(max_length=32, choices=FeedFormat.choices, default=FeedFormat.CANONICAL_JSON)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False, help_text="first characters, to recognise a token")
    hmac_secret = models.CharField(max_length=128, editable=False)
    require_signature = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True, help_text="set: the feed's posts get 403")
    rate_limit_per_minute = models.PositiveIntegerField(default=600, help_text="requests per minute; over it: 429")
    max_body_bytes = models.PositiveIntegerField(default=5 * 1024 * 1024, help_text="at most 5 MB (contract)")
    max_silence = models.DurationField(
        default=timedelta(hours=1), help_text="silent longer than this: a feed_silent exception"
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="IANA zone in which source times without an offset are read (an X12 date, a local export)",
    )
    mapping = models.JSONField(
        default=dict, blank=True, help_text="custom-json feeds: the declarative mapping (apps/ingestion/formats)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class FeedCodeTable(models.Model):
    """One version of a feed's override of a standard code table (e.g. `x12.at7`): codes →
    canonical event types, "ignore", or null (removes a default). Append-only: a change is a
    new version, so what mapped an event can always be told; the latest version is in force."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="code_tables")
    table = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    entries = models.JSONField(default=dict)
    note = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["feed", "table", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["feed", "table", "version"], name="feeds_codetable_version_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.feed_id}:{self.table} v{self.version}"


class SignatureNonce(models.Model):
    """A signature seen once. UNIQUE(feed, signature) is the replay protection; rows older
    than the tolerance window are pruned, since the timestamp check refuses them anyway."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE)
    signature = models.CharField(max_length=64)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feed", "signature"], name="feeds_nonce_feed_sig_uniq"),
        ]
        indexes = [models.Index(fields=["seen_at"], name="feeds_nonce_seen_idx")]

    def __str__(self) -> str:
        return f"{self.feed_id}:{self.signature[:8]}"
