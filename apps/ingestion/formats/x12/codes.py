"""X12 code lists: the default code tables (standard codes → canonical types) and the static
texts of the lists that do not decide a type (1651 reasons, 1652 appointments, set names).

Sources: contracts/vocabularies.md §2 (1650, 1651, 1652), the X12 element lists 128
(reference qualifiers), 235 (product id qualifiers), 353/473 (purpose and order status).
The type of a 214 status comes from `x12.at7` (AT701, element 1650) or, for an AT7 that only
reports an appointment, `x12.at7_appointment` (AT703, element 1652); the type of every other
set from `x12.transaction_set` (ST01, "<set>/<purpose>" for a cancellation)."""

from ..base import IGNORE, CodeTable

AT7_TABLE = "x12.at7"
APPOINTMENT_TABLE = "x12.at7_appointment"
SET_TABLE = "x12.transaction_set"

# Element 1650 Shipment Status Code → canonical type. X1 is arrival at DELIVERY, X3 at
# PICK-UP (a public document swaps them). Arriving at the consignee is the last step before
# delivery (stage out_for_delivery); arriving at the pick-up location precedes the pick-up, so
# it is no milestone of the shipment (an "arrived" would move the order to in_transit).
# Estimates (AG, X2) carry their time in `eta`; terminal estimates (B6, C1), the carrier
# leaving after delivery (CD) and loading in progress (L1) are deliberately not milestones.
AT7_STATUS: dict[str, str] = {
    "A3": "delivery.failed",  # shipment returned to shipper
    "A7": "delivery.attempted",  # refused by consignee
    "A9": "exception.raised",  # shipment damaged
    "AF": "shipment.departed",  # carrier departed pick-up location with shipment
    "AG": "shipment.eta_updated",  # estimated delivery
    "AH": "delivery.attempted",  # attempted delivery
    "AI": "exception.raised",  # shipment has been reconsigned
    "AJ": "delivery.out_for_delivery",  # tendered for delivery
    "AM": "shipment.loaded",  # loaded on truck
    "AN": "shipment.in_transit",  # diverted to air carrier
    "AP": "delivery.attempted",  # delivery not completed
    "AR": "shipment.arrived",  # rail arrival at destination intermodal ramp
    "AV": "shipment.arrived",  # available for delivery
    "B6": IGNORE,  # estimated to arrive at carrier terminal
    "BA": "shipment.in_transit",  # connecting line or cartage pick-up
    "BC": "shipment.in_transit",  # storage in transit
    "C1": IGNORE,  # estimated to depart terminal location
    "CA": "exception.raised",  # shipment cancelled (no shipment.cancelled type; never order.cancelled)
    "CD": IGNORE,  # carrier departed delivery location
    "CL": "shipment.loaded",  # trailer closed out
    "CP": "shipment.picked_up",  # completed loading at pick-up location
    "D1": "delivery.completed",  # completed unloading at delivery location
    "I1": "shipment.arrived",  # in-gate
    "J1": "shipment.in_transit",  # delivered to connecting line
    "K1": "shipment.arrived",  # arrived at customs
    "L1": IGNORE,  # loading (in progress; CP completes it)
    "OA": "shipment.departed",  # out-gate
    "OO": "exception.raised",  # paperwork received, did not receive shipment or equipment
    "P1": "shipment.departed",  # departed terminal location
    "PR": "shipment.delayed",  # U.S. customs hold at in-bond location
    "R1": "shipment.in_transit",  # received from prior carrier
    "RL": "shipment.departed",  # rail departure from origin intermodal ramp
    "S1": "delivery.out_for_delivery",  # trailer spotted at consignee's location
    "SD": "shipment.delayed",  # shipment delayed
    "X1": "delivery.out_for_delivery",  # arrived at DELIVERY location
    "X2": "shipment.eta_updated",  # estimated date/time of arrival at consignee's location
    "X3": IGNORE,  # arrived at PICK-UP location
    "X4": "shipment.arrived",  # arrived at terminal location
    "X5": "delivery.out_for_delivery",  # arrived at delivery location loading dock
    "X6": "shipment.in_transit",  # en route to delivery location
    "X8": IGNORE,  # arrived at pick-up location loading dock
    "XB": "shipment.tender_accepted",  # shipment acknowledged
}

STATUS_TEXT: dict[str, str] = {
    "A3": "Shipment returned to shipper",
    "A7": "Refused by consignee",
    "A9": "Shipment damaged",
    "AF": "Carrier departed pick-up location with shipment",
    "AG": "Estimated delivery",
    "AH": "Attempted delivery",
    "AI": "Shipment has been reconsigned",
    "AJ": "Tendered for delivery",
    "AM": "Loaded on truck",
    "AN": "Diverted to air carrier",
    "AP": "Delivery not completed",
    "AR": "Rail arrival at destination intermodal ramp",
    "AV": "Available for delivery",
    "B6": "Estimated to arrive at carrier terminal",
    "BA": "Connecting line or cartage pick-up",
    "BC": "Storage in transit",
    "C1": "Estimated to depart terminal location",
    "CA": "Shipment cancelled",
    "CD": "Carrier departed delivery location",
    "CL": "Trailer closed out",
    "CP": "Completed loading at pick-up location",
    "D1": "Completed unloading at delivery location",
    "I1": "In-gate",
    "J1": "Delivered to connecting line",
    "K1": "Arrived at customs",
    "L1": "Loading",
    "OA": "Out-gate",
    "OO": "Paperwork received, did not receive shipment or equipment",
    "P1": "Departed terminal location",
    "PR": "U.S. Customs hold at in-bond location",
    "R1": "Received from prior carrier",
    "RL": "Rail departure from origin intermodal ramp",
    "S1": "Trailer spotted at consignee's location",
    "SD": "Shipment delayed",
    "X1": "Arrived at delivery location",
    "X2": "Estimated date and/or time of arrival at consignee's location",
    "X3": "Arrived at pick-up location",
    "X4": "Arrived at terminal location",
    "X5": "Arrived at delivery location loading dock",
    "X6": "En route to delivery location",
    "X8": "Arrived at pick-up location loading dock",
    "XB": "Shipment acknowledged",
}

# Statuses whose AT7 date/time is an estimate, not when something happened: it goes to `eta`
# and the event occurred when the document was made (GS04/GS05).
ESTIMATE_STATUSES = frozenset({"AG", "X2", "B6", "C1"})
ETA_STATUSES = frozenset({"AG", "X2"})

# Element 1652 Appointment Status Code → canonical type (an AT7 with AT703 and no AT701).
AT7_APPOINTMENT: dict[str, str] = {
    "AA": IGNORE,  # pickup appointment
    "AB": "shipment.eta_updated",  # delivery appointment
    "AC": "shipment.eta_updated",  # estimated delivery appointment
    "ED": IGNORE,  # deliver no earlier than (a window: attributes of the set's events)
    "EP": IGNORE,  # pickup no earlier than
    "LD": "shipment.eta_updated",  # deliver no later than: the promise (promised_by)
    "LP": IGNORE,  # pickup no later than
    "X9": "shipment.eta_updated",  # delivery appointment secured on
    "XA": IGNORE,  # pickup appointment secured on
}
APPOINTMENT_TEXT: dict[str, str] = {
    "AA": "Pickup appointment",
    "AB": "Delivery appointment",
    "AC": "Estimated delivery appointment",
    "ED": "Deliver no earlier than",
    "EP": "Pickup no earlier than",
    "LD": "Deliver no later than",
    "LP": "Pickup no later than",
    "X9": "Delivery appointment secured on",
    "XA": "Pickup appointment secured on",
}
ETA_APPOINTMENTS = frozenset({"AB", "AC", "X9"})
WINDOW_APPOINTMENTS = frozenset({"ED", "LD", "EP", "LP"})

# Element 1651 Shipment Status or Appointment Reason Code (the verified subset; NS = normal).
REASON_TEXT: dict[str, str] = {
    "NS": "Normal status",
    "A1": "Missed delivery",
    "A2": "Incorrect address",
    "A3": "Indirect delivery",
    "A5": "Unable to locate",
    "A6": "Address corrected, delivery attempted",
    "AA": "Mis-sort",
    "AD": "Customer requested future delivery",
    "AE": "Restricted articles unacceptable",
    "AF": "Accident",
    "AG": "Consignee related",
    "AH": "Driver related",
    "AI": "Mechanical breakdown",
    "AJ": "Other carrier related",
    "AK": "Damaged, rewrapped in hub",
    "AL": "Previous stop",
    "AM": "Shipper related",
    "AN": "Holiday, closed",
    "AO": "Weather or natural disaster related",
    "AP": "Awaiting export",
    "AQ": "Recipient unavailable, delivery delayed",
    "AR": "Improper international paperwork",
    "AS": "Hold due to customs documentation problems",
    "AT": "Unable to contact recipient for broker information",
    "AU": "Civil event related delay",
    "AV": "Exceeds service limitations",
    "AW": "Past cut-off time",
    "AX": "Insufficient pick-up time",
    "AY": "Missed pick-up",
    "AZ": "Alternate carrier delivered",
    "B1": "Consignee closed",
    "B2": "Trap for customer",
    "B4": "Held for payment",
    "B5": "Held for consignee",
    "B8": "Improper unloading facility or equipment",
    "B9": "Receiving time restricted",
    "BB": "Held per shipper",
    "BC": "Missing documents",
    "BD": "Border clearance",
    "BE": "Road conditions",
    "BF": "Carrier keying error",
    "BG": "Other",
    "BH": "Insufficient time to complete delivery",
    "BI": "Cartage agent",
    "BJ": "Customer wanted earlier delivery",
    "BK": "Prearranged appointment",
    "BL": "Held for protective service",
    "BM": "Flatcar shortage",
    "BN": "Failed to release billing",
    "BO": "Railroad failed to meet schedule",
    "BP": "Load shifted",
    "BQ": "Shipment overweight",
    "BR": "Train derailment",
    "C1": "Waiting for customer pick-up",
    "C2": "Credit hold",
    "C3": "Suspended at customer request",
    "C4": "Customer vacation",
    "C5": "Customer strike",
    "C6": "Waiting shipping instructions",
    "C7": "Waiting for customer-specified carrier",
    "C8": "Collect on delivery required",
    "C9": "Cash not available from consignee",
    "CA": "Customs (import or export)",
    "CB": "No requested arrival date provided by shipper",
    "CC": "No requested arrival time provided by shipper",
    "D1": "Carrier dispatch error",
}

# ST01 → canonical type, for every set but the 214 (whose AT7s carry their own types). A
# cancellation ("856/01", "940/F"…) is deliberately absent: unmapped, hence rejected.
SET_TYPES: dict[str, str] = {
    "856": "shipment.confirmed",  # ship notice / manifest (ASN)
    "940": "order.released",  # warehouse shipping order
    "945": "shipment.confirmed",  # warehouse shipping advice
    "204": "shipment.tendered",  # motor carrier load tender
    "210": "freight.cost_updated",  # motor carrier freight details and invoice
}

SET_NAMES: dict[str, str] = {
    "110": "air freight details and invoice",
    "204": "motor carrier load tender",
    "210": "motor carrier freight details and invoice",
    "211": "motor carrier bill of lading",
    "212": "motor carrier delivery trailer manifest",
    "214": "transportation carrier shipment status message",
    "310": "freight receipt and invoice (ocean)",
    "315": "status details (ocean)",
    "322": "terminal operations and intermodal ramp activity",
    "404": "rail carrier shipment information",
    "810": "invoice",
    "820": "payment order / remittance advice",
    "824": "application advice",
    "830": "planning schedule",
    "832": "price / sales catalog",
    "846": "inventory inquiry / advice",
    "850": "purchase order",
    "855": "purchase order acknowledgment",
    "856": "ship notice / manifest",
    "857": "shipment and billing notice",
    "860": "purchase order change",
    "940": "warehouse shipping order",
    "943": "warehouse stock transfer shipment advice",
    "944": "warehouse stock transfer receipt advice",
    "945": "warehouse shipping advice",
    "947": "warehouse inventory adjustment advice",
    "990": "response to a load tender",
    "997": "functional acknowledgment",
    "999": "implementation acknowledgment",
}

# Element 128 reference qualifiers (L11, N9, REF) that name a ref kind. BM (bill of lading)
# and the invoice numbers are handled apart: see refs.RefBag.
REF_KINDS: dict[str, str] = {
    "PO": "customer_po",  # purchase order number
    "OQ": "order",  # order number
    "ON": "order",  # dealer order number
    "CN": "tracking_number",  # carrier's reference number (PRO)
    "2I": "tracking_number",  # tracking number
    "PRO": "tracking_number",  # not an element 128 code, but what some carriers send for CN
    "LO": "load",  # load planning number
}
BOL_QUALIFIERS = frozenset({"BM"})
INVOICE_QUALIFIERS = frozenset({"IN", "IV"})  # consignee's / seller's invoice number

# Element 235 product id qualifiers, the most specific first: which id becomes a line's sku.
SKU_PREFERENCE = ("BP", "VN", "VP", "SK", "CB", "IN", "UP", "UK", "EN", "UA", "VC", "MG", "PN")

CODE_TABLES = (
    CodeTable(name=AT7_TABLE, title="X12 214 AT701 shipment status (element 1650)", entries=AT7_STATUS),
    CodeTable(name=APPOINTMENT_TABLE, title="X12 214 AT703 appointment status (element 1652)", entries=AT7_APPOINTMENT),
    CodeTable(name=SET_TABLE, title="X12 transaction set (ST01) of the sets mapped whole", entries=SET_TYPES),
)
