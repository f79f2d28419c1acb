"""The 997 functional acknowledgement of one received interchange, built as its envelope
items stream by (the same builder serves `acknowledge` and the file split).

One 997 interchange per received interchange, sender and receiver swapped; one 997 set per
received functional group (AK1), AK2/AK5 per transaction set (A accepted, E accepted with
errors, R rejected, with element 718 codes), AK3/AK4 for the segment errors found, AK9 for
the group. A code the feed's tables do not map is no EDI error: the set is accepted here and
the event rejected by the mapping. The document is a pure function of the received bytes:
its control numbers come from the received ISA13, its date and time are the received
ISA09/ISA10. Groups of acknowledgements (GS01 FA) are never acknowledged."""

import hashlib
from dataclasses import dataclass, field

from ..base import Acknowledgement
from .checks import Issue, SetCheck
from .envelope import Group, Interchange, TxSet
from .times import digits, parse_date

_ELEMENT, _COMPONENT, _TERMINATOR = "*", ">", "~"
MAX_ERRORS = 200  # partner-readable errors kept per acknowledgement


def _clean(value: str, limit: int = 80) -> str:
    """A value safe inside our own 997: no delimiter, no line break."""
    for char in (_ELEMENT, _COMPONENT, _TERMINATOR, "\r", "\n", "^"):
        value = value.replace(char, " ")
    return value.strip()[:limit]


def control_number(isa13: str) -> int:
    """The 997's control number: the received ISA13 when it is a number, else one derived
    from it (deterministically)."""
    if digits(isa13):
        return int(isa13[-9:])
    return int(hashlib.sha256(isa13.encode()).hexdigest(), 16) % 1_000_000_000


@dataclass
class _GroupAck:
    group: Group
    number: int  # of the 997 set in our interchange
    lines: list[str] = field(default_factory=list)
    received: int = 0
    accepted: int = 0
    with_errors: int = 0


class AckBuilder:
    """Feed `group_start`, `set_done`, `group_end` for one interchange, then `finish`."""

    def __init__(self, interchange: Interchange) -> None:
        self.ic = interchange
        self.control = control_number(interchange.control)
        self.sets = bytearray()  # the finished 997 sets
        self.count = 0
        self.first_group: Group | None = None
        self.current: _GroupAck | None = None
        self.errors: list[str] = []
        self.extra_errors = 0
        self.rejected = False

    def _error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
        else:
            self.extra_errors += 1

    def group_start(self, group: Group) -> None:
        if group.gs.el(1) == "FA":  # an acknowledgement is never acknowledged
            self.current = None
            return
        self.count += 1
        self.first_group = self.first_group or group
        self.current = _GroupAck(group, self.count)
        self.current.lines.append(f"AK1*{_clean(group.gs.el(1), 2)}*{_clean(group.control)}")

    def set_done(self, tx: TxSet, result: SetCheck | None) -> None:
        """One set: `result` is its check (None when its envelope or its type decides)."""
        ack = self.current
        if tx.group is None or ack is None or tx.group is not ack.group:
            if tx.errors:
                self._error(f"{tx.name}: {'; '.join(tx.errors)}")
                self.rejected = True
            return
        ack.received += 1
        lines = ack.lines
        lines.append(f"AK2*{_clean(tx.set_id, 3)}*{_clean(tx.control)}")
        if tx.errors:
            status, codes = "R", tx.ak5_codes[:5]
            self._error(f"{tx.name}: {'; '.join(tx.errors)}")
        elif result is None:
            status, codes = "R", ["1"]
            self._error(f"{tx.name}: transaction set {tx.set_id} is not supported")
        else:
            for issue in result.issues[:20]:
                lines.extend(_issue_lines(issue))
            if result.fatal:
                status, codes = "R", ["5"]
            elif result.issues:
                status, codes = "E", ["5"]
            else:
                status, codes = "A", []
            for issue in result.issues[:20]:
                self._error(f"{tx.name}: {_issue_text(issue)}")
        if status == "R":
            self.rejected = True
        else:
            ack.accepted += 1
            ack.with_errors += status == "E"
        lines.append("*".join(["AK5", status, *codes]))

    def group_end(self, group: Group, declared: str, codes: list[str], errors: list[str]) -> None:
        for error in errors:
            self._error(error)
        ack = self.current
        if ack is None or ack.group is not group:
            return
        self.current = None
        if ack.received == 0 or ack.accepted == 0:
            status = "R"
        elif ack.accepted < ack.received:
            status = "P"
        elif codes or ack.with_errors:
            status = "E"
        else:
            status = "A"
        if status in ("R", "P"):
            self.rejected = True
        count = declared if digits(declared) else str(ack.received)
        ack.lines.append("*".join(["AK9", status, count, str(ack.received), str(ack.accepted), *codes[:5]]))
        number = f"{ack.number:04d}"
        body = [f"ST*997*{number}", *ack.lines, f"SE*{len(ack.lines) + 2}*{number}"]
        self.sets += "".join(line + _TERMINATOR + "\n" for line in body).encode("utf-8")

    def finish(self, errors: list[str]) -> Acknowledgement | None:
        """The acknowledgement (None for an interchange of acknowledgements only)."""
        for error in errors:
            self._error(error)
        if self.current is not None:  # a group never closed: the walker always closes it
            self.group_end(self.current.group, "", ["3"], [])
        if self.count == 0 and self.ic.groups:  # only groups of acknowledgements
            return None
        isa = self.ic.isa
        day = isa.el(9) if parse_date(isa.el(9)) is not None and len(isa.el(9)) == 6 else "000101"
        clock = isa.el(10) if digits(isa.el(10)) and len(isa.el(10)) == 4 else "0000"
        usage = isa.el(15) if isa.el(15) in ("P", "T", "I") else "P"
        control = f"{self.control:09d}"
        header = [
            "ISA*00*"
            + " " * 10
            + "*00*"
            + " " * 10
            + f"*{_clean(isa.el(7), 2).ljust(2)[:2]}*{_clean(isa.el(8), 15).ljust(15)[:15]}"
            + f"*{_clean(isa.el(5), 2).ljust(2)[:2]}*{_clean(isa.el(6), 15).ljust(15)[:15]}"
            + f"*{day}*{clock}*U*00401*{control}*0*{usage}*{_COMPONENT}"
        ]
        trailer = []
        if self.count:
            gs = self.first_group.gs if self.first_group else isa
            parsed = parse_date(day)
            full_day = parsed.strftime("%Y%m%d") if parsed else "20000101"
            sender = _clean(gs.el(3) if self.first_group else isa.el(8), 15) or "UNKNOWN"
            receiver = _clean(gs.el(2) if self.first_group else isa.el(6), 15) or "UNKNOWN"
            header.append(f"GS*FA*{sender}*{receiver}*{full_day}*{clock}*{self.control}*X*004010")
            trailer.append(f"GE*{self.count}*{self.control}")
        trailer.append(f"IEA*{1 if self.count else 0}*{control}")
        head = "".join(line + _TERMINATOR + "\n" for line in header).encode("utf-8")
        tail = "".join(line + _TERMINATOR + "\n" for line in trailer).encode("utf-8")
        errors_out = list(self.errors)
        if self.extra_errors:
            errors_out.append(f"… and {self.extra_errors} more errors")
        return Acknowledgement(
            kind="997",
            interchange=self.ic.control,
            accepted=not self.rejected,
            errors=tuple(errors_out),
            body=head + bytes(self.sets) + tail,
        )


def _issue_lines(issue: Issue) -> list[str]:
    if issue.element is None:
        return [f"AK3*{_clean(issue.tag, 3)}*{issue.position}**{issue.code}"]
    ak4 = f"AK4*{issue.element}*{issue.element_ref}*{issue.code}"
    if issue.bad:
        ak4 += f"*{_clean(issue.bad, 99)}"
    return [f"AK3*{_clean(issue.tag, 3)}*{issue.position}**8", ak4]


_ISSUE_TEXT = {
    "1": "a mandatory element is missing",
    "2": "a conditionally required element is missing",
    "3": "a mandatory segment is missing",
    "6": "an element holds an invalid character",
    "7": "an element holds an invalid code",
    "8": "an element holds an invalid date",
    "9": "an element holds an invalid time",
}


def _issue_text(issue: Issue) -> str:
    where = f"{issue.tag} at segment {issue.position}"
    if issue.element is not None:
        where += f", element {issue.element:02d}"
    what = _ISSUE_TEXT.get(issue.code, f"error code {issue.code}")
    if issue.element is None and issue.code == "3":
        return f"segment {issue.tag} is missing (mandatory)"
    return f"{where}: {what}" + (f" ({issue.bad!r})" if issue.bad else "")
