from django.db import models


class Deadline(models.TextChoices):
    """A deadline the order carries itself, instead of a fixed `within`."""

    PROMISED_BY = "promised_by", "The order's promised-by time"


class ExpectationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    MET = "met", "Met"
    MET_LATE = "met_late", "Met late"
    BREACHED = "breached", "Breached"
    # Its policy was deactivated while the clock ran: not swept, not counted.
    CANCELLED = "cancelled", "Cancelled"


# Orders in these stages are over: a new policy does not start clocks on them.
CLOSED_STAGES: tuple[str, ...] = ("delivered", "invoiced", "cancelled", "returned")
