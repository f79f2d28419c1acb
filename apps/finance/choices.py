from django.db import models


class HoldStatus(models.TextChoices):
    HELD = "held", "Held"
    RELEASED = "released", "Released"


class HoldReason(models.TextChoices):
    AWAITING_POD = "awaiting_pod", "Awaiting proof of delivery"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    QUANTITY_MISMATCH = "quantity_mismatch", "Quantity mismatch"
    DISPUTED = "disputed", "Disputed"


class HoldOutcome(models.TextChoices):
    """How a released hold ended (extension: the contract's `status` stays held / released)."""

    NONE = "", "—"
    CLEARED = "cleared", "Released: its reason cleared"
    MANUAL = "manual", "Released by hand"
    CANCELLED = "cancelled", "Ended: invoice cancelled"


class HoldAction(models.TextChoices):
    PLACED = "placed", "Placed"
    REASON_CHANGED = "reason_changed", "Reason changed"
    POSTED_WHILE_HELD = "posted_while_held", "Invoice posted while held"
    RELEASED = "released", "Released"


class ReconciliationStatus(models.TextChoices):
    MATCHED = "matched", "Matched"
    MISMATCHED = "mismatched", "Mismatched"
    PENDING = "pending", "Pending"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# Age buckets of a hold (the finance screen's columns), by whole days held.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-2d", 0, 2),
    ("3-7d", 3, 7),
    ("8-30d", 8, 30),
    (">30d", 31, None),
)
