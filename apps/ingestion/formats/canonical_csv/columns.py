"""The columns of canonical-csv: the canonical event's fields, flattened with dots."""

import math
import re

REF_KINDS: tuple[str, ...] = (
    "order",
    "shipment",
    "warehouse_task",
    "delivery_run",
    "tracking_number",
    "customer_po",
    "invoice",
    "lpn",
    "load",
    "return",
)
TOP_FIELDS: tuple[str, ...] = (
    "event_id",
    "type",
    "occurred_at",
    "source_status",
    "eta",
    "promised_by",
    "service_level",
    "customer",
)
# Object fields and their members, in the order the writer puts their columns.
GROUPS: dict[str, tuple[str, ...]] = {
    "location": ("code", "name", "lat", "lon", "tz"),
    "reason": ("code", "text"),
    "amount": ("value", "currency"),
    "pod": ("signed_by", "document_ref", "photo_ref"),
}
NUMERIC_COLUMNS = frozenset({"location.lat", "location.lon"})
ATTRIBUTES_PREFIX = "attributes."

# The writer's column order: the contract's §1 order, refs after the identity, then the rest.
COLUMNS: tuple[str, ...] = (
    *TOP_FIELDS[:4],
    *(f"refs.{kind}" for kind in REF_KINDS),
    *(f"location.{m}" for m in GROUPS["location"]),
    *(f"reason.{m}" for m in GROUPS["reason"]),
    "lines",
    *TOP_FIELDS[4:],
    *(f"amount.{m}" for m in GROUPS["amount"]),
    *(f"pod.{m}" for m in GROUPS["pod"]),
)
KNOWN_COLUMNS = frozenset(COLUMNS)

# A cell with several ids (refs.*) or several lines: items separated by ";".
ITEM_SEPARATOR = ";"

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_number(text: str) -> bool:
    """A plain decimal number (no "nan", "inf", "1_000" that float() would also take)."""
    return _NUMBER.fullmatch(text) is not None


def to_number(text: str) -> float | None:
    """The finite number a cell holds, or None."""
    if not is_number(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def known_columns_text() -> str:
    """The column list a partner is shown when the header names something else."""
    return ", ".join(
        [*TOP_FIELDS, "refs.<kind> (" + ", ".join(REF_KINDS) + ")"]
        + [f"{group}.{member}" for group, members in GROUPS.items() for member in members]
        + ["lines", "attributes.<name>"]
    )
