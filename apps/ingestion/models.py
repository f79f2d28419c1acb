"""Raw messages: the evidence. Stored before the 202, never altered, replayable."""

import uuid

from django.db import models

from .choices import MessageStatus


class RawMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    feed = models.ForeignKey("feeds.Feed", on_delete=models.PROTECT, related_name="messages")
    body = models.BinaryField()
    content_type = models.CharField(max_length=200)
    received_at = models.DateTimeField(db_index=True)
    received_count = models.PositiveIntegerField(default=0, help_text="events the body announced")
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    early_pending = models.BooleanField(
        default=False,
        help_text="waiting for the early lane (docs/live.md): the regular lane's batches leave it alone until then",
    )
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejections = models.JSONField(default=list, blank=True, help_text="[{index, event_id, errors}]")
    error = models.TextField(blank=True, default="", help_text="why the whole message failed")

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["feed", "-received_at"], name="ingest_msg_feed_recv_idx"),
            # The requeue sweep scans only unfinished messages.
            models.Index(
                fields=["status", "received_at"],
                name="ingest_msg_unfinished_idx",
                condition=models.Q(status__in=["received", "processing"]),
            ),
            models.Index(
                fields=["status", "-received_at"],
                name="ingest_msg_failed_idx",
                condition=models.Q(status__in=["failed", "rejected"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def body_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")
