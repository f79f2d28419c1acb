"""EPCIS 2.0 (and 1.x) XML event elements → `RawEvent`s (xml_stream.py finds them).

Standard fields are the unqualified children of an event (EPCIS 1.x ``<extension>`` and
``<baseExtension>`` wrappers are read through); elements and attributes of any other namespace
are user extensions, an extension element's attributes becoming its children (as JSON-LD would
write them). ``xsi:type`` / ``xsi:nil`` say how a value is written, not what it is: not kept."""

from collections.abc import Iterator

from lxml import etree

from .model import (
    EPC_LISTS,
    EVENT_KINDS,
    MAX_EXT_DEPTH,
    POINTS,
    QUANTITY_LISTS,
    SCALAR_FIELDS,
    SENSOR_METADATA,
    SENSOR_REPORT,
    TYPED_LISTS,
    ErrorDeclaration,
    Ext,
    Point,
    Quantity,
    RawEvent,
    Scalar,
    SensorElement,
    SensorReport,
    TooDeep,
    Typed,
    ext_name,
)
from .xml_stream import attrib, events, local_name, qname

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_WRAPPERS = frozenset({"extension", "baseExtension"})


def read(body: bytes) -> Iterator[RawEvent]:
    """The events of an EPCIS XML body, in order."""
    for position, el in enumerate(events([body]), start=1):
        yield to_raw(el, position)


def to_raw(el: etree._Element, position: int) -> RawEvent:
    """One event element → RawEvent (problems listed, never raised)."""
    namespace, local = qname(el)
    if namespace is not None or local not in EVENT_KINDS:
        shown = f"{{{namespace}}}{local}" if namespace else local
        expected = ", ".join(sorted(EVENT_KINDS))
        return RawEvent(kind=shown[:60], position=position, problems=[f"not an EPCIS event element: {expected}"])
    event = RawEvent(kind=local, position=position)
    try:
        for child in _fields(el):
            _member(event, child)
    except TooDeep:
        event.problems.append(f"a user extension is nested deeper than {MAX_EXT_DEPTH} levels: flatten it")
    return event


def _fields(el: etree._Element) -> Iterator[etree._Element]:
    """The element children of `el`, 1.x extension / baseExtension wrappers read through."""
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if local_name(child) in _WRAPPERS:
            yield from _fields(child)
        else:
            yield child


def _text(el: etree._Element) -> str:
    return el.text or ""


def _member(event: RawEvent, el: etree._Element) -> None:
    local = local_name(el)
    if local is None or local == "type":
        event.extensions.append(_ext(el, 1))
    elif local in SCALAR_FIELDS:
        event.scalars[local] = _text(el)
    elif local in EPC_LISTS:
        event.epcs[local] = [_text(c) for c in _fields(el) if local_name(c) == "epc"]
    elif local in QUANTITY_LISTS:
        event.quantities[local] = [q for c in _fields(el) if local_name(c) == "quantityElement" for q in _quantity(c)]
    elif local in POINTS:
        ids = [_text(c) for c in _fields(el) if local_name(c) == "id"]
        ext = [_ext(c, 1) for c in _fields(el) if local_name(c) != "id"]
        event.points[local] = Point(id=ids[0] if ids else None, ext=ext)
    elif local in TYPED_LISTS:
        member = TYPED_LISTS[local]
        event.typed[local] = [Typed(value=_text(c), type=c.get("type")) for c in _fields(el) if local_name(c) == member]
    elif local == "sensorElementList":
        event.sensors = [_sensor(c) for c in _fields(el) if local_name(c) == "sensorElement"]
    elif local == "persistentDisposition":
        persistent: dict[str, list[str]] = {}
        for c in _fields(el):
            name = local_name(c)
            if name in ("set", "unset"):
                persistent.setdefault(name, []).append(_text(c))
        event.persistent = persistent
    elif local == "certificationInfo":
        event.certification.append(_text(el))
    elif local == "errorDeclaration":
        event.error = _error(el)
    elif local == "ilmd":
        event.ilmd = [_ext(c, 1) for c in _fields(el)]
    else:
        event.extensions.append(_ext(el, 1))  # an unqualified element EPCIS does not define: kept


def _quantity(el: etree._Element) -> list[Quantity]:
    values: dict[str, etree._Element] = {}
    for c in _fields(el):
        name = local_name(c)
        if name in ("epcClass", "quantity", "uom"):
            values[name] = c
    if "epcClass" not in values:
        return []
    quantity = values.get("quantity")
    nil = quantity is not None and quantity.get(f"{{{XSI}}}nil") == "true"
    uom = values.get("uom")
    return [
        Quantity(
            epc_class=_text(values["epcClass"]),
            quantity=None if quantity is None or nil else _text(quantity),
            uom=None if uom is None else _text(uom),
        )
    ]


def _attributes(el: etree._Element, names: tuple[str, ...]) -> tuple[dict[str, Scalar], list[Ext]]:
    fields: dict[str, Scalar] = {}
    ext: list[Ext] = []
    for qualified, value in attrib(el):
        if qualified in names:
            fields[qualified] = value
        else:
            ext.extend(_attribute_ext(el, qualified, value))
    ext.extend(_ext(c, 1) for c in _fields(el))
    return fields, ext


def _sensor(el: etree._Element) -> SensorElement:
    element = SensorElement(metadata=None)
    for c in _fields(el):
        name = local_name(c)
        if name == "sensorMetadata":
            element.metadata, element.metadata_ext = _attributes(c, SENSOR_METADATA)
        elif name == "sensorReport":
            fields, ext = _attributes(c, SENSOR_REPORT)
            element.reports.append(SensorReport(fields=fields, ext=ext))
        else:
            element.ext.append(_ext(c, 1))
    return element


def _error(el: etree._Element) -> ErrorDeclaration:
    error = ErrorDeclaration(declaration_time=None, reason=None)
    for c in _fields(el):
        name = local_name(c)
        if name == "declarationTime":
            error.declaration_time = _text(c)
        elif name == "reason":
            error.reason = _text(c)
        elif name == "correctiveEventIDs":
            error.corrective_event_ids = [_text(i) for i in _fields(c) if local_name(i) == "correctiveEventID"]
        else:
            error.ext.append(_ext(c, 1))
    return error


def _key(el: etree._Element, namespace: str | None, local: str) -> str:
    if namespace is None:
        return local
    prefix = next((p for p, uri in el.nsmap.items() if uri == namespace and p), None)
    return f"{prefix}:{local}" if prefix else f"{{{namespace}}}{local}"


def _attribute_ext(el: etree._Element, qualified: str, value: str) -> list[Ext]:
    namespace, _, local = qualified[1:].partition("}") if qualified.startswith("{") else (None, "", qualified)
    if namespace == XSI:
        return []  # xsi:type / xsi:nil say how a value is written, not what it is
    return [Ext(key=_key(el, namespace, local), name=ext_name(namespace, local), value=value)]


def _ext(el: etree._Element, depth: int) -> Ext:
    """An element of a user extension → Ext (its attributes become children, as in JSON-LD)."""
    if depth > MAX_EXT_DEPTH:
        raise TooDeep
    namespace, local = qname(el)
    children = [a for q, v in attrib(el) for a in _attribute_ext(el, q, v)]
    children.extend(_ext(c, depth + 1) for c in el if isinstance(c.tag, str))
    text = (el.text or "").strip()
    value: Scalar = None if not text or el.get(f"{{{XSI}}}nil") == "true" else text
    return Ext(key=_key(el, namespace, local), name=ext_name(namespace, local), value=value, children=children)
