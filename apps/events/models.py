"""Canonical events and the refs they carry.

Idempotency lives in the database: UNIQUE(feed, event_key), where event_key is the source's
event_id or, when the source gives none, a hash of the canonicalised event. Refs are a
separate narrow table indexed on (kind, value) so that "every event naming SH-7" is one index
scan (design/floors.md: 0.34 ms per timeline at 500k events)."""

from django.db import models

from .taxonomy import RefKind, System


class CanonicalEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    feed = models.ForeignKey("feeds.Feed", on_delete=models.PROTECT, related_name="events")
    message = models.ForeignKey("ingestion.RawMessage", on_delete=models.PROTECT, related_name="events")
    event_key = models.CharField(max_length=200, help_text="event_id, or sha256:<hash> when the source sent none")
    has_source_id = models.BooleanField(default=True)
    type = models.CharField(max_length=64, db_index=True)
    system = models.CharField(max_length=16, choices=System.choices)
    occurred_at = models.DateTimeField(help_text="UTC")
    occurred_offset_minutes = models.SmallIntegerField(help_text="the source's UTC offset, kept")
    received_at = models.DateTimeField()
    source_status = models.CharField(max_length=100, blank=True, default="")
    refs = models.JSONField(help_text="refs as sent (trimmed), each kind a list of ids")
    body = models.JSONField(help_text="location, reason, lines, eta, promised_by, pod, amount, attributes…")
    index_in_message = models.IntegerField()
    matched = models.BooleanField(
        default=False, db_default=False, help_text="on at least one order's timeline (false: listed as unmatched)"
    )
    # Dated further ahead of its arrival than its feed's future_tolerance: kept and shown, but
    # not trusted to move a stage (or meet an SLA, or prove a delivery) until its time comes.
    future_dated = models.BooleanField(
        default=False, db_default=False, help_text="dated beyond its feed's future tolerance when it arrived"
    )
    held_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="future-dated: not trusted to move a stage before this time (cleared by the release sweep)",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feed", "event_key"], name="events_event_feed_key_uniq"),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="events_event_occurred_idx"),
            models.Index(fields=["feed", "received_at"], name="events_event_feed_recv_idx"),
            models.Index(fields=["received_at"], name="events_event_unmatched_idx", condition=models.Q(matched=False)),
            models.Index(
                fields=["held_until"], name="events_event_held_idx", condition=models.Q(held_until__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_key}"


class EventRef(models.Model):
    id = models.BigAutoField(primary_key=True)
    # No database constraint: written only by events_store in the event's own transaction, and
    # a deferred FK check per ref row was a large share of each ingest commit (docs/benchmarks.md).
    # Deletes still cascade (Django's collector).
    event = models.ForeignKey(CanonicalEvent, on_delete=models.CASCADE, related_name="ref_rows", db_constraint=False)
    kind = models.CharField(max_length=32, choices=RefKind.choices)
    value = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["kind", "value"], name="events_ref_kind_value_idx")]

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"
