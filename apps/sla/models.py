"""SLA policies and the per-order expectations they create.

An Expectation is the healthchecks `alert_after` shape: `due_at` is stored when the start
milestone is seen, and a partial index over pending rows makes "what is due now" cheap for the
sweep. Every status change is a compare-and-set from a known status, so the sweep and the
stop milestone arriving at the same moment cannot both win."""

from django.db import models

from apps.events.taxonomy import EventType
from apps.exceptions.choices import Queue, Severity

from .choices import Deadline, ExpectationStatus


class SlaPolicy(models.Model):
    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    start = models.CharField(max_length=64, choices=EventType.choices, help_text="event type that starts the clock")
    stop = models.JSONField(default=list, help_text="event types, any of which stops the clock")
    within = models.DurationField(null=True, blank=True)
    deadline = models.CharField(max_length=32, choices=Deadline.choices, blank=True, default="")
    applies_to = models.JSONField(default=dict, blank=True, help_text="{service_level?, customer?, partner?}")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    queue = models.CharField(max_length=32, choices=Queue.choices, default=Queue.OPS)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(within__isnull=False, deadline="") | models.Q(within__isnull=True) & ~models.Q(deadline="")
                ),
                name="sla_policy_within_xor_deadline",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Expectation(models.Model):
    # Indexes are paid on every sweep UPDATE (a status change is never a HOT update), so the
    # foreign keys get none of their own: (policy, order) and (order, status) lead with them.
    id = models.BigAutoField(primary_key=True)
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="expectations", db_index=False)
    order = models.ForeignKey(
        "correlation.Node", on_delete=models.CASCADE, related_name="sla_expectations", db_index=False
    )
    started_at = models.DateTimeField(help_text="occurred_at of the start milestone")
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the stop milestone")
    status = models.CharField(max_length=16, choices=ExpectationStatus.choices, default=ExpectationStatus.PENDING)
    breach_case = models.ForeignKey(
        "exceptions.ExceptionCase", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "order"], name="sla_expectation_policy_order_uniq")]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(status=ExpectationStatus.PENDING),
                name="sla_expectation_due_pending",
            ),
            models.Index(fields=["order", "status"], name="sla_expectation_order_idx"),
            # For SET NULL when a case is deleted; most rows have no case and stay out of it.
            models.Index(
                fields=["breach_case"],
                condition=models.Q(breach_case__isnull=False),
                name="sla_expectation_case_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}:{self.order_id} ({self.status})"
