from django.db import models


class ExceptionKind(models.TextChoices):
    SLA_BREACH = "sla_breach", "SLA breach"
    PARTNER_EXCEPTION = "partner_exception", "Partner exception"
    RECONCILIATION = "reconciliation", "Reconciliation"
    FEED_SILENT = "feed_silent", "Feed silent"
    INGESTION = "ingestion", "Ingestion"
    UNMATCHED_EVENT = "unmatched_event", "Unmatched event"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Most urgent first: the queue is read in this order.
SEVERITY_RANK: dict[str, int] = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Queue(models.TextChoices):
    OPS = "ops", "Operations"
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    FINANCE = "finance", "Finance"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


# Every status but resolved: the condition is still on someone's plate.
ACTIVE_STATUSES: tuple[str, ...] = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED, CaseStatus.SNOOZED)


class ActivityAction(models.TextChoices):
    OPENED = "opened", "Opened"
    REOPENED = "reopened", "Reopened"
    AUTO_RESOLVED = "auto_resolved", "Resolved automatically"
    ASSIGNED = "assigned", "Assigned"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    COMMENTED = "commented", "Commented"
    # System cases and late binding (services/system.py, services/rebind.py).
    SEEN_AGAIN = "seen_again", "Seen again"
    MOVED = "moved", "Moved to its order"
    MERGED = "merged", "Merged"
