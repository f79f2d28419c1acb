"""Tracking-platform statuses → canonical types. Sources: EasyPost's Tracker docs (status and
status_detail lists), AfterShip's delivery statuses (tags), Shippo's tracking statuses and
substatus codes; Karrio's normalized statuses (vocabularies.md §5) for the parcel semantics.

A *detail* table (EasyPost status_detail, Shippo substatus) is consulted first and holds only
the details that name a better canonical type than their status (an arrival scan within
in_transit); a detail it does not list falls back to the status table, whose every code is
mapped (a status it does not know is rejected, never guessed)."""

from ..base import IGNORE, CodeTable

PLANNED, PICKED_UP, IN_TRANSIT = "shipment.planned", "shipment.picked_up", "shipment.in_transit"
ARRIVED, DEPARTED, DELAYED = "shipment.arrived", "shipment.departed", "shipment.delayed"
OUT, DELIVERED = "delivery.out_for_delivery", "delivery.completed"
ATTEMPTED, FAILED, RAISED = "delivery.attempted", "delivery.failed", "exception.raised"

# An item waiting at a pickup point has arrived there, not been delivered (it may never be
# collected): arrived. unknown / error say nothing about the parcel: no event. A cancelled
# label is not a cancelled order (it is often re-labelled): someone must look.
EASYPOST = {
    "unknown": IGNORE,
    "pre_transit": PLANNED,
    "in_transit": IN_TRANSIT,
    "out_for_delivery": OUT,
    "delivered": DELIVERED,
    "available_for_pickup": ARRIVED,
    "return_to_sender": FAILED,
    "failure": FAILED,
    "cancelled": RAISED,
    "error": IGNORE,
}
EASYPOST_DETAIL = {
    "received_at_origin_facility": PICKED_UP,
    "arrived_at_facility": ARRIVED,
    "arrived_at_destination": ARRIVED,
    "received_at_destination_facility": ARRIVED,
    "arrived_at_pickup_location": ARRIVED,
    "departed_facility": DEPARTED,
    "departed_origin_facility": DEPARTED,
    "delayed": DELAYED,
    "weather_delay": DELAYED,
    "missorted": DELAYED,
    "delivery_exception": ATTEMPTED,
    "refused": ATTEMPTED,
    "awaiting_information": RAISED,
    "held": RAISED,
    "damaged": RAISED,
    "lost": RAISED,
    "transit_exception": RAISED,
    "return": FAILED,
}
# Pending: added, nothing tracked yet; Expired: no update for 30 days (AfterShip's doing, not
# the parcel's).
AFTERSHIP = {
    "Pending": IGNORE,
    "InfoReceived": PLANNED,
    "InTransit": IN_TRANSIT,
    "OutForDelivery": OUT,
    "AttemptFail": ATTEMPTED,
    "Delivered": DELIVERED,
    "AvailableForPickup": ARRIVED,
    "Exception": RAISED,
    "Expired": IGNORE,
}
SHIPPO = {
    "UNKNOWN": IGNORE,
    "PRE_TRANSIT": PLANNED,
    "TRANSIT": IN_TRANSIT,
    "DELIVERED": DELIVERED,
    "RETURNED": FAILED,
    "FAILURE": FAILED,
}
# Shippo has no out-for-delivery status: TRANSIT + substatus out_for_delivery.
SHIPPO_SUBSTATUS = {
    "out_for_delivery": OUT,
    "package_accepted": PICKED_UP,
    "package_arrived": ARRIVED,
    "package_departed": DEPARTED,
    "pickup_available": ARRIVED,
    "delayed": DELAYED,
    "delivery_attempted": ATTEMPTED,
    "notice_left": ATTEMPTED,
    "location_inaccessible": ATTEMPTED,
    "address_issue": ATTEMPTED,
    "return_to_sender": FAILED,
    "package_undeliverable": FAILED,
    "package_unclaimed": FAILED,
    "package_disposed": FAILED,
    "package_damaged": RAISED,
    "package_lost": RAISED,
    "package_held": RAISED,
    "contact_carrier": RAISED,
}

CODE_TABLES = (
    CodeTable(name="carrier.easypost", title="EasyPost tracking detail status", entries=EASYPOST),
    CodeTable(
        name="carrier.easypost_detail",
        title="EasyPost status_detail (consulted first; unlisted details use the status)",
        entries=EASYPOST_DETAIL,
    ),
    CodeTable(name="carrier.aftership", title="AfterShip checkpoint tag", entries=AFTERSHIP),
    CodeTable(name="carrier.shippo", title="Shippo tracking status", entries=SHIPPO),
    CodeTable(
        name="carrier.shippo_substatus",
        title="Shippo substatus code (consulted first; unlisted codes use the status)",
        entries=SHIPPO_SUBSTATUS,
    ),
)
