"""X12 envelopes: interchanges (ISA/IEA), functional groups (GS/GE) and transaction sets
(ST/SE) walked as segments stream by, with the checks of the trailers stated for a partner
(which interchange, group, set and segment; what is wrong; what to do).

`walk(tokens)` yields structural items in file order: `InterchangeStart`, `GroupStart`,
`SetDone` (a whole ST..SE set, or what there was of it), `GroupEnd`, `InterchangeEnd`, and
`Stray` for bytes that belong to no interchange. Only one set is held at a time."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .times import digits
from .tokens import BadHeader, Junk, Segment, Token, isa_width_problems, shown

_ENVELOPE_TAGS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})
# How many sets' control numbers a group remembers to spot a duplicate ST02 (AK5 code 23).
_MAX_REMEMBERED_CONTROLS = 100_000


@dataclass
class Interchange:
    isa: Segment
    index: int  # 1-based position in the file
    header_errors: list[str]  # a malformed ISA: nothing in the interchange is processed
    groups: int = 0
    sets: int = 0
    strays: int = 0
    first_stray: str = ""

    @property
    def control(self) -> str:
        return self.isa.el(13)

    @property
    def sender(self) -> str:
        return self.isa.el(6)

    @property
    def name(self) -> str:
        return f"interchange {self.control or '(no ISA13)'}"


@dataclass
class Group:
    gs: Segment
    interchange: Interchange
    sets: int = 0
    strays: int = 0
    first_stray: str = ""
    controls: set[str] = field(default_factory=set)
    header_errors: list[str] = field(default_factory=list)

    @property
    def control(self) -> str:
        return self.gs.el(6)

    @property
    def name(self) -> str:
        return f"{self.interchange.name}, group {self.control or '(no GS06)'}"


@dataclass
class TxSet:
    """One transaction set: its segments ST..SE (without SE when the trailer is missing)."""

    interchange: Interchange
    group: Group | None
    segments: list[Segment]
    errors: list[str] = field(default_factory=list)  # envelope errors: the set is rejected whole
    ak5_codes: list[str] = field(default_factory=list)  # X12 element 718 codes for the 997
    _at7s: int = -1

    @property
    def set_id(self) -> str:
        return self.segments[0].el(1)

    @property
    def control(self) -> str:
        return self.segments[0].el(2)

    @property
    def name(self) -> str:
        where = self.group.name if self.group else self.interchange.name
        return f"{where}, set {self.control or '(no ST02)'} ({self.set_id or 'no ST01'})"

    def candidates(self) -> int:
        """An upper bound of the candidates this set yields (what a split body may hold)."""
        if self.set_id != "214" or self.errors:
            return 1
        if self._at7s < 0:  # counted once, when asked (no counter per segment)
            self._at7s = sum(1 for seg in self.segments if seg.tag == "AT7")
        return max(1, self._at7s)


@dataclass
class InterchangeStart:
    interchange: Interchange


@dataclass
class GroupStart:
    group: Group


@dataclass
class SetDone:
    txset: TxSet


@dataclass
class GroupEnd:
    group: Group
    ge: Segment | None
    errors: list[str]
    ak9_codes: list[str]


@dataclass
class InterchangeEnd:
    interchange: Interchange
    iea: Segment | None
    errors: list[str]


@dataclass
class Stray:
    """Bytes outside every interchange (junk between IEA and the next ISA, a bad ISA)."""

    message: str
    not_x12: str  # what to say when nothing before it was X12 (UnreadableBody)


Item = InterchangeStart | GroupStart | SetDone | GroupEnd | InterchangeEnd | Stray


def same_control(a: str, b: str) -> bool:
    """Control numbers agree: equal as numbers when both are digits (1 = 000000001)."""
    if digits(a) and digits(b):
        return int(a) == int(b)
    return a == b


def _count(value: str) -> int | None:
    return int(value) if digits(value) else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Walker:
    """The envelope state machine; `feed(token)` yields the items the token completes."""

    def __init__(self) -> None:
        self.ic: Interchange | None = None
        self.group: Group | None = None
        self.txset: TxSet | None = None
        self.interchanges = 0
        self._seen = 0  # segments of the interchange before the current set, for positions

    def feed(self, token: Token) -> Sequence[Item]:
        """The items this token completes (most segments complete none)."""
        if isinstance(token, Segment):
            tx = self.txset
            if tx is not None and token.tag not in _ENVELOPE_TAGS:  # the bulk of a file: no generator
                tx.segments.append(token)
                return ()
            return list(self._segment(token))
        return list(self._other(token))

    @property
    def position(self) -> int:
        """Position in the interchange of the segment being read (ISA = 1)."""
        return self._seen + (len(self.txset.segments) if self.txset is not None else 0)

    def _other(self, token: Junk | BadHeader) -> Iterator[Item]:
        if isinstance(token, Junk):
            yield from self._close_all("bytes that are not X12")
            yield Stray(
                f"{token.size} bytes that are not an X12 interchange (starting {token.sample!r}) were ignored; "
                "every interchange starts with an ISA segment",
                f"not X12: expected an ISA interchange header, found {token.sample!r}",
            )
            return
        if isinstance(token, BadHeader):
            yield from self._close_all("a malformed ISA")
            yield Stray(
                f"a malformed ISA: {token.problem} (at {token.sample!r}); nothing could be read until the next ISA",
                f"not X12: {token.problem} (at {token.sample!r})",
            )

    def finish(self) -> Iterator[Item]:
        """Close what the end of the file leaves open (a missing SE, GE or IEA)."""
        yield from self._close_all("the end of the file")

    def _segment(self, seg: Segment) -> Iterator[Item]:
        tag = seg.tag
        if tag == "ISA":
            yield from self._close_all("the next ISA")
            self.interchanges += 1
            self._seen = 1
            self.ic = Interchange(isa=seg, index=self.interchanges, header_errors=isa_width_problems(seg))
            yield InterchangeStart(self.ic)
            return
        ic = self.ic
        if ic is None:  # the reader only yields segments inside an interchange; kept for safety
            return
        if tag == "SE" and self.txset is not None:
            self.txset.segments.append(seg)
            yield from self._close_set(None)
            return
        here = self.position + 1  # this segment's position in the interchange
        if tag == "ST":
            yield from self._close_set(f"the next ST (segment {here})")
            self.txset = TxSet(interchange=ic, group=self.group, segments=[seg])
            return
        yield from self._close_set(f"the {tag} at segment {here}" if tag in ("GS", "GE", "IEA") else "")
        self._seen += 1
        if tag == "GS":
            yield from self._close_group(None, f"the next GS (segment {here})")
            ic.groups += 1
            self.group = Group(gs=seg, interchange=ic)
            if seg.count() != 8:
                self.group.header_errors.append(
                    f"the GS has {seg.count()} elements where 8 are defined (GS01..GS08), so GS06 reads as "
                    f"{seg.el(6)!r}"
                )
            yield GroupStart(self.group)
        elif tag == "GE" and self.group is not None:
            yield from self._close_group(seg, None)
        elif tag == "IEA":
            yield from self._close_group(None, f"the IEA (segment {here})")
            yield from self._close_interchange(seg, None)
        else:  # outside any set: SE without ST, GE without GS, any other segment
            self._stray(seg)

    def _stray(self, seg: Segment) -> None:
        holder: Group | Interchange | None = self.group if self.group is not None else self.ic
        if holder is None:
            return
        if not holder.strays:
            holder.first_stray = f"{seg.tag or '(empty tag)'} at segment {self.position}"
        holder.strays += 1

    def _close_all(self, what: str) -> Iterator[Item]:
        yield from self._close_set(what)
        yield from self._close_group(None, what)
        if self.ic is not None:
            yield from self._close_interchange(None, what)

    def _close_set(self, broken_by: str | None) -> Iterator[Item]:
        tx = self.txset
        if tx is None:
            return
        self.txset = None
        self._seen += len(tx.segments)
        st = tx.segments[0]
        ic = tx.interchange
        ic.sets += 1
        if ic.header_errors:
            tx.errors.append(f"the ISA header is malformed ({'; '.join(ic.header_errors)}), so nothing was read")
        if tx.group is None:
            tx.errors.append("the set is outside a functional group (no GS before its ST); wrap it in GS/GE")
        if not st.el(1):
            tx.errors.append("ST01 (transaction set identifier) is missing")
            tx.ak5_codes.append("6")
        if not st.el(2):
            tx.errors.append("ST02 (transaction set control number) is missing")
            tx.ak5_codes.append("7")
        if broken_by is not None:
            tx.errors.append(f"no SE trailer before {broken_by}; every ST needs its SE")
            tx.ak5_codes.append("2")
        else:
            self._check_se(tx)
        group = tx.group
        if group is not None:
            group.sets += 1
            control = st.el(2)
            if control and control in group.controls:
                tx.errors.append(f"set control number {control!r} is used twice in the group; ST02 must be unique")
                tx.ak5_codes.append("23")
            elif control and len(group.controls) < _MAX_REMEMBERED_CONTROLS:
                group.controls.add(control)
        yield SetDone(tx)

    def _check_se(self, tx: TxSet) -> None:
        st, se = tx.segments[0], tx.segments[-1]
        declared = _count(se.el(1))
        if declared is None:
            tx.errors.append(f"SE01 {se.el(1)!r} is not a segment count; it must count ST..SE inclusive")
            tx.ak5_codes.append("4")
        elif declared != len(tx.segments):
            message = (
                f"SE01 says {_plural(declared, 'segment')} but the set has {len(tx.segments)} (ST..SE inclusive); "
                "resend it with a correct SE01"
            )
            hint = _terminator_hint(tx.segments)
            tx.errors.append(message + (f"; {hint}" if hint else ""))
            tx.ak5_codes.append("4")
        if not same_control(se.el(2), st.el(2)):
            tx.errors.append(f"SE02 {se.el(2)!r} does not match ST02 {st.el(2)!r}")
            tx.ak5_codes.append("3")

    def _close_group(self, ge: Segment | None, broken_by: str | None) -> Iterator[Item]:
        group = self.group
        if group is None:
            return
        self.group = None
        errors = list(group.header_errors)
        codes: list[str] = []
        if ge is None:
            errors.append(f"no GE trailer before {broken_by}; every GS needs its GE")
            codes.append("3")
        else:
            declared = _count(ge.el(1))
            if declared != group.sets:
                errors.append(
                    f"GE01 says {ge.el(1) or 'nothing'} but the group has {_plural(group.sets, 'transaction set')}"
                )
                codes.append("5")
            if not same_control(ge.el(2), group.control):
                errors.append(f"GE02 {ge.el(2)!r} does not match GS06 {group.control!r}")
                codes.append("4")
        if group.strays:
            errors.append(
                f"{_plural(group.strays, 'segment')} between transaction sets (first: {group.first_stray}) "
                "belong to no set and were ignored"
            )
        yield GroupEnd(group, ge, [f"{group.name}: {e}" for e in errors], codes)

    def _close_interchange(self, iea: Segment | None, broken_by: str | None) -> Iterator[Item]:
        ic = self.ic
        if ic is None:
            return
        self.ic = None
        errors = []
        if ic.header_errors and not ic.sets:  # else each set's rejection says it
            errors.append(f"the ISA header is malformed: {'; '.join(ic.header_errors)}")
        if iea is None:
            errors.append(f"no IEA trailer before {broken_by}; every ISA needs its IEA")
        else:
            declared = _count(iea.el(1))
            if declared != ic.groups:
                errors.append(
                    f"IEA01 says {iea.el(1) or 'nothing'} but the interchange has "
                    f"{_plural(ic.groups, 'functional group')}"
                )
            if not same_control(iea.el(2), ic.control):
                errors.append(f"IEA02 {iea.el(2)!r} does not match ISA13 {ic.control!r}")
        if ic.strays:
            errors.append(
                f"{_plural(ic.strays, 'segment')} outside functional groups (first: {ic.first_stray}) "
                "belong to no group and were ignored"
            )
        yield InterchangeEnd(ic, iea, [f"{ic.name}: {e}" for e in errors])


def _terminator_hint(segments: list[Segment]) -> str:
    """Why a count may be off: a segment that spans lines swallowed others (the file ends some
    segments with another character than the terminator its ISA declares)."""
    for pos, seg in enumerate(segments, start=1):
        if b"\n" in seg.raw or b"\r" in seg.raw:
            return (
                f"segment {pos} ({seg.tag}) runs over several lines: the ISA declares "
                f"{shown(seg.delims.segment)} as the segment terminator (the character after ISA16), but some "
                "segments seem to end with another character"
            )
    return ""


def walk(tokens: Iterable[Token]) -> Iterator[Item]:
    """Structural items of a token stream (see the module docstring)."""
    walker = Walker()
    for token in tokens:
        yield from walker.feed(token)
    yield from walker.finish()
