"""The EDIFACT adapter's default code tables and the code lists it reads by.

`edifact.iftsta` maps an STS status event code (STS02, composite C555, first component) to a
canonical type. Two standard lists share that position without clashing:

* numeric codes: UN/ECE Recommendation 24 transport status codes, which data element 4405
  names for transport status from D.00B on; older directories carry the same numbers in 9011
  (EANCOM 1997: 1 Arrived … 16 Crossed border). Only codes whose meaning was checked against
  the published lists are mapped; anything else is rejected for the feed admin to map.
* alphabetic codes: ASC X12 element 157 "shipment status code", which North-American ocean
  and rail carriers put in C555 (with a carrier or X12 code list agency), e.g. the realdata
  sample's `P` (157: "Departure from location"). X12 157's numeric codes (1 delivered short …)
  would clash with Rec 24 and are left out.

STS01 (C601, 9015 status category, e.g. 1 = transport) is a category, never the status. A
feed may map a code of a named list as `<agency>:<code>` (C555 3055, e.g. `HS:P`): that entry
is looked up first, then the plain code.

`edifact.message_type` maps a message type (UNH S009 0065) whose whole message is one event;
IFTSTA is typed per STS by `edifact.iftsta`, and an override mapping IFTSTA (or any other
type) to `ignore` drops those messages."""

from ..base import IGNORE, CodeTable

IFTSTA_TABLE = "edifact.iftsta"
MESSAGE_TYPE_TABLE = "edifact.message_type"

REC24 = {
    "1": "shipment.arrived",  # Arrival completed (9011: Arrived)
    "3": "exception.raised",  # Arrived in defective condition
    "4": "exception.cleared",  # Defective equipment release (returned to service)
    "6": "shipment.planned",  # Booked (for subsequent movements)
    "7": "exception.raised",  # Booking cancelled
    "8": IGNORE,  # Cleared import restrictions: a clearance, not a movement milestone
    "9": IGNORE,  # Cleared export restrictions
    "10": IGNORE,  # Cleared by agriculture, food or fisheries authorities
    "11": IGNORE,  # Cleared by port authority
    "12": IGNORE,  # Cleared by customs
    "13": "shipment.picked_up",  # Collection/pick-up completed (9011: Collected)
    "15": IGNORE,  # Consolidated (added to a larger consignment / stuffed): handling, no milestone
    "16": "shipment.in_transit",  # Crossed border
    "17": "exception.raised",  # Customs clearance refused
    "18": "exception.raised",  # Damaged in the course of transport
    "20": "shipment.delayed",  # Delayed in the course of transport
    "21": "delivery.completed",  # Delivery completed
    "22": "delivery.completed",  # Delivery completed as per instruction
    "23": "delivery.attempted",  # Delivery not completed
    "24": "shipment.departed",  # Departure completed
    "25": "shipment.delayed",  # Departure delayed
    "27": "shipment.confirmed",  # Despatch completed (goods despatched by the consignor)
    "29": "shipment.arrived",  # Unloaded (at a facility)
    "31": "shipment.in_transit",  # En route
    "35": "shipment.in_transit",  # Forwarded to destination
    "36": "exception.raised",  # Not found
    "37": "exception.cleared",  # Found
    "40": "shipment.arrived",  # Arrival at port
    "44": "exception.cleared",  # Misrouted consignment corrected
    "45": "shipment.arrived",  # Arrival, consignee informed
    "49": "exception.raised",  # Lost (EANCOM 2002 IFTSTA)
}

X12_157 = {
    "A": "shipment.arrived",  # Arrived
    "AE": "shipment.loaded",  # Loaded on vessel
    "AF": "shipment.picked_up",  # Actual pickup / departed pickup location
    "AH": "delivery.attempted",  # Attempted delivery
    "AL": "shipment.loaded",  # Loaded on rail
    "AM": "shipment.loaded",  # Loaded on truck
    "AR": "shipment.arrived",  # Rail arrival at destination intermodal ramp
    "CA": "exception.raised",  # Load cancelled
    "D": "delivery.completed",  # Delivered
    "I": "shipment.arrived",  # In-gate
    "J": "shipment.in_transit",  # Delivered to connecting line
    "P": "shipment.departed",  # Departure from location
    "R": "shipment.in_transit",  # Received from prior carrier
}

CODE_TABLES = (
    CodeTable(
        name=IFTSTA_TABLE,
        title="IFTSTA status event (STS02): UN/ECE Rec 24 / 9011 numeric codes, X12 157 carrier codes",
        entries={**REC24, **X12_157},
    ),
    CodeTable(
        name=MESSAGE_TYPE_TABLE,
        title="EDIFACT message type (UNH 0065) mapped as one event per message (IFTSTA: per STS)",
        entries={"DESADV": "shipment.confirmed"},
    ),
)

# Reference qualifiers (1153) that name an id of a canonical ref kind; every other RFF goes
# to attributes.references. BN, the carrier's booking, identifies the shipment; BM (bill of
# lading) and CN (carrier's reference) are the carrier's numbers for it (aliases).
REF_KINDS = {
    "BN": "shipment",
    "BM": "tracking_number",
    "CN": "tracking_number",
    "ON": "order",  # order number (buyer)
    "CU": "order",  # consignor's reference
    "CO": "customer_po",  # buyer's order number
    "IV": "invoice",
}

MESSAGE_NAMES = {
    "APERAK": "application error and acknowledgement",
    "BAPLIE": "bayplan",
    "CODECO": "container gate-in/gate-out report",
    "COARRI": "container discharge/loading report",
    "CONTRL": "syntax and service report",
    "COPRAR": "container discharge/loading order",
    "DELFOR": "delivery schedule",
    "DELJIT": "delivery just in time",
    "DESADV": "despatch advice",
    "IFCSUM": "forwarding and consolidation summary",
    "IFTMBC": "booking confirmation",
    "IFTMBF": "firm booking",
    "IFTMIN": "instruction",
    "IFTSTA": "international multimodal status report",
    "INVOIC": "invoice",
    "INVRPT": "inventory report",
    "ORDCHG": "purchase order change request",
    "ORDERS": "purchase order",
    "ORDRSP": "purchase order response",
    "PRICAT": "price/sales catalogue",
    "RECADV": "receiving advice",
    "REMADV": "remittance advice",
    "SLSRPT": "sales data report",
}

TRANSPORT_MODES = {  # UN/ECE Rec 19 (8067)
    "1": "maritime",
    "2": "rail",
    "3": "road",
    "4": "air",
    "5": "mail",
    "6": "multimodal",
    "7": "fixed installation",
    "8": "inland water",
}
