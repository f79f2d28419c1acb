"""Invoice holds, per-order reconciliation, and ERP snapshot runs.

InvoiceHold: one row per hold episode of an invoice. The database keeps at most one held row per
(order, invoice) (a partial unique constraint), so two workers evaluating the same order cannot
both place it; every status change is a compare-and-set from `held`. HoldActivity is its history
(placed, reason changed, posted while held, released — by which event or by whom, and why).

OrderReconciliation: the stored verdict of the rules (rules.py) for an order that has findings;
an order without a row is matched. `next_check_at` is when the earliest pending finding's grace
period runs out: the sweep re-evaluates those orders then.

SnapshotRun / SnapshotFinding: an ERP export compared with what the control tower knows
(http-api.md "ERP snapshot runs"); the uploaded bytes are kept as evidence."""

from django.conf import settings
from django.db import models

from .choices import HoldAction, HoldOutcome, HoldReason, HoldStatus, ReconciliationStatus, RunStatus


class InvoiceHold(models.Model):
    id = models.BigAutoField(primary_key=True)
    invoice = models.CharField(max_length=100)
    order = models.ForeignKey(
        "correlation.Node", on_delete=models.CASCADE, related_name="invoice_holds", db_index=False
    )
    order_key = models.CharField(max_length=100)
    customer = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.HELD)
    reason = models.CharField(max_length=32, choices=HoldReason.choices)
    release_hint = models.CharField(max_length=500, blank=True, default="", help_text="what would release it")
    manual = models.BooleanField(default=False, help_text="placed by hand (disputed): only a person releases it")
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    held_since = models.DateTimeField(help_text="the invoice's occurred_at (automatic holds) or when placed by hand")
    invoice_event = models.ForeignKey(
        "events.CanonicalEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    posted_while_held_at = models.DateTimeField(null=True, blank=True, help_text="the invoice was posted while held")
    released_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=HoldOutcome.choices, blank=True, default="")
    released_by_event = models.ForeignKey(
        "events.CanonicalEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    release_note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "invoice"], condition=models.Q(status="held"), name="finance_hold_one_held_uniq"
            ),
        ]
        indexes = [
            # The finance screen: held invoices, oldest first, filtered by reason.
            models.Index(fields=["status", "reason", "held_since"], name="finance_hold_queue_idx"),
            models.Index(fields=["status", "held_since"], name="finance_hold_age_idx"),
            # The screen's totals per currency and its chart (amount by reason and age), and the
            # API's currency filter: index-only scans, without reading the (wide) rows. reason and
            # amount are key columns, not INCLUDE: SQLite (the embedded default) warns on INCLUDE.
            models.Index(
                fields=["status", "currency", "held_since", "reason", "amount"], name="finance_hold_amount_idx"
            ),
            models.Index(fields=["order", "invoice"], name="finance_hold_order_idx"),
            models.Index(fields=["invoice"], name="finance_hold_invoice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} ({self.status}: {self.reason})"


class HoldActivity(models.Model):
    id = models.BigAutoField(primary_key=True)
    hold = models.ForeignKey(InvoiceHold, on_delete=models.CASCADE, related_name="activity")
    action = models.CharField(max_length=32, choices=HoldAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    event = models.ForeignKey(
        "events.CanonicalEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    detail = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.hold_id}: {self.action}"


class OrderReconciliation(models.Model):
    order = models.OneToOneField("correlation.Node", on_delete=models.CASCADE, primary_key=True, related_name="+")
    order_key = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=ReconciliationStatus.choices)
    findings = models.JSONField(default=list, help_text="[{rule, detail, queue, pending_until}]")
    next_check_at = models.DateTimeField(null=True, blank=True, help_text="when a pending finding's grace runs out")
    evaluated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["status"], name="finance_recon_status_idx"),
            models.Index(
                fields=["next_check_at"], condition=models.Q(next_check_at__isnull=False), name="finance_recon_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_key}: {self.status}"


class SnapshotRun(models.Model):
    id = models.BigAutoField(primary_key=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    filename = models.CharField(max_length=255, blank=True, default="")
    body = models.BinaryField(help_text="the uploaded file, kept as evidence")
    window_from = models.DateTimeField(null=True, blank=True)
    window_until = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0, help_text="progress while running")
    orders = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    missing_in_tower = models.PositiveIntegerField(default=0)
    missing_in_snapshot = models.PositiveIntegerField(null=True, blank=True)
    errors = models.JSONField(default=list, help_text="[{row, error}] of the rows left out")
    error_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, default="", help_text="why the whole run failed")
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"


class SnapshotFinding(models.Model):
    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(SnapshotRun, on_delete=models.CASCADE, related_name="findings")
    order_key = models.CharField(max_length=100)
    rule = models.CharField(max_length=32, help_text="status, invoice, amount, quantity, missing_in_tower…")
    detail = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["run", "order_key"], name="finance_finding_run_idx")]

    def __str__(self) -> str:
        return f"{self.order_key}: {self.rule}"
