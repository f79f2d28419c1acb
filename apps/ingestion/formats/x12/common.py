"""What every transaction-set mapper shares: the set's context and candidates, references
routed by qualifier, parties, line items, amounts and the source-derived event id."""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ..base import IGNORE, Candidate, FeedContext, reject
from .codes import BOL_QUALIFIERS, INVOICE_QUALIFIERS, REF_KINDS, SKU_PREFERENCE
from .envelope import TxSet
from .times import Stamp, parse_date, parse_time, stamp
from .tokens import Segment

_NUMBER = re.compile(r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


@dataclass
class SetEnv:
    """What a mapper knows of the set it maps."""

    tx: TxSet
    ctx: FeedContext
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def where(self) -> str:
        """Which set, for messages: "interchange …, group …, set … (214)"."""
        return self.tx.name

    @property
    def sender(self) -> str:
        """The sending party: GS02 (application sender), else ISA06. GS02 rather than ISA06
        because the interchange sender is often a VAN or translator mailbox, which changes
        when the partner changes provider; a re-send must keep its event ids."""
        if self.tx.group is not None and self.tx.group.gs.el(2):
            return self.tx.group.gs.el(2)
        return self.tx.interchange.sender

    def document_time(self) -> datetime | None:
        """When the document was made: GS04/GS05, else ISA09/ISA10, in the feed's zone."""
        tz = self.ctx.tz
        if self.tx.group is not None:
            gs = self.tx.group.gs
            day, clock = parse_date(gs.el(4)), parse_time(gs.el(5)[:4]) if gs.el(5) else None
            if day is not None and clock is not None:
                return datetime.combine(day, clock, tzinfo=tz)
        isa = self.tx.interchange.isa
        day, clock = parse_date(isa.el(9)), parse_time(isa.el(10)[:4]) if isa.el(10) else None
        if day is not None and clock is not None:
            return datetime.combine(day, clock, tzinfo=tz)
        return None

    def envelope(self) -> dict[str, str]:
        """The control numbers that carried the event (attributes; never in the event id)."""
        out = {"interchange": self.tx.interchange.control, "set": self.tx.control}
        if self.tx.group is not None:
            out["group"] = self.tx.group.control
        return out

    def event_id(self, *parts: Any) -> str:
        """ "x12:" + a hash of the sender and the set's business identity (never the control
        numbers, so a re-send in a new envelope dedupes; never the mapped type)."""
        payload = orjson.dumps([self.sender, self.tx.set_id, *parts], option=orjson.OPT_SORT_KEYS)
        return "x12:" + hashlib.sha256(payload).hexdigest()[:32]

    def reject(self, what: str, event_id: str | None = None) -> None:
        """A rejection of (part of) this set, prefixed with where it is."""
        self.candidates.append(reject(f"{self.where}: {what}", event_id=event_id))

    def emit(self, table: str, code: str, event: dict[str, Any], *, where: str = "") -> str | None:
        """The event typed from `table` (rejected when the code is unmapped, dropped when the
        table says IGNORE); returns the mapped type."""
        mapped = self.ctx.codes.lookup(table, code)
        event_id = event["event_id"]
        if mapped is None:
            prefix = f"{self.where}{', ' + where if where else ''}"
            self.candidates.append(reject(f"{prefix}: {self.ctx.codes.unmapped(table, code)}", event_id))
            return None
        if mapped == IGNORE:
            return mapped
        event["type"] = mapped
        self.candidates.append(event)
        return mapped


def position_of(tx: TxSet, seg: Segment) -> int:
    """Position of a segment in its set (ST = 1), for messages and AK3."""
    for n, candidate in enumerate(tx.segments, start=1):
        if candidate is seg:
            return n
    return 0


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values (attributes keep what was sent, not the empty elements)."""
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


class RefBag:
    """References by kind, routed from their X12 qualifiers (L11, N9, REF, PRF…)."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[str]] = {}
        self.bol: list[str] = []
        self.invoice: list[str] = []
        self.other: dict[str, list[str]] = {}

    def add_kind(self, kind: str, value: str) -> None:
        value = value.strip()
        if value and value not in self.kinds.setdefault(kind, []):
            self.kinds[kind].append(value)

    def add(self, qualifier: str, value: str) -> None:
        """One qualified reference (e.g. L11*4728162872*PO → add("PO", "4728162872"))."""
        value = value.strip()
        if not value:
            return
        if qualifier in REF_KINDS:
            self.add_kind(REF_KINDS[qualifier], value)
        elif qualifier in BOL_QUALIFIERS:
            _append(self.bol, value)
        elif qualifier in INVOICE_QUALIFIERS:
            _append(self.invoice, value)
        else:
            _append(self.other.setdefault(qualifier or "?", []), value)

    def absorb(self, other: "RefBag") -> "RefBag":
        """A new bag with both bags' references (self's first)."""
        out = RefBag()
        for bag in (self, other):
            for kind, values in bag.kinds.items():
                for v in values:
                    out.add_kind(kind, v)
            for v in bag.bol:
                _append(out.bol, v)
            for v in bag.invoice:
                _append(out.invoice, v)
            for q, values in bag.other.items():
                for v in values:
                    _append(out.other.setdefault(q, []), v)
        return out

    def refs(self, shipment: str) -> dict[str, str | list[str]]:
        """Canonical refs: exactly one shipment id (the set's own, else the first bill of
        lading), every other id under its kind."""
        out: dict[str, str | list[str]] = {}
        shipment = shipment.strip() or (self.bol[0] if self.bol else "")
        if shipment:
            out["shipment"] = shipment
        for kind, values in self.kinds.items():
            if kind == "shipment":
                continue
            out[kind] = values[0] if len(values) == 1 else list(values)
        return out

    def attributes(self) -> dict[str, Any]:
        refs = {q: v[0] if len(v) == 1 else v for q, v in self.other.items()}
        return compact(
            {
                "bol": _one(self.bol),
                "invoice": _one(self.invoice),
                "refs": refs,
            }
        )


def _append(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _one(values: list[str]) -> str | list[str] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else list(values)


class Parties:
    """N1 loops (N1/N2/N3/N4) by entity code, compact, for attributes."""

    def __init__(self) -> None:
        self.by_code: dict[str, dict[str, str]] = {}
        self._last: dict[str, str] | None = None

    def feed(self, seg: Segment) -> None:
        """Take an N1, N2, N3 or N4 segment (N2..N4 complete the last N1)."""
        tag = seg.tag
        if tag == "N1":
            party = compact({"name": seg.el(2), "id_qualifier": seg.el(3), "id": seg.el(4)})
            self._last = party
            self.by_code.setdefault(seg.el(1) or "?", party)
        elif self._last is None:
            return
        elif tag == "N2":
            self._last.setdefault("name2", seg.el(1))
        elif tag == "N3":
            self._last.setdefault("address", " ".join(x for x in (seg.el(1), seg.el(2)) if x))
        elif tag == "N4":
            for key, n in (("city", 1), ("state", 2), ("postal_code", 3), ("country", 4)):
                if seg.el(n):
                    self._last.setdefault(key, seg.el(n))


PARTY_TAGS = frozenset({"N1", "N2", "N3", "N4"})


def number(text: str) -> float | None:
    """A decimal (R) value, or None."""
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return value if value == value and abs(value) < 1e15 else None


def implied_decimal(text: str, places: int = 2) -> str | None:
    """An Nn element (implied decimals: "275433" → "2754.33"), as a decimal string."""
    text = text.strip()
    if re.fullmatch(r"-?[0-9]{1,15}", text):
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        digits = digits.rjust(places + 1, "0")
        return f"{sign}{int(digits[:-places])}.{digits[-places:]}"
    if re.fullmatch(r"-?[0-9]{1,15}\.[0-9]{1,6}", text):  # an explicit decimal point wins
        return text
    return None


def pick_sku(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The line's sku among its (qualifier, id) pairs, the most specific qualifier first."""
    present = [(q, v) for q, v in pairs if v]
    for wanted in SKU_PREFERENCE:
        for q, v in present:
            if q == wanted:
                return q, v
    return present[0] if present else None


def id_pairs(seg: Segment, first: int, last: int) -> list[tuple[str, str]]:
    """(qualifier, id) pairs of elements first..last (LIN02/03, LIN04/05, …)."""
    return [(seg.el(i), seg.el(i + 1)) for i in range(first, last, 2) if seg.el(i + 1)]


def line(sku: tuple[str, str] | None, qty_text: str, uom: str) -> dict[str, Any] | None:
    """A canonical line, or None when there is no sku or no usable quantity."""
    qty = number(qty_text)
    if sku is None or qty is None or qty < 0:
        return None
    out: dict[str, Any] = {"sku": sku[1], "qty": int(qty) if qty.is_integer() else qty}
    if uom:
        out["uom"] = uom
    return out


def g62(seg: Segment, env: SetEnv, *, end_of_day: bool = False) -> Stamp:
    """A G62 date/time (G6202 date, G6204 time, G6205 time code)."""
    return stamp(seg.el(2), seg.el(4), seg.el(5), env.ctx.tz, end_of_day=end_of_day)


def set_code(env: SetEnv, cancelled: bool, purpose: str) -> str:
    """The `x12.transaction_set` code of a set: "940", or "940/F" for a cancellation (which
    the default table leaves unmapped: a cancellation is no release)."""
    return f"{env.tx.set_id}/{purpose}" if cancelled else env.tx.set_id
