"""Partners and their feeds.

A feed token is shown once and stored only as its SHA-256 (tokens are 256-bit random, so a
fast hash is enough: there is nothing to brute-force). The HMAC secret must be kept in the
clear because we recompute the signature with it."""

from datetime import timedelta

from django.conf import settings
from django.db import models

from apps.events.taxonomy import System

from .choices import FeedFormat, FeedTransport


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
    transport = models.CharField(max_length=8, choices=FeedTransport.choices, default=FeedTransport.PUSH)
    # Credential rotation with overlap: the previous token / secret stay valid until *_expires_at.
    previous_token_hash = models.CharField(max_length=64, blank=True, default="", editable=False, db_index=True)
    previous_token_expires_at = models.DateTimeField(null=True, blank=True)
    previous_hmac_secret = models.CharField(max_length=128, blank=True, default="", editable=False)
    previous_hmac_expires_at = models.DateTimeField(null=True, blank=True)
    token_last_used_at = models.DateTimeField(null=True, blank=True)
    previous_token_last_used_at = models.DateTimeField(null=True, blank=True)
    hmac_last_used_at = models.DateTimeField(null=True, blank=True)
    future_tolerance = models.DurationField(
        default=timedelta(minutes=15), help_text="events dated further ahead than this are flagged as future-dated"
    )
    silence_auto = models.BooleanField(
        default=True, help_text="silence threshold from the feed's own rhythm (else max_silence as set)"
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


class FeedPoll(models.Model):
    """A polled feed's settings and durable state (http-api.md "Polled feeds"): where and how
    to pull, and the cursor the next round starts from, which survives restarts."""

    feed = models.OneToOneField(Feed, on_delete=models.CASCADE, related_name="poll", primary_key=True)
    url = models.URLField(max_length=1000)
    interval_seconds = models.PositiveIntegerField(default=60)
    headers = models.JSONField(default=dict, blank=True, help_text="sent with every GET (auth: bearer, basic, API key)")
    cursor_param = models.CharField(max_length=100, default="cursor", help_text="query parameter the cursor goes in")
    cursor_from = models.CharField(
        max_length=8, default="header", help_text="where the next cursor is read: header | link | field"
    )
    cursor_name = models.CharField(
        max_length=200, default="Next-Page-Cursor", help_text="the header's name, or the response field's path"
    )
    cursor = models.TextField(blank=True, default="", help_text="the last cursor received")
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="last HTTP status")
    last_error = models.TextField(blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    auth_failures = models.PositiveIntegerField(default=0)
    pages = models.PositiveBigIntegerField(default=0, help_text="pages fetched in all")

    def __str__(self) -> str:
        return f"poll {self.feed_id} {self.url}"


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
