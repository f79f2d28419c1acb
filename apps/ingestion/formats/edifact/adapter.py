"""The `edifact` feed format: UN/EDIFACT interchanges carrying IFTSTA and DESADV."""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..base import IGNORE, Acknowledgement, Candidate, FeedContext, MappedAdapter, SplitReport, UnreadableBody, reject
from .codes import CODE_TABLES, MESSAGE_NAMES, MESSAGE_TYPE_TABLE
from .common import event_id
from .contrl import Acknowledger
from .desadv import map_desadv
from .envelope import Closed, GroupClosed, GroupOpened, Interchange, Message, Opened, Read, Stray, envelopes
from .iftsta import map_iftsta
from .syntax import Delimiters, scan, text_of

logger = logging.getLogger(__name__)


def message_key(msg: Message) -> str:
    """The id of a whole message's rejection: its sender and content, not its control refs."""
    inner = msg.segments[1:-1] if msg.segments[-1].tag == "UNT" else msg.segments[1:]
    return event_id("message", msg.interchange.sender, msg.type, [text_of(s.raw) for s in inner])


def candidates_of(msg: Message, ctx: FeedContext) -> list[Candidate]:
    """One message → its candidates: one rejection when it is broken or of a type this feed
    does not read; per STS for IFTSTA; one for DESADV."""
    key = message_key(msg)
    if msg.issues:
        texts = "; ".join(i.text for i in msg.issues[:3])
        return [reject(f"{texts}; correct and resend the message", key)]
    kind = msg.type
    if ctx.codes.lookup(MESSAGE_TYPE_TABLE, kind) == IGNORE:
        return []
    try:
        if kind == "IFTSTA":
            return map_iftsta(msg, ctx, key)
        if kind == "DESADV":
            return map_desadv(msg, ctx, key)
    except Exception as exc:  # a mapping bug must not lose the body: the message is rejected, and logged
        logger.exception("edifact: %s could not be mapped", msg.label)
        return [reject(f"{msg.label}: could not be mapped ({type(exc).__name__}); report it to the support", key)]
    name = MESSAGE_NAMES.get(kind, "a message type")
    return [
        reject(
            f"{msg.interchange.label}: message {msg.ref or '(no UNH01)'} is {kind or '(no type)'} ({name}); "
            f"this feed maps IFTSTA and DESADV; send those, or map {kind} to ignore in code table "
            f"{MESSAGE_TYPE_TABLE}",
            key,
        )
    ]


def upper_bound(msg: Message) -> int:
    """At most how many candidates a message gives, before mapping (what a split counts)."""
    return max(1, msg.sts) if msg.type == "IFTSTA" and not msg.issues else 1


@dataclass
class _Part:
    """The body being built for a split: the interchange's UNA + UNB (+ UNG) verbatim, whole
    messages, trailers recounted."""

    interchange: Interchange
    group: bytes = b""
    group_ref: str = ""
    messages: list[bytes] = field(default_factory=list)
    events: int = 0

    @property
    def newline(self) -> bytes:
        return b"" if self.interchange.delimiters.terminator in "\r\n" else b"\n"

    def add(self, msg: Message, events: int) -> None:
        nl = self.newline
        self.messages.append(nl.join(s.raw for s in msg.segments) + nl)
        self.events += events

    def body(self) -> bytes:
        ic, nl = self.interchange, self.newline
        d: Delimiters = ic.delimiters
        head = ic.una + nl + ic.unb.raw + nl if ic.una else ic.unb.raw + nl
        parts = [head]
        if self.group:
            parts.append(self.group + nl)
        parts += self.messages
        if self.group:
            parts.append(d.segment("UNE", str(len(self.messages)), self.group_ref) + nl)
        parts.append(d.segment("UNZ", "1" if self.group else str(len(self.messages)), ic.ref) + nl)
        self.messages, self.events = [], 0
        return b"".join(parts)


class EdifactAdapter(MappedAdapter):
    """UN/EDIFACT interchanges (UNA optional, UNB … UNZ, UNG/UNE groups, several per body):
    IFTSTA → an event per STS; DESADV → a shipment.confirmed; a CONTRL per interchange."""

    name = "edifact"
    streams_files = True
    content_types = ("application/edifact", "text/plain")
    code_tables = CODE_TABLES

    def read(self, body: bytes, ctx: FeedContext) -> Iterator[Candidate]:
        """Candidates in source order; envelope errors (UNZ/UNE counts and references, a missing
        trailer) are a rejection each, naming the control references, after the messages they
        concern, which are still read when they are whole (UNH … UNT, counted right)."""
        messages = 0
        for event in envelopes(scan([body])):
            if isinstance(event, Read):
                messages += 1
                yield from candidates_of(event.message, ctx)
            elif isinstance(event, GroupClosed):
                yield from (reject(i.text) for i in event.group.issues)
            elif isinstance(event, Closed):
                yield from (reject(i.text) for i in event.interchange.issues)
            elif isinstance(event, Stray):
                yield reject(event.text)
        if not messages:
            raise UnreadableBody("no message (UNH … UNT) in the interchange: nothing to read")

    def acknowledge(self, body: bytes, ctx: FeedContext) -> list[Acknowledgement]:
        """One CONTRL per received interchange (none for an interchange of CONTRLs)."""
        acks = Acknowledger()
        out = []
        for event in envelopes(scan([body])):
            ack = acks.feed(event)
            if ack is not None:
                out.append(ack)
        return out

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """A file streamed in chunks → a body per run of whole messages holding at most
        `max_events` candidates (counted before mapping: one per STS of an IFTSTA, one per
        other message), a new body for each interchange and group. The original trailers are
        checked as the file streams (errors → report.errors) and a CONTRL made per interchange
        (report.acknowledgements). Memory: one message and one body."""
        report = report if report is not None else SplitReport()
        acks = Acknowledger()
        part: _Part | None = None
        emitted = 0
        for event in envelopes(scan(chunks)):
            ack = acks.feed(event)
            if ack is not None:
                report.acknowledgements.append(ack)
            if isinstance(event, Opened):
                part = _Part(event.interchange)
            elif part is None:
                if isinstance(event, Stray):
                    report.errors.append(event.text)
            elif isinstance(event, GroupOpened):
                if part.messages:
                    emitted += 1
                    yield part.body()
                part.group, part.group_ref = event.group.ung.raw, event.group.ref
            elif isinstance(event, Read):
                events = upper_bound(event.message)
                if part.messages and part.events + events > max_events:
                    emitted += 1
                    yield part.body()
                if events > max_events:
                    report.errors.append(
                        f"{event.message.label} holds {events} statuses, more than the {max_events} a message "
                        "may hold: it is sent as one part, which will be refused; send smaller messages"
                    )
                part.add(event.message, events)
            elif isinstance(event, GroupClosed):
                report.errors.extend(i.text for i in event.group.issues)
                if part.messages:
                    emitted += 1
                    yield part.body()
                part.group, part.group_ref = b"", ""
            elif isinstance(event, Closed):
                report.errors.extend(i.text for i in event.interchange.issues)
                if part.messages:
                    emitted += 1
                    yield part.body()
                part = None
        if not emitted:
            raise UnreadableBody("no message (UNH … UNT) in the file: nothing to split")
