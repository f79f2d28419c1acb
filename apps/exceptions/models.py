"""Exception cases: the work items of the exception queues.

Many signals (partner exception events today; SLA breaches, reconciliation findings… later)
are grouped into one case by fingerprint. The database guarantees at most one unresolved case
per fingerprint (a partial unique constraint), so concurrent workers cannot open two; a
condition that recurs after its case was resolved opens a new case, and the old one stays on
record. ExceptionOccurrence is unique per (fingerprint, event): reprocessing an event never
counts it twice, even after the case it first joined was resolved."""

from django.conf import settings
from django.db import models

from .choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind, Queue, Severity


class ExceptionCase(models.Model):
    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=32, choices=ExceptionKind.choices)
    code = models.CharField(max_length=100, help_text="the partner's reason code, the SLA policy name, the rule…")
    fingerprint = models.CharField(max_length=400, help_text="grouping key: kind, source type, code and subject")
    subject = models.CharField(max_length=200, help_text="'order:SO-1', or the event's ref when it has no order")
    source_type = models.CharField(max_length=64, blank=True, default="", help_text="event type that raised it")
    order = models.ForeignKey(
        "correlation.Node", null=True, blank=True, on_delete=models.SET_NULL, related_name="exception_cases"
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    queue = models.CharField(max_length=32, choices=Queue.choices, default=Queue.OPS)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="exception_cases"
    )
    opened_at = models.DateTimeField(help_text="occurred_at of the earliest occurrence")
    last_seen_at = models.DateTimeField(help_text="occurred_at of the latest occurrence")
    occurrences = models.PositiveIntegerField(default=0)
    first_event = models.ForeignKey(
        "events.CanonicalEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_event = models.ForeignKey(
        "events.CanonicalEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="when the control tower resolved it")
    resolution = models.TextField(blank=True, default="")
    cleared_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="as of when the condition is over: the clearing event's occurred_at, or the manual resolve time; "
        "an occurrence older than this joins this case instead of reopening",
    )
    cleared_by_event = models.ForeignKey(
        "events.CanonicalEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="the case it reopens"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(status__in=ACTIVE_STATUSES),
                name="exceptions_case_one_unresolved_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["subject", "source_type"], name="exceptions_case_subject_idx"),
            # Resolved cases of a fingerprint (late occurrences, reopening): the partial unique
            # index covers only unresolved ones.
            models.Index(fields=["fingerprint", "status"], name="exceptions_case_fp_idx"),
            models.Index(fields=["order", "status"], name="exceptions_case_order_idx"),
            models.Index(fields=["status", "-last_seen_at"], name="exceptions_case_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code} {self.subject} ({self.status})"


class ExceptionOccurrence(models.Model):
    """One event counted in one case. `fingerprint` is copied from the case so that the unique
    key holds across reopened cases."""

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="occurrence_rows")
    event = models.ForeignKey("events.CanonicalEvent", on_delete=models.PROTECT, related_name="+")
    fingerprint = models.CharField(max_length=400)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "event"], name="exceptions_occurrence_event_uniq"),
        ]
        indexes = [models.Index(fields=["case", "occurred_at"], name="exceptions_occurrence_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.event_id}"


class ExceptionActivity(models.Model):
    """The per-case history shown beside the case; user actions also go to the audit log."""

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32, choices=ActivityAction.choices)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["case", "at"], name="exceptions_activity_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"
