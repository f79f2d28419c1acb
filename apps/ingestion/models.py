"""Raw messages and uploaded files: the evidence. Stored before the 202, never altered,
replayable. A file is kept as uploaded and split into messages of at most INGEST_MAX_EVENTS
events each (apps/ingestion/files.py); its messages point back to it."""

import uuid

from django.conf import settings
from django.db import models

from .choices import FileStatus, MessageStatus


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
    file = models.ForeignKey(
        "IngestFile", null=True, blank=True, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    file_part = models.PositiveIntegerField(null=True, blank=True, help_text="0-based part of its file")

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # a split that restarts after a crash creates each part once
            models.UniqueConstraint(fields=["file", "file_part"], name="ingest_msg_file_part_uniq"),
        ]
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


def _file_path(instance: "IngestFile", filename: str) -> str:
    return f"ingest-files/{instance.feed_id}/{instance.id}"


class IngestFile(models.Model):
    """An uploaded file (UI, API multipart or `manage.py ingest_file`), kept byte for byte.
    UNIQUE(feed, sha256): the same file uploaded twice is one file."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    feed = models.ForeignKey("feeds.Feed", on_delete=models.PROTECT, related_name="files")
    name = models.CharField(max_length=255, help_text="the file name as uploaded")
    content = models.FileField(upload_to=_file_path, max_length=300)
    content_type = models.CharField(max_length=200)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=FileStatus.choices, default=FileStatus.RECEIVED)
    split_started_at = models.DateTimeField(null=True, blank=True, help_text="the split's claim and heartbeat")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="splits started")
    split_at = models.DateTimeField(null=True, blank=True)
    bytes_read = models.BigIntegerField(default=0, help_text="progress of the split")
    parts = models.PositiveIntegerField(default=0, help_text="messages made from it")
    events = models.PositiveIntegerField(default=0, help_text="events the parts announced")
    errors = models.JSONField(default=list, blank=True, help_text="envelope errors found while splitting")
    error = models.TextField(blank=True, default="", help_text="why the file could not be read at all")

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["feed", "sha256"], name="ingest_file_feed_sha_uniq")]
        indexes = [models.Index(fields=["feed", "-received_at"], name="ingest_file_feed_recv_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class FileAcknowledgement(models.Model):
    """The 997 / CONTRL of one interchange of a file, written as the split streams past it (a
    large file has hundreds: kept apart so the split's memory does not grow with them)."""

    file = models.ForeignKey(IngestFile, on_delete=models.CASCADE, related_name="acknowledgements")
    position = models.PositiveIntegerField(help_text="0-based, in file order")
    kind = models.CharField(max_length=16, help_text="997 | CONTRL")
    interchange = models.CharField(max_length=35, help_text="the received interchange's control reference")
    accepted = models.BooleanField()
    errors = models.JSONField(default=list, blank=True)
    body = models.BinaryField()

    class Meta:
        ordering = ["file", "position"]
        constraints = [
            models.UniqueConstraint(fields=["file", "position"], name="ingest_ack_file_position_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.interchange}"
