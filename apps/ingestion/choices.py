from django.db import models


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    REJECTED = "rejected", "Rejected (nothing usable)"
    # Extension of the contract's four statuses (docs/api.md): a message whose processing kept
    # failing for a reason that is ours, not the partner's. Kept, visible, replayable.
    FAILED = "failed", "Failed (dead letter)"


class FileStatus(models.TextChoices):
    """A file upload's life: stored, then split into messages (each processed by the pipeline)."""

    RECEIVED = "received", "Received (waiting to be split)"
    SPLITTING = "splitting", "Splitting into messages"
    SPLIT = "split", "Split into messages"
    REJECTED = "rejected", "Rejected (could not be read)"
    FAILED = "failed", "Failed (our side; see the worker logs)"
