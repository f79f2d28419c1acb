"""The DCSA code lists (T&T 2.2 and 3.0, both spellings of 3.0) mapped to canonical types.

Each table is keyed by the event's type code for an *actual* event (`ARRI`), and by
`<code>/<classifier>` for the others (`ARRI/EST`, `ARRI/PLN`, `ARRI/REQ`; the classifier
normalised to its 3-letter code), so that the plan/estimate/actual rule is itself a mapping a
feed can override (e.g. `DEPA/EST` → shipment.eta_updated). Sources: vocabularies.md §4, the
DCSA reference-data CSVs and the T&T 2.2 / 3.0.0 OpenAPI descriptions."""

from ..base import IGNORE, CodeTable

ARRIVED, DEPARTED, IN_TRANSIT = "shipment.arrived", "shipment.departed", "shipment.in_transit"
LOADED, PICKED_UP, PLANNED = "shipment.loaded", "shipment.picked_up", "shipment.planned"
ETA, RAISED, CLEARED = "shipment.eta_updated", "exception.raised", "exception.cleared"

# The classifier code list: ACT Actual, EST Estimated, PLN Planned, REQ Requested (3.0 spells
# them out). Only ACT reports something that happened.
CLASSIFIERS = {
    "ACT": "ACT",
    "ACTUAL": "ACT",
    "EST": "EST",
    "ESTIMATED": "EST",
    "PLN": "PLN",
    "PLANNED": "PLN",
    "REQ": "REQ",
    "REQUESTED": "REQ",
}

# Actuals. A container's moves are the shipment's moves: loaded/stuffed (shipped), gated in,
# discharged, available (arrived at a terminal), gated out (left one). Stripping and drop-off
# are mapped as arrivals, not deliveries: a CFS or depot is not the consignee.
_TRANSPORT = {
    "ARRI": ARRIVED,
    "ARRIVED": ARRIVED,
    "DEPA": DEPARTED,
    "DEPARTED": DEPARTED,
    "APPROACHING": IN_TRANSIT,
}
_EQUIPMENT = {
    "LOAD": LOADED,
    "LOADED": LOADED,
    "STUF": LOADED,
    "STUFFED": LOADED,
    "DISC": ARRIVED,
    "DISCHARGED": ARRIVED,
    "GTIN": ARRIVED,
    "GATED_IN": ARRIVED,
    "GTOT": DEPARTED,
    "GATED_OUT": DEPARTED,
    "STRP": ARRIVED,
    "STRIPPED": ARRIVED,
    "PICK": PICKED_UP,
    "PICKED_UP": PICKED_UP,
    "DROP": ARRIVED,
    "DROPPED_OFF": ARRIVED,
    "AVPU": ARRIVED,
    "AVAILABLE_FOR_PICKUP": ARRIVED,
    "AVDO": IGNORE,  # an empty container may be returned: not the cargo's move
    "AVAILABLE_FOR_DROP_OFF": IGNORE,
    "CROS": IN_TRANSIT,
    "CROSSED": IN_TRANSIT,
    "WAYP": IN_TRANSIT,
    # Customs selecting a container stops it until customs release it.
    "CUSS": RAISED,
    "CUSTOMS_SELECTED_FOR_SCAN": RAISED,
    "CUSI": RAISED,
    "CUSTOMS_SELECTED_FOR_INSPECTION": RAISED,
    "CUSR": CLEARED,
    "CUSTOMS_RELEASED": CLEARED,
    "HOLD": RAISED,  # in the reference-data CSV, not in the 2.2 enum
    "INSP": IGNORE,
    "INSPECTED": IGNORE,
    "RSEA": IGNORE,
    "RESEALED": IGNORE,
    "RMVD": IGNORE,
    "REMOVED": IGNORE,
}
# Shipment events are document events (booking, shipping instruction, transport document).
# Only the booking's life cycle and holds are milestones; the document workflow is not.
_SHIPMENT = {
    "RECE": PLANNED,
    "RECEIVED": PLANNED,
    "DRFT": PLANNED,
    "DRAFTED": PLANNED,
    "CONF": "shipment.tender_accepted",
    "CONFIRMED": "shipment.tender_accepted",
    "REJE": "shipment.tender_rejected",
    "REJECTED": "shipment.tender_rejected",
    "DECL": "shipment.tender_rejected",
    "DECLINED": "shipment.tender_rejected",
    "HOLD": RAISED,
    "ON_HOLD": RAISED,
    "RELS": CLEARED,
    "RELEASED": CLEARED,
    # A cancelled booking is not a cancelled order (it is often re-booked): someone must look.
    "CANC": RAISED,
    "CANCELLED": RAISED,
    "CACF": RAISED,
    "CANCELLATION_CONFIRMED": RAISED,
}
_DOCUMENT_WORKFLOW = (
    "PENA PENU PENC PENM PSAM PSDL APPR ISSU SURR SUAM SUDL SUBM VOID CMPL COMP REQS CARE CADC "
    "AMRE AMPR AMCF AMDC AMCN UPRE UPDT UPCF UPDC UPCN PENDING_APPROVAL PENDING_UPDATE "
    "PENDING_AMENDMENT PENDING_SURRENDER_FOR_AMENDMENT PENDING_SURRENDER_FOR_DELIVERY APPROVED "
    "ISSUED SURRENDERED SURRENDERED_FOR_AMENDMENT SURRENDERED_FOR_DELIVERY SUBMITTED VOIDED "
    "COMPLETED REQUESTED CANCELLATION_RECEIVED CANCELLATION_DECLINED AMENDMENT_RECEIVED "
    "AMENDMENT_IN_PROGRESS AMENDMENT_CONFIRMED AMENDMENT_DECLINED AMENDMENT_CANCELLED "
    "UPDATE_RECEIVED UPDATE_IN_PROGRESS UPDATE_CONFIRMED UPDATE_DECLINED UPDATE_CANCELLED"
)
for _code in _DOCUMENT_WORKFLOW.split(" "):
    _SHIPMENT[_code] = IGNORE
# IoT and reefer events are telemetry of the container, not milestones (as EPCIS sensor
# reports): known, and deliberately no event. A feed may map e.g. DRO (door opened) to
# exception.raised. The IoT code is iotDetails.iotEventCode when sent, else the type code.
_IOT_CODES = (
    "DETC DRO DRC LOC TELEMETRY PAIRING UNPAIRING DEVICE_STATUS BREADCRUMB DOOR_OPENED DOOR_CLOSED "
    "GEOFENCE_ENTRY GEOFENCE_EXIT LOCATION_REACHED MOTION_START MOTION_STOP"
)
_IOT = dict.fromkeys(_IOT_CODES.split(" "), IGNORE)
_REEFER = dict.fromkeys(("MEAS", "ADJU", "MEASURED", "ADJUSTED"), IGNORE)

# Estimates of an arrival are ETAs; every other estimate, plan or request is not news about
# the shipment (an estimated departure is not an arrival time): ignored unless a feed maps it.
_ETA_CODES = frozenset({"ARRI", "ARRIVED"})


def _with_classifiers(actuals: dict[str, str]) -> dict[str, str]:
    entries = dict(actuals)
    for code in actuals:
        for classifier in ("EST", "PLN", "REQ"):
            entries[f"{code}/{classifier}"] = ETA if classifier == "EST" and code in _ETA_CODES else IGNORE
    return entries


TABLE_OF_EVENT_TYPE = {
    "TRANSPORT": "dcsa.transport",
    "EQUIPMENT": "dcsa.equipment",
    "SHIPMENT": "dcsa.shipment",
    "IOT": "dcsa.iot",
    "REEFER": "dcsa.reefer",
}

CODE_TABLES = (
    CodeTable(
        name="dcsa.transport",
        title="DCSA transport event type (ARRI/DEPA; /EST, /PLN, /REQ for non-actuals)",
        entries=_with_classifiers(_TRANSPORT),
    ),
    CodeTable(
        name="dcsa.equipment",
        title="DCSA equipment event type (LOAD, DISC, GTIN…; /EST, /PLN, /REQ for non-actuals)",
        entries=_with_classifiers(_EQUIPMENT),
    ),
    CodeTable(
        name="dcsa.shipment",
        title="DCSA shipment (document) event type (RECE, CONF, HOLD…; /EST, /PLN, /REQ)",
        entries=_with_classifiers(_SHIPMENT),
    ),
    CodeTable(
        name="dcsa.iot",
        title="DCSA IoT event code (DRO, DRC, LOC, DETC…; /EST, /PLN, /REQ)",
        entries=_with_classifiers(_IOT),
    ),
    CodeTable(
        name="dcsa.reefer",
        title="DCSA reefer event type (MEAS, ADJU; /EST, /PLN, /REQ)",
        entries=_with_classifiers(_REEFER),
    ),
)

# Document reference types (2.2 documentTypeCode / documentReferenceType, 3.0 typeCode, and
# the spelled-out 3.0 `type`) that name a ref; every other document stays in attributes.
DOCUMENT_REFS = {
    "BKG": "shipment",
    "BOOKING": "shipment",
    "BOK": "shipment",  # deprecated spelling of BKG (2.2 shipmentInformationTypeCode)
    "CBR": "shipment",
    "CARRIER_BOOKING_REQUEST": "shipment",
    "TRD": "tracking_number",
    "TDR": "tracking_number",
    "TRANSPORT_DOCUMENT": "tracking_number",
}
# Shipment references (2.2 referenceType, 3.0 ShipmentReference.typeCode): PO is the
# customer's purchase order; EQ a container; the others (FF, SI, CR, AAO…) stay in attributes.
REFERENCE_REFS = {"PO": "customer_po"}
EQUIPMENT_REFERENCE_TYPES = frozenset({"EQ"})

DESCRIPTIONS = {
    "CUSS": "Customs selected for scan",
    "CUSTOMS_SELECTED_FOR_SCAN": "Customs selected for scan",
    "CUSI": "Customs selected for inspection",
    "CUSTOMS_SELECTED_FOR_INSPECTION": "Customs selected for inspection",
    "CUSR": "Customs released",
    "CUSTOMS_RELEASED": "Customs released",
    "HOLD": "On hold",
    "ON_HOLD": "On hold",
    "RELS": "Released",
    "RELEASED": "Released",
    "CANC": "Cancelled",
    "CANCELLED": "Cancelled",
    "CACF": "Cancellation confirmed",
    "CANCELLATION_CONFIRMED": "Cancellation confirmed",
    "REJE": "Rejected",
    "REJECTED": "Rejected",
    "DECL": "Declined",
    "DECLINED": "Declined",
}
