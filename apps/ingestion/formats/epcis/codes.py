"""CBV 2.0 vocabularies: the short names of bizStep, disposition, business transaction and
source/destination types whatever form they are sent in, and the default code tables.

A CBV value arrives in one of four forms, all meaning the same term:

* bare (EPCIS 2.0 JSON-LD): ``shipping``
* URN (EPCIS 1.x and 2.0 XML): ``urn:epcglobal:cbv:bizstep:shipping``
* Web URI (CBV 2.0): ``https://ref.gs1.org/cbv/BizStep-shipping`` (seen with ``Bizstep-``, and
  as ``https://gs1.org/voc/…`` in drafts)
* CURIE: ``cbv:BizStep-shipping``

`short()` gives the bare name for every form (that is the code a code table is keyed on and what
source_status shows); a value of any other form (a partner's own URI such as
``urn:example:uservocab:bizstep:quarantined``) is its own code, trimmed, as sent.

The default tables map the CBV 2.0 lists of vocabularies.md §1: bizStep → the canonical
milestone it means for an order's journey (or IGNORE: not a logistics milestone of an order),
and the few dispositions that change what the event means (see mapping.py for how the two
combine)."""

import re

from ..base import IGNORE, CodeTable

BIZSTEP_TABLE = "epcis.bizstep"
DISPOSITION_TABLE = "epcis.disposition"

_URN = re.compile(r"^urn:epcglobal:cbv:(bizstep|disp|btt|sdt|er):(.+)$", re.IGNORECASE)
_WEB = re.compile(
    r"^(?:https?://(?:ref\.|ns\.)?gs1\.org/(?:cbv|voc)/|cbv:)(BizStep|Disp|BTT|SDT|ER)-(.+)$", re.IGNORECASE
)
_BARE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def short(value: str) -> str:
    """The CBV bare name of `value` (any of the four forms), else `value` trimmed, as sent."""
    value = value.strip()
    match = _URN.match(value) or _WEB.match(value)
    return match.group(2) if match else value


def to_urn(value: str, vocab: str) -> str:
    """The URN form of a CBV value of vocabulary `vocab` ("bizstep", "disp", "btt", "sdt", "er"):
    what the event hash is computed over (the form GS1's published example eventIDs were hashed
    from). A bare name becomes ``urn:epcglobal:cbv:<vocab>:<name>``; a Web URI or CURIE its URN;
    anything else (a URN already, a partner's own URI) stays as sent."""
    value = value.strip()
    if _BARE.match(value):
        return f"urn:epcglobal:cbv:{vocab}:{value}"
    return web_to_urn(value)


def web_to_urn(value: str) -> str:
    """A CBV Web URI / CURIE (``https://ref.gs1.org/cbv/Disp-in_transit``) as its URN; any
    other value unchanged (URNs are lower-cased in their fixed prefix only)."""
    match = _WEB.match(value)
    if match:
        return f"urn:epcglobal:cbv:{match.group(1).lower()}:{match.group(2)}"
    match = _URN.match(value)
    if match:
        return f"urn:epcglobal:cbv:{match.group(1).lower()}:{match.group(2)}"
    return value


# CBV 2.0 business steps (vocabularies.md §1, 41 terms). Why each maps as it does:
# * picking / packing: the warehouse milestones. staging_outbound ("moves to an area where it will
#   await transport pick-up") is after packing, so pack.completed (the order is packed).
# * loading / shipping / departing / arriving / transporting: the shipment milestones; consigning
#   is shipping with the change of possession on the outbound side (CBV), so shipment.confirmed;
#   unloading "from a shipping conveyance" means it arrived somewhere: shipment.arrived.
# * receiving / accepting: taken into the receiver's inventory / possession. In an order's
#   journey that is the consignee receiving the goods: delivery.completed. (Not return.received:
#   a return is a receiving with disposition `returned`, see the disposition table.) A feed whose
#   receiving events are intermediate (DC to DC) maps them to shipment.arrived in its own table.
# * void_shipping (a prior shipping did not happen) and holding (segregated for review) are
#   exceptions of the order's journey: exception.raised, reason = the bizStep.
# * everything about identifiers, production, inventory, inspection, sensors and retail:
#   IGNORE, not a logistics milestone of an order (a failed inspection still shows, through its
#   disposition). `other` ("a business step not identified by any of the values listed in the
#   CBV") says nothing: left unmapped, so such events are rejected until the feed maps it.
BIZSTEP_DEFAULTS: dict[str, str] = {
    "picking": "pick.completed",
    "packing": "pack.completed",
    "staging_outbound": "pack.completed",
    "loading": "shipment.loaded",
    "shipping": "shipment.confirmed",
    "consigning": "shipment.confirmed",
    "departing": "shipment.departed",
    "transporting": "shipment.in_transit",
    "arriving": "shipment.arrived",
    "unloading": "shipment.arrived",
    "receiving": "delivery.completed",
    "accepting": "delivery.completed",
    "void_shipping": "exception.raised",
    "holding": "exception.raised",
    **dict.fromkeys(
        (
            "assembling",
            "collecting",
            "commissioning",
            "creating_class_instance",
            "cycle_counting",
            "decommissioning",
            "destroying",
            "disassembling",
            "dispensing",
            "encoding",
            "entering_exiting",
            "inspecting",
            "installing",
            "killing",
            "removing",
            "repackaging",
            "repairing",
            "replacing",
            "reserving",
            "retail_selling",
            "sampling",
            "sensor_reporting",
            "stock_taking",
            "stocking",
            "storing",
            "unpacking",
        ),
        IGNORE,
    ),
}

# Dispositions that change what an event means. Keys are a disposition ("damaged": whatever the
# bizStep) or "<bizStep>/<disposition>" ("receiving/returned": only that pair, looked up first).
# A disposition that is not in the table leaves the bizStep's type (in_transit, in_progress, …
# qualify a milestone, they do not change it).
DISPOSITION_DEFAULTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "damaged",
            "destroyed",
            "stolen",
            "recalled",
            "expired",
            "mismatch_class",
            "mismatch_instance",
            "mismatch_quantity",
            "non_conformant",
            "no_pedigree_match",
        ),
        "exception.raised",
    ),
    "receiving/returned": "return.received",
    "accepting/returned": "return.received",
}

# reason.text of the exceptions the defaults produce (CBV 2.0 definitions, shortened).
REASON_TEXTS: dict[str, str] = {
    "damaged": "object is impaired in its usefulness and/or reduced in value due to a defect",
    "destroyed": "object has been fully rendered non-usable",
    "stolen": "object has been taken without permission or right",
    "recalled": "object is non-sellable because of public safety reasons",
    "expired": "object's expiration date is in the past",
    "mismatch_class": "class-level identifiers do not correspond to those expected",
    "mismatch_instance": "instance-level identifiers do not correspond to those expected",
    "mismatch_quantity": "quantity does not correspond to the quantity expected",
    "non_conformant": "outcome of an unsuccessful/failed inspection",
    "no_pedigree_match": "no pedigree match found: product quarantined for investigation",
    "void_shipping": "objects of a prior shipping were not shipped as previously indicated",
    "holding": "object is segregated for further review",
}

CODE_TABLES = (
    CodeTable(
        name=BIZSTEP_TABLE,
        title="EPCIS / CBV 2.0 business step (bizStep)",
        entries=BIZSTEP_DEFAULTS,
    ),
    CodeTable(
        name=DISPOSITION_TABLE,
        title="EPCIS / CBV 2.0 disposition that overrides the bizStep (key: disposition or bizStep/disposition)",
        entries=DISPOSITION_DEFAULTS,
    ),
)

# Business transaction type (short name) → ref kind. A BOL is the carrier's document for the
# shipment: a tracking_number (an alias of the shipment), so that an event carrying both a
# despatch advice and a BOL keeps one `shipment` and binds the BOL to it. Types not listed (poc,
# prodorder, recadv, cert, pedigree, testprd, testres, upevt, partner types) go to attributes.
BTT_REF_KINDS: dict[str, str] = {
    "po": "customer_po",
    "inv": "invoice",
    "desadv": "shipment",
    "bol": "tracking_number",
    "rma": "return",
}
