"""CONTRL (syntax and service report, D:3:UN) for each received interchange.

A pure function of the received bytes: the CONTRL's UNB swaps the received sender and
recipient, carries the received UNB's date/time, and its control reference is derived from
the received one, so the same interchange always gets the same CONTRL. It reports syntax
only (ISO 9735 part 4): envelope errors in UCI/UCF (action 4 with the 0085 error code and the
segment in error), each rejected message in a UCM (4), with UCS/UCD for a data segment or
element in error. A message type this feed does not read is rejected (14, value not
supported); codes a code table does not map are not syntax errors and are not reported. A
CONTRL is never acknowledged by a CONTRL (ISO 9735-4)."""

import hashlib
from dataclasses import dataclass, field

from ..base import Acknowledgement
from .codes import MESSAGE_NAMES
from .envelope import NOT_SUPPORTED, Closed, Event, Group, GroupClosed, Issue, Message, Read
from .syntax import DEFAULT

READ_TYPES = ("IFTSTA", "DESADV")
ACCEPTED, REJECTED = "7", "4"


def syntax_issues(msg: Message) -> list[Issue]:
    """What the CONTRL says of a message: its envelope/segment errors, or that its type is not
    one this feed reads."""
    if msg.issues:
        return msg.issues
    if msg.type not in READ_TYPES and msg.type != "CONTRL":
        name = MESSAGE_NAMES.get(msg.type, "a message type")
        text = (
            f"{msg.interchange.label}: message {msg.ref or '(no UNH01)'} is {msg.type} ({name}); "
            "this feed maps IFTSTA and DESADV"
        )
        return [Issue(NOT_SUPPORTED, text, "UNH", None, (2, 1))]
    return []


@dataclass
class _Rejected:
    ref: str
    identifier: list[str]
    issues: list[Issue]


@dataclass
class _Group:
    ref: str
    sender: list[str]
    recipient: list[str]
    issues: list[Issue]
    rejected: list[_Rejected] = field(default_factory=list)


def control_reference(received: str, unb: bytes) -> str:
    """The CONTRL's own UNB05 (an..14), derived from the received one."""
    if received and len(received) <= 13:
        return "C" + received
    return "C" + hashlib.sha256(unb).hexdigest()[:13].upper()


class Acknowledger:
    """Fed the envelope events of a body (or a streaming file), returns a CONTRL per closed
    interchange. Holds only the rejected messages' references and issues."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.loose: list[_Rejected] = []
        self.groups: list[_Group] = []
        self.types: set[str] = set()
        # the open groups, by identity: a group's messages all come before its GroupClosed
        self.open: dict[int, _Group] = {}

    def feed(self, event: Event) -> Acknowledgement | None:
        if isinstance(event, Read):
            msg = event.message
            self.types.add(msg.type)
            issues = syntax_issues(msg)
            if issues:
                rejected = _Rejected(msg.ref, msg.identifier, issues)
                group = self._group(msg.group) if msg.group is not None else None
                (group.rejected if group is not None else self.loose).append(rejected)
        elif isinstance(event, GroupClosed):
            self._group(event.group).issues = list(event.group.issues)
            self.open.pop(id(event.group), None)
        elif isinstance(event, Closed):
            ack = None if self.types == {"CONTRL"} else self._build(event)
            self._reset()
            return ack
        return None

    def _group(self, g: Group) -> _Group:
        entry = self.open.get(id(g))
        if entry is None:
            entry = self.open[id(g)] = _Group(g.ref, g.ung.components(1), g.ung.components(2), [])
            self.groups.append(entry)
        return entry

    def _build(self, closed: Closed) -> Acknowledgement:
        ic = closed.interchange
        d = DEFAULT
        ours = control_reference(ic.ref, ic.unb.raw)
        syntax = ic.unb.value(0, 0) if ic.unb.value(0, 0).startswith("UNO") else "UNOA"
        body = [d.segment("UNH", "1", ["CONTRL", "D", "3", "UN"])]
        first = ic.issues[0] if ic.issues else None
        uci: list[str | list[str]] = [ic.ref, ic.unb.components(1), ic.unb.components(2)]
        uci += [REJECTED, first.code, first.tag] if first else [ACCEPTED]
        body.append(d.segment("UCI", *uci))
        errors = [i.text for i in ic.issues]
        for rejected in self.loose:
            body += self._ucm(rejected, errors)
        for group in self.groups:
            head = group.issues[0] if group.issues else None
            ucf: list[str | list[str]] = [group.ref, group.sender, group.recipient]
            ucf += [REJECTED, head.code, head.tag] if head else [ACCEPTED]
            body.append(d.segment("UCF", *ucf))
            errors += [i.text for i in group.issues]
            for rejected in group.rejected:
                body += self._ucm(rejected, errors)
        body.append(d.segment("UNT", str(len(body) + 1), "1"))
        unb = d.segment("UNB", [syntax, "3"], ic.unb.components(2), ic.unb.components(1), ic.unb.components(3), ours)
        document = b"\n".join([unb, *body, d.segment("UNZ", "1", ours)]) + b"\n"
        return Acknowledgement(
            kind="CONTRL", interchange=ic.ref, accepted=not errors, errors=tuple(errors), body=document
        )

    @staticmethod
    def _ucm(rejected: _Rejected, errors: list[str]) -> list[bytes]:
        d = DEFAULT
        service = next((i for i in rejected.issues if i.tag), None)
        ucm: list[str | list[str]] = [rejected.ref, rejected.identifier, REJECTED]
        if service is not None:
            ucm += [service.code, service.tag]
        out = [d.segment("UCM", *ucm)]
        for issue in rejected.issues:
            errors.append(issue.text)
            if issue.position is not None:
                out.append(d.segment("UCS", str(issue.position), issue.code))
                if issue.element is not None:
                    out.append(d.segment("UCD", issue.code, [str(issue.element[0]), str(issue.element[1])]))
        return out
