"""The one representation both EPCIS syntaxes are read into (json_doc.py, xml_doc.py), so that
mapping.py and event_hash.py see the same event whether it came as JSON-LD or XML.

Standard fields keep their EPCIS names and values as sent (identifiers as strings; quantities and
sensor values as the JSON number / XML text they were). User extensions (fields of any other
namespace) are `Ext` trees: `key` is the name as written (``example:myField``), `name` its
identity (``{http://ns.example.com/epcis}myField``: the namespace IRI, without a trailing ``/``,
``#`` or ``:``, so that the XML namespace ``http://ns.example.com/epcis`` and the JSON-LD prefix
``http://ns.example.com/epcis/`` of GS1's own §9.6.1 example are one namespace), whatever prefix
the document chose."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool | None

EVENT_KINDS = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
)
SCALAR_FIELDS = (
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "action",
    "bizStep",
    "disposition",
    "parentID",
    "transformationID",
)
EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
POINTS = ("readPoint", "bizLocation")
TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}
SENSOR_METADATA = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
SENSOR_REPORT = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
# Deeper user extensions are refused: no partner needs them, and every walk below is recursive.
MAX_EXT_DEPTH = 32


class TooDeep(ValueError):
    """A user extension nested deeper than MAX_EXT_DEPTH."""


@dataclass
class Ext:
    """A user extension element / JSON-LD member: a value, children, or both (XML)."""

    key: str
    name: str
    value: Scalar = None
    children: list["Ext"] = field(default_factory=list)


@dataclass
class Point:
    """readPoint / bizLocation: the id and the extensions inside it."""

    id: str | None
    ext: list[Ext] = field(default_factory=list)


@dataclass
class Typed:
    """A bizTransaction, source or destination: its identifier and type (as sent)."""

    value: str
    type: str | None


@dataclass
class Quantity:
    epc_class: str
    quantity: Scalar
    uom: str | None


@dataclass
class SensorReport:
    fields: dict[str, Scalar]
    ext: list[Ext] = field(default_factory=list)


@dataclass
class SensorElement:
    metadata: dict[str, Scalar] | None
    metadata_ext: list[Ext] = field(default_factory=list)
    reports: list[SensorReport] = field(default_factory=list)
    ext: list[Ext] = field(default_factory=list)


@dataclass
class ErrorDeclaration:
    declaration_time: str | None
    reason: str | None
    corrective_event_ids: list[str] = field(default_factory=list)
    ext: list[Ext] = field(default_factory=list)


@dataclass
class RawEvent:
    """One EPCIS event as read, before mapping. `problems` are what made a field unreadable
    (the event is then rejected with them); `position` is 1-based in its document."""

    kind: str
    position: int
    scalars: dict[str, str] = field(default_factory=dict)
    epcs: dict[str, list[str]] = field(default_factory=dict)
    quantities: dict[str, list[Quantity]] = field(default_factory=dict)
    points: dict[str, Point] = field(default_factory=dict)
    typed: dict[str, list[Typed]] = field(default_factory=dict)
    sensors: list[SensorElement] | None = None
    persistent: dict[str, list[str]] | None = None
    certification: list[str] = field(default_factory=list)
    error: ErrorDeclaration | None = None
    ilmd: list[Ext] | None = None
    extensions: list[Ext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def where(self) -> str:
        """How a rejection names this event for a partner: ``event 2 (ObjectEvent)``."""
        return f"event {self.position} ({self.kind})"


def split_iri(iri: str) -> tuple[str, str]:
    """``http://ns.example.com/epcis/myField`` → (``http://ns.example.com/epcis``, ``myField``):
    split at the last ``/``, ``#`` or ``:`` (a JSON-LD term expanded from its prefix)."""
    cut = max(iri.rfind("/"), iri.rfind("#"), iri.rfind(":"))
    if cut <= 0 or cut == len(iri) - 1:
        return "", iri
    return norm_ns(iri[:cut]), iri[cut + 1 :]


def norm_ns(namespace: str) -> str:
    """A namespace IRI without its trailing separators (see the module docstring)."""
    return namespace.rstrip("/#:")


def ext_name(namespace: str | None, local: str) -> str:
    return f"{{{norm_ns(namespace)}}}{local}" if namespace else local


def ext_json(nodes: Iterable[Ext], depth: int = 0) -> dict[str, Any]:
    """Extensions as a JSON object for attributes: keys as written, a repeated key a list, an
    element with children an object (its own text, if any, under ``"#text"``)."""
    if depth > MAX_EXT_DEPTH:
        raise TooDeep
    out: dict[str, Any] = {}
    for node in nodes:
        if node.children:
            value: Any = ext_json(node.children, depth + 1)
            if node.value not in (None, ""):
                value["#text"] = node.value
        else:
            value = node.value
        if node.key in out:
            previous = out[node.key]
            if isinstance(previous, _Repeated):
                previous.append(value)
            else:
                out[node.key] = _Repeated([previous, value])
        else:
            out[node.key] = value
    return {k: list(v) if isinstance(v, _Repeated) else v for k, v in out.items()}


class _Repeated(list[Any]):
    """A list built from a repeated key (not a JSON array sent as one value)."""
