"""The identity graph and the per-order read models.

Node: every id the feeds ever named — process entities (order, warehouse_task, shipment,
delivery_run, load) and aliases (customer_po, invoice, return, tracking_number, lpn), unique on
(kind, value). An alias node points to its entity once an event names both (compare-and-set:
the first binding wins and keeps its provenance).
Link: two nodes named in one event, stored in both directions with the event that first
established it. Links are never removed, so an order's closure only grows: timeline membership
is monotone, which is what makes late binding and any arrival order converge."""

from django.db import models

from apps.events.taxonomy import RefKind


class Node(models.Model):
    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=32, choices=RefKind.choices)
    value = models.CharField(max_length=100)
    entity = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="aliases",
        help_text="for an alias: the entity it names",
    )
    bound_by_event = models.ForeignKey(
        "events.CanonicalEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bound_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="correlation_node_kind_value_uniq")]
        # Search takes any id without knowing its kind.
        indexes = [models.Index(fields=["value"], name="correlation_node_value_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Link(models.Model):
    # Links and timeline entries are derived rows, written in bulk only by correlation, from ids
    # it has just read or inserted in the same transaction (and rebuilt by rebuild_projections).
    # Their foreign keys carry no database constraint: the deferred checks, four per timeline
    # entry and three per link, cost more at each commit than the inserts themselves
    # (docs/benchmarks.md). Django's collector still applies on_delete.
    id = models.BigAutoField(primary_key=True)
    # source: the unique (source, target) and (source, target_kind) indexes lead with it; target is
    # only ever looked up beside its source. Fewer indexes, cheaper inserts.
    source = models.ForeignKey(
        Node, on_delete=models.CASCADE, related_name="links_out", db_constraint=False, db_index=False
    )
    target = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    target_kind = models.CharField(max_length=32, help_text="denormalised: closures filter on it")
    event = models.ForeignKey("events.CanonicalEvent", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "target"], name="correlation_link_pair_uniq")]
        indexes = [models.Index(fields=["source", "target_kind"], name="correlation_link_src_kind_idx")]

    def __str__(self) -> str:
        return f"{self.source_id}->{self.target_id}"


class Member(models.Model):
    """Node `node` is in order `order`'s closure (canonical-events.md §2 rule 4), with its role
    and the event that brought it in. Closures only grow (links are never removed), so rows are
    only ever added. It answers "which orders does this batch touch" with one index probe
    instead of a walk of the graph, and gives the incremental path each order's closure as it
    was before the batch (apps/correlation/closure_cache.py). Derived like Link: no database
    constraints on its keys."""

    id = models.BigAutoField(primary_key=True)
    # (order, node) is unique, which indexes `order`; `node` has its own index for the lookups.
    order = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="memberships", db_constraint=False)
    role = models.CharField(max_length=8, help_text="order | task | shipment | run")
    via_event = models.ForeignKey(
        "events.CanonicalEvent",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
        help_text="the event that brought the node into the closure (null: the order itself)",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "node"], name="correlation_member_uniq")]

    def __str__(self) -> str:
        return f"{self.order_id}∋{self.node_id}"


class TimelineEntry(models.Model):
    """Event E is on order O's timeline, through node `via` (established by `via_event`)."""

    id = models.BigAutoField(primary_key=True)
    # No database constraints on these keys: see Link.
    # order: covered by (order, event) and (order, occurred_at); via: nothing looks entries up by it.
    order = models.ForeignKey(
        Node, on_delete=models.CASCADE, related_name="timeline", db_constraint=False, db_index=False
    )
    event = models.ForeignKey(
        "events.CanonicalEvent", on_delete=models.CASCADE, related_name="timeline_entries", db_constraint=False
    )
    occurred_at = models.DateTimeField(help_text="copied from the event: the timeline is read in this order")
    event_type = models.CharField(
        max_length=64, default="", help_text="copied from the event: SLA and exception milestones are read by type"
    )
    via = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    via_event = models.ForeignKey(
        "events.CanonicalEvent",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        help_text="the event that linked `via` to this order (null: the event names the order itself)",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "event"], name="correlation_entry_uniq")]
        indexes = [
            models.Index(fields=["order", "occurred_at"], name="correlation_entry_order_idx"),
            # An order's milestones of a few types (SLA starts and stops) without reading its
            # events: the join by type grew with the store (docs/benchmarks.md, 2026-12-02).
            models.Index(fields=["order", "event_type", "occurred_at"], name="correlation_entry_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.event_id}"


class OrderProjection(models.Model):
    """Everything the order page and `GET /orders/<id>/` show, recomputed from the timeline."""

    order = models.OneToOneField(Node, on_delete=models.CASCADE, primary_key=True, related_name="projection")
    order_key = models.CharField(max_length=100, unique=True)
    stage = models.CharField(max_length=32, blank=True, default="")
    partial = models.BooleanField(default=False)
    customer = models.CharField(max_length=200, blank=True, default="")
    service_level = models.CharField(max_length=50, blank=True, default="")
    promised_by = models.DateTimeField(null=True, blank=True)
    eta = models.DateTimeField(null=True, blank=True)
    eta_feed = models.CharField(max_length=100, blank=True, default="")
    systems = models.JSONField(default=dict)
    shipments = models.JSONField(default=list)
    warehouse_tasks = models.JSONField(default=list)
    aliases = models.JSONField(default=dict, help_text="customer_po / invoice / return ids")
    pod = models.JSONField(null=True, blank=True)
    on_hold = models.BooleanField(default=False)
    event_count = models.PositiveIntegerField(default=0)
    ledger = models.JSONField(
        default=dict, help_text="quantities, deliveries, invoices and milestones reconciliation compares (ledger.py)"
    )
    fold = models.JSONField(default=dict, help_text="fold state (apps/correlation/projection.py)")
    last_event_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["stage"], name="correlation_proj_stage_idx"),
            models.Index(fields=["-last_event_at"], name="correlation_proj_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_key} ({self.stage})"
