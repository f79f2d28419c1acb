"""Interchanges, groups and messages out of the scanned segments, with ISO 9735's envelope
checks: UNB/UNZ (UNZ01 = messages, or groups when UNG is used; UNZ02 = UNB05), UNG/UNE,
UNH/UNT (UNT01 = segments UNH..UNT, UNT02 = UNH01). Streaming: one message is held at a time.

Each problem is an `Issue` with its ISO 9735 syntax error code (data element 0085), which the
CONTRL reports, and a sentence for the partner naming the control references."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..base import UnreadableBody
from .syntax import TAG, Delimiters, Item, Junk, Segment, Una

VALID: set[str] = set()  # tags seen valid (a regex per segment is the split's hot spot)
SERVICE = frozenset({"UNB", "UNG", "UNH", "UNT", "UNE", "UNZ"})
MAX_ISSUES = 20  # per message: enough to act on, bounded memory for a garbage message

# 0085 syntax error codes used here (ISO 9735 service code list)
MISSING, INVALID, NOT_SUPPORTED, REFS, COUNT, DUPLICATE, MIXED, EMPTY, OUTSIDE = (
    "13",
    "12",
    "14",
    "28",
    "29",
    "26",
    "30",
    "32",
    "33",
)


@dataclass(slots=True)
class Issue:
    code: str  # 0085
    text: str
    tag: str = ""  # 0013: the service segment in error (UNB, UNZ, UNH, UNT, UNG, UNE)
    position: int | None = None  # UCS 0096: the data segment's position in its message
    element: tuple[int, int] | None = None  # UCD S011: element and component position


@dataclass(slots=True)
class Group:
    ung: Segment
    ref: str
    messages: int = 0
    issues: list[Issue] = field(default_factory=list)
    une: Segment | None = None


@dataclass(slots=True)
class Interchange:
    index: int  # 1-based position in the body
    una: bytes
    unb: Segment
    delimiters: Delimiters
    issues: list[Issue] = field(default_factory=list)
    messages: int = 0
    groups: int = 0
    unz: Segment | None = None

    @property
    def ref(self) -> str:
        return self.unb.value(4)

    @property
    def sender(self) -> str:
        return self.unb.value(1)

    @property
    def label(self) -> str:
        return f"interchange {self.ref or '(no UNB05)'} from {self.sender or '(no UNB02)'}"


@dataclass(slots=True)
class Message:
    interchange: Interchange
    group: Group | None
    index: int  # 1-based position in the interchange
    segments: list[Segment]
    issues: list[Issue] = field(default_factory=list)
    sts: int = 0  # STS segments seen (what a split counts before mapping)

    @property
    def unh(self) -> Segment:
        return self.segments[0]

    @property
    def ref(self) -> str:
        return self.unh.value(0)

    @property
    def type(self) -> str:
        return self.unh.value(1, 0).upper()

    @property
    def identifier(self) -> list[str]:
        return self.unh.components(1)

    @property
    def label(self) -> str:
        """Names the message by its UNH01 (the partner's reference), not its position, which a
        split changes."""
        return f"{self.interchange.label}, message {self.ref or '(no UNH01)'}"


@dataclass(frozen=True, slots=True)
class Opened:
    interchange: Interchange


@dataclass(frozen=True, slots=True)
class GroupOpened:
    group: Group


@dataclass(frozen=True, slots=True)
class Read:
    message: Message


@dataclass(frozen=True, slots=True)
class GroupClosed:
    group: Group


@dataclass(frozen=True, slots=True)
class Closed:
    interchange: Interchange


@dataclass(frozen=True, slots=True)
class Stray:
    """Something outside every interchange (after a UNZ): not part of any acknowledgement."""

    text: str


Event = Opened | GroupOpened | Read | GroupClosed | Closed | Stray


def _count(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None  # "²".isdigit()


class _Assembler:
    def __init__(self) -> None:
        self.ic: Interchange | None = None
        self.group: Group | None = None
        self.msg: Message | None = None
        self.una: Una | None = None
        self.seen: set[tuple[str, str]] = set()
        self.count = 0
        self.started = False

    def feed(self, item: Item) -> Iterable[Event]:
        """The events `item` completes (most segments complete none: the fast path)."""
        if self.msg is not None and type(item) is Segment and item.tag not in SERVICE:
            self._append(item)
            return ()
        return list(self._feed(item))

    def _feed(self, item: Item) -> Iterator[Event]:
        if isinstance(item, Una):
            if self.ic is not None:
                yield from self._close_ic(None, "the next UNA")
            self.una = item
            return
        if isinstance(item, Junk):
            self._first("the body")
            where = f"byte {item.offset}: {item.raw[:30]!r}"
            if self.ic is not None:
                self._issue_ic(Issue(INVALID, f"{self.ic.label}: the body ends inside a segment ({where})"))
            else:
                yield Stray(f"{where}: bytes after the last UNZ that are not a segment")
            return
        tag = item.tag
        if tag == "UNB":
            if self.ic is not None:
                yield from self._close_ic(None, "the next UNB")
            yield from self._open_ic(item)
        elif self.ic is None:
            self._first(f"segment {tag!r}")
            yield Stray(f"byte {item.offset}: segment {tag} is outside any interchange (after UNZ, before UNB)")
        elif tag == "UNH":
            if self.msg is not None:
                yield from self._close_msg(None, "the next UNH")
            self._open_msg(item)
        elif self.msg is not None and tag not in ("UNT", "UNZ", "UNG", "UNE"):
            self._append(item)
        elif tag == "UNT":
            if self.msg is None:
                self._issue_ic(Issue(OUTSIDE, f"{self.ic.label}: UNT {item.value(1)} without a UNH", "UNT"))
            else:
                yield from self._close_msg(item, "")
        elif tag == "UNG":
            yield from self._open_group(item)
        elif tag == "UNE":
            yield from self._close_group(item)
        elif tag == "UNZ":
            yield from self._close_ic(item, "")
        else:
            text = f"{self.ic.label}: segment {tag or item.text()!r} at byte {item.offset} is outside a message"
            self._issue_ic(Issue(OUTSIDE, text))

    def finish(self) -> Iterator[Event]:
        if self.ic is not None:
            yield from self._close_ic(None, "the end of the body")
        if not self.started:
            raise UnreadableBody("empty body: want an EDIFACT interchange (UNA or UNB … UNZ)")

    def _first(self, what: str) -> None:
        if not self.started:
            raise UnreadableBody(f"not EDIFACT: {what} comes before any UNB; want an interchange UNA/UNB … UNZ")

    def _issue_ic(self, issue: Issue) -> None:
        assert self.ic is not None
        if len(self.ic.issues) < MAX_ISSUES:
            self.ic.issues.append(issue)

    def _open_ic(self, unb: Segment) -> Iterator[Event]:
        self.started = True
        self.count += 1
        una = self.una.raw if self.una is not None else b""
        ic = Interchange(self.count, una, unb, unb.delimiters)
        self.una, self.ic = None, ic
        missing = [
            name
            for name, (e, c) in {
                "UNB01 syntax identifier": (0, 0),
                "UNB02 sender": (1, 0),
                "UNB03 recipient": (2, 0),
                "UNB04 date": (3, 0),
                "UNB05 control reference": (4, 0),
            }.items()
            if not unb.value(e, c)
        ]
        for name in missing:
            self._issue_ic(Issue(MISSING, f"{ic.label}: {name} is missing", "UNB"))
        key = (ic.sender, ic.ref)
        if ic.ref and key in self.seen:
            text = f"{ic.label}: an earlier interchange in this body has the same sender and control reference"
            self._issue_ic(Issue(DUPLICATE, text, "UNB"))
        self.seen.add(key)
        yield Opened(ic)

    def _open_group(self, ung: Segment) -> Iterator[Event]:
        assert self.ic is not None
        if self.msg is not None:
            yield from self._close_msg(None, "a UNG")
        if self.group is not None:
            yield from self._close_group(None)
        if self.ic.messages and not self.ic.groups:
            self._issue_ic(Issue(MIXED, f"{self.ic.label}: groups (UNG) and messages outside groups are mixed", "UNG"))
        self.ic.groups += 1
        self.group = Group(ung, ung.value(4))
        yield GroupOpened(self.group)

    def _close_group(self, une: Segment | None) -> Iterator[Event]:
        assert self.ic is not None
        if self.msg is not None:
            yield from self._close_msg(None, "UNE")
        group = self.group
        if group is None:
            self._issue_ic(Issue(OUTSIDE, f"{self.ic.label}: UNE without a UNG", "UNE"))
            return
        label = f"{self.ic.label}, group {group.ref or '?'}"
        if une is None:
            group.issues.append(Issue(MISSING, f"{label}: no UNE trailer", "UNE"))
        else:
            counted = _count(une.value(0))
            if counted != group.messages:
                text = f"{label}: UNE01 says {une.value(0) or 'nothing'} messages but the group holds {group.messages}"
                group.issues.append(Issue(COUNT, text, "UNE"))
            if une.value(1) != group.ref:
                text = f"{label}: UNE02 {une.value(1)!r} does not match the UNG group reference {group.ref!r}"
                group.issues.append(Issue(REFS, text, "UNE"))
        group.une = une
        self.group = None
        yield GroupClosed(group)

    def _open_msg(self, unh: Segment) -> None:
        assert self.ic is not None
        self.ic.messages += 1
        if self.group is not None:
            self.group.messages += 1
        elif self.ic.groups:
            self._issue_ic(Issue(MIXED, f"{self.ic.label}: a message outside a group among groups", "UNH"))
        msg = Message(self.ic, self.group, self.ic.messages, [unh])
        for name, (e, c) in {
            "UNH01 message reference": (0, 0),
            "UNH02 message type": (1, 0),
            "UNH02 version": (1, 1),
            "UNH02 release": (1, 2),
            "UNH02 controlling agency": (1, 3),
        }.items():
            if not unh.value(e, c):
                msg.issues.append(Issue(MISSING, f"{msg.label}: {name} is missing", "UNH", None, (e + 1, c + 1)))
        self.msg = msg

    def _append(self, segment: Segment) -> None:
        msg = self.msg
        assert msg is not None
        msg.segments.append(segment)
        if segment.tag == "STS":
            msg.sts += 1
        elif segment.tag not in VALID and not self._valid(segment.tag) and len(msg.issues) < MAX_ISSUES:
            text = f"{msg.label}: segment {len(msg.segments)} {segment.text()[:40]!r} has no valid segment tag"
            msg.issues.append(Issue(INVALID, text, "", len(msg.segments)))

    @staticmethod
    def _valid(tag: str) -> bool:
        if TAG.fullmatch(tag) is None:
            return False
        if len(VALID) < 4096:
            VALID.add(tag)
        return True

    def _close_msg(self, unt: Segment | None, before: str) -> Iterator[Event]:
        msg = self.msg
        assert msg is not None
        self.msg = None
        if unt is None:
            text = f"{msg.label}: no UNT trailer before {before} (the message is truncated or UNT is missing)"
            msg.issues.append(Issue(MISSING, text, "UNT"))
        else:
            msg.segments.append(unt)
            counted = _count(unt.value(0))
            if counted != len(msg.segments):
                text = (
                    f"{msg.label}: UNT01 says {unt.value(0) or 'nothing'} segments but the message has "
                    f"{len(msg.segments)} from UNH to UNT"
                )
                msg.issues.append(Issue(COUNT, text, "UNT"))
            if unt.value(1) != msg.ref:
                text = f"{msg.label}: UNT02 {unt.value(1)!r} does not match the UNH message reference {msg.ref!r}"
                msg.issues.append(Issue(REFS, text, "UNT"))
        yield Read(msg)

    def _close_ic(self, unz: Segment | None, before: str) -> Iterator[Event]:
        ic = self.ic
        assert ic is not None
        if self.msg is not None:
            yield from self._close_msg(None, "UNZ" if unz is not None else before)
        if self.group is not None:
            yield from self._close_group(None)
        if unz is None:
            text = f"{ic.label}: no UNZ trailer before {before} (the interchange is truncated or UNZ is missing)"
            self._issue_ic(Issue(MISSING, text, "UNZ"))
        else:
            expected, what = (ic.groups, "groups") if ic.groups else (ic.messages, "messages")
            if _count(unz.value(0)) != expected:
                text = f"{ic.label}: UNZ01 says {unz.value(0) or 'nothing'} {what} but the interchange holds {expected}"
                self._issue_ic(Issue(COUNT, text, "UNZ"))
            if unz.value(1) != ic.ref:
                text = f"{ic.label}: UNZ02 control reference {unz.value(1)!r} does not match UNB05 {ic.ref!r}"
                self._issue_ic(Issue(REFS, text, "UNZ"))
        if not ic.messages:
            self._issue_ic(Issue(EMPTY, f"{ic.label}: the interchange holds no message (UNH … UNT)"))
        ic.unz = unz
        self.ic = None
        yield Closed(ic)


def envelopes(items: Iterable[Item]) -> Iterator[Event]:
    """Scanned items → interchange / group / message events, in order, checks done. Raises
    UnreadableBody when the body is empty or does not start with an interchange."""
    assembler = _Assembler()
    for item in items:
        yield from assembler.feed(item)
    yield from assembler.finish()
