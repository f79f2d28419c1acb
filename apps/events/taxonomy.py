"""The canonical event taxonomy (contracts canonical-events.md §2-§3), in code.

This module is the single source of truth for type names, ref kinds, systems and stages;
the JSON schema in apps/events/schema/ only constrains the shape."""

from django.db import models


class System(models.TextChoices):
    ERP = "erp", "ERP"
    WMS = "wms", "WMS"
    TMS = "tms", "TMS"
    LASTMILE = "lastmile", "Last mile"


class RefKind(models.TextChoices):
    ORDER = "order", "Order"
    WAREHOUSE_TASK = "warehouse_task", "Warehouse task"
    SHIPMENT = "shipment", "Shipment"
    DELIVERY_RUN = "delivery_run", "Delivery run"
    TRACKING_NUMBER = "tracking_number", "Tracking number"
    CUSTOMER_PO = "customer_po", "Customer PO"
    INVOICE = "invoice", "Invoice"
    LPN = "lpn", "LPN"
    LOAD = "load", "Load"
    RETURN = "return", "Return"


# Process entities are the nodes of the process graph; aliases name one of them.
ENTITY_KINDS = frozenset({RefKind.ORDER, RefKind.WAREHOUSE_TASK, RefKind.SHIPMENT, RefKind.DELIVERY_RUN})
ALIAS_OF: dict[str, str] = {
    RefKind.CUSTOMER_PO: RefKind.ORDER,
    RefKind.INVOICE: RefKind.ORDER,
    RefKind.RETURN: RefKind.ORDER,
    RefKind.TRACKING_NUMBER: RefKind.SHIPMENT,
    RefKind.LPN: RefKind.SHIPMENT,
}
# A load groups shipments and is treated like a run (§2).
RUN_LIKE_KINDS = frozenset({RefKind.DELIVERY_RUN, RefKind.LOAD})


class Stage(models.TextChoices):
    CREATED = "created"
    RELEASED = "released"
    ALLOCATED = "allocated"
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"
    RETURNED = "returned"


STAGE_ORDER: tuple[str, ...] = (
    Stage.CREATED,
    Stage.RELEASED,
    Stage.ALLOCATED,
    Stage.PICKING,
    Stage.PICKED,
    Stage.PACKED,
    Stage.SHIPPED,
    Stage.IN_TRANSIT,
    Stage.OUT_FOR_DELIVERY,
    Stage.DELIVERED,
    Stage.INVOICED,
)
STAGE_RANK: dict[str, int] = {stage: rank for rank, stage in enumerate(STAGE_ORDER)}
TERMINAL_STAGES = frozenset({Stage.CANCELLED, Stage.RETURNED})


class EventType(models.TextChoices):
    ORDER_CREATED = "order.created"
    ORDER_RELEASED = "order.released"
    ORDER_CHANGED = "order.changed"
    ORDER_ON_HOLD = "order.on_hold"
    ORDER_HOLD_RELEASED = "order.hold_released"
    ORDER_CANCELLED = "order.cancelled"
    INVENTORY_ALLOCATED = "inventory.allocated"
    INVENTORY_SHORT = "inventory.short"
    TASK_CREATED = "task.created"
    PICK_STARTED = "pick.started"
    PICK_COMPLETED = "pick.completed"
    PICK_SHORT = "pick.short"
    PACK_COMPLETED = "pack.completed"
    SHIPMENT_PLANNED = "shipment.planned"
    SHIPMENT_TENDERED = "shipment.tendered"
    SHIPMENT_TENDER_ACCEPTED = "shipment.tender_accepted"
    SHIPMENT_TENDER_REJECTED = "shipment.tender_rejected"
    SHIPMENT_LOADED = "shipment.loaded"
    SHIPMENT_CONFIRMED = "shipment.confirmed"
    SHIPMENT_PICKED_UP = "shipment.picked_up"
    SHIPMENT_DEPARTED = "shipment.departed"
    SHIPMENT_ARRIVED = "shipment.arrived"
    SHIPMENT_IN_TRANSIT = "shipment.in_transit"
    SHIPMENT_DELAYED = "shipment.delayed"
    SHIPMENT_ETA_UPDATED = "shipment.eta_updated"
    FREIGHT_COST_UPDATED = "freight.cost_updated"
    RUN_PLANNED = "run.planned"
    RUN_DISPATCHED = "run.dispatched"
    RUN_COMPLETED = "run.completed"
    DELIVERY_OUT_FOR_DELIVERY = "delivery.out_for_delivery"
    DELIVERY_ETA_UPDATED = "delivery.eta_updated"
    DELIVERY_ATTEMPTED = "delivery.attempted"
    DELIVERY_COMPLETED = "delivery.completed"
    DELIVERY_FAILED = "delivery.failed"
    RETURN_AUTHORIZED = "return.authorized"
    RETURN_RECEIVED = "return.received"
    INVOICE_CREATED = "invoice.created"
    INVOICE_POSTED = "invoice.posted"
    INVOICE_CANCELLED = "invoice.cancelled"
    EXCEPTION_RAISED = "exception.raised"
    EXCEPTION_CLEARED = "exception.cleared"


EVENT_TYPES = frozenset(EventType.values)

# The stage each type implies (§3); types absent here imply no stage (flags, ETAs, costs).
STAGE_OF_TYPE: dict[str, str] = {
    EventType.ORDER_CREATED: Stage.CREATED,
    EventType.ORDER_RELEASED: Stage.RELEASED,
    EventType.ORDER_CANCELLED: Stage.CANCELLED,
    EventType.INVENTORY_ALLOCATED: Stage.ALLOCATED,
    EventType.TASK_CREATED: Stage.ALLOCATED,
    EventType.PICK_STARTED: Stage.PICKING,
    EventType.PICK_COMPLETED: Stage.PICKED,
    EventType.PACK_COMPLETED: Stage.PACKED,
    EventType.SHIPMENT_LOADED: Stage.SHIPPED,
    EventType.SHIPMENT_CONFIRMED: Stage.SHIPPED,
    EventType.SHIPMENT_PICKED_UP: Stage.SHIPPED,
    EventType.SHIPMENT_DEPARTED: Stage.IN_TRANSIT,
    EventType.SHIPMENT_ARRIVED: Stage.IN_TRANSIT,
    EventType.SHIPMENT_IN_TRANSIT: Stage.IN_TRANSIT,
    EventType.DELIVERY_OUT_FOR_DELIVERY: Stage.OUT_FOR_DELIVERY,
    EventType.DELIVERY_COMPLETED: Stage.DELIVERED,
    EventType.RETURN_RECEIVED: Stage.RETURNED,
    EventType.INVOICE_POSTED: Stage.INVOICED,
}

# Partner-reported exceptions (issue: exception queues) — each opens a partner_exception.
EXCEPTION_TYPES = frozenset(
    {
        EventType.INVENTORY_SHORT,
        EventType.PICK_SHORT,
        EventType.SHIPMENT_TENDER_REJECTED,
        EventType.SHIPMENT_DELAYED,
        EventType.DELIVERY_ATTEMPTED,
        EventType.DELIVERY_FAILED,
        EventType.EXCEPTION_RAISED,
    }
)

# Events that end a partner exception (exceptions.services.partner.CLEARED_BY says which).
CLEARING_TYPES = frozenset({EventType.DELIVERY_COMPLETED, EventType.EXCEPTION_CLEARED})
# What the early lane is for (docs/live.md "Early exceptions"): a small message announcing one
# of these is routed at the door to the lane that opens and clears exceptions before correlation.
EARLY_LANE_TYPES = EXCEPTION_TYPES | CLEARING_TYPES
