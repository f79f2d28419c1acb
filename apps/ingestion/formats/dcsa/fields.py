"""The parts of a DCSA event that become canonical fields: location (UN/LOCODEs checked) and
refs (bookings, transport documents, purchase orders, containers). Each takes what it maps out
of the event's remainder, which becomes the attributes."""

from typing import Any

from . import checks
from .tables import DOCUMENT_REFS, EQUIPMENT_REFERENCE_TYPES, REFERENCE_REFS


def text(value: object) -> str | None:
    """A non-empty stripped string, else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def first(obj: dict[str, Any], *keys: str) -> tuple[str, object]:
    """The first of `keys` present in `obj` (2.2 and 3.0 spell some fields differently)."""
    for key in keys:
        if key in obj:
            return key, obj[key]
    return keys[0], None


def shown(value: object) -> str:
    """A value as a rejection quotes it: short scalars as sent, anything else by its type."""
    return (
        repr(value) if isinstance(value, str | int | float | bool) and len(repr(value)) <= 60 else type(value).__name__
    )


def sub(rest: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A copy of the object at `key`, put back in `rest` (what is taken from it is mapped)."""
    value = rest.get(key)
    if not isinstance(value, dict):
        return None
    copy = dict(value)
    rest[key] = copy
    return copy


def _coordinate(value: object, limit: float) -> float | None:
    try:
        number = float(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    except ValueError:
        return None
    if number is None or not -limit <= number <= limit:
        return None
    return number


def location(rest: dict[str, Any], v3: bool, errors: list[str]) -> dict[str, Any]:
    """location {code: UN/LOCODE, name, lat, lon} from eventLocation, else (2.x) the transport
    call; every UN/LOCODE the event carries is checked. What is taken leaves the attributes."""
    places: list[tuple[str, dict[str, Any]]] = []
    where = sub(rest, "eventLocation")
    if where is not None:
        places.append(("eventLocation", where))
    call = None if v3 else sub(rest, "transportCall")
    if call is not None:
        inner = sub(call, "location")
        if inner is not None:
            places.append(("transportCall.location", inner))
        places.append(("transportCall", call))
    for path, place in places:
        if place.get("UNLocationCode") is not None and (
            error := checks.locode_error(f"{path}.UNLocationCode", place["UNLocationCode"])
        ):
            errors.append(error)
    for _path, place in places:
        location: dict[str, Any] = {}
        if code := text(place.get("UNLocationCode")):
            location["code"] = code
            place.pop("UNLocationCode")
        if name := text(place.get("locationName")):
            location["name"] = name
            place.pop("locationName")
        geo = sub(place, "geoCoordinate") if v3 else place
        if geo is not None:
            lat, lon = _coordinate(geo.get("latitude"), 90), _coordinate(geo.get("longitude"), 180)
            if lat is not None and lon is not None:
                location.update(lat=lat, lon=lon)
                geo.pop("latitude")
                geo.pop("longitude")
        if location:
            return location
    return {}


class Refs:
    def __init__(self) -> None:
        self.ids: dict[str, list[str]] = {}
        self.equipment: list[str] = []

    def add(self, kind: str, value: str) -> None:
        values = self.equipment if kind == "equipment" else self.ids.setdefault(kind, [])
        if value not in values:
            values.append(value)

    def documents(self, items: object, type_keys: tuple[str, ...], value_key: str) -> list[Any]:
        """Map document references; return those that name no ref (kept in attributes)."""
        rest = []
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict):
                rest.append(item)
                continue
            kind = DOCUMENT_REFS.get(str(first(item, *type_keys)[1]))
            value = text(item.get(value_key))
            if kind and value:
                self.add(kind, value)
            else:
                rest.append(item)
        return rest

    def references(self, items: object, type_keys: tuple[str, ...], value_key: str) -> list[Any]:
        rest = []
        for item in items if isinstance(items, list) else [items]:
            kind_code = str(first(item, *type_keys)[1]) if isinstance(item, dict) else ""
            value = text(item.get(value_key)) if isinstance(item, dict) else None
            if value and kind_code in EQUIPMENT_REFERENCE_TYPES:
                self.add("equipment", value)
            elif value and kind_code in REFERENCE_REFS:
                self.add(REFERENCE_REFS[kind_code], value)
            else:
                rest.append(item)
        return rest


def _put(owner: dict[str, Any], key: str, rest: list[Any]) -> None:
    if rest:
        owner[key] = rest
    else:
        owner.pop(key, None)


def refs_of(rest: dict[str, Any], v3: bool) -> Refs:
    refs = Refs()
    if v3:
        details = sub(rest, "shipmentDetails")
        if details is not None:
            if "documentReference" in details:
                primary = details["documentReference"]
                left = refs.documents(primary, ("typeCode", "type"), "reference")
                _put(details, "documentReference", left)
                if left and not isinstance(primary, list):
                    details["documentReference"] = left[0]
            if "additionalDocumentReferences" in details:
                extra = details["additionalDocumentReferences"]
                _put(details, "additionalDocumentReferences", refs.documents(extra, ("typeCode", "type"), "reference"))
            if "shipmentReferences" in details:
                _put(
                    details,
                    "shipmentReferences",
                    refs.references(details["shipmentReferences"], ("typeCode", "type"), "reference"),
                )
        equipment = sub(rest, "equipmentDetails")
        if equipment is not None and (value := text(equipment.get("equipmentReference"))):
            refs.add("equipment", value)
            equipment.pop("equipmentReference")
        return refs
    if "documentReferences" in rest:
        _put(
            rest,
            "documentReferences",
            refs.documents(rest["documentReferences"], ("documentReferenceType",), "documentReferenceValue"),
        )
    kind = DOCUMENT_REFS.get(str(rest.get("documentTypeCode")))
    if kind and (value := text(rest.get("documentID"))):
        refs.add(kind, value)
        rest.pop("documentID")
    if "references" in rest:
        _put(rest, "references", refs.references(rest["references"], ("referenceType",), "referenceValue"))
    if value := text(rest.get("equipmentReference")):
        refs.add("equipment", value)
        rest.pop("equipmentReference")
    return refs
