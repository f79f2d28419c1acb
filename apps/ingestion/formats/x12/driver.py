"""The three ways through an X12 file, all over the same tokenizer and envelope walker:
`read_body` (a body → candidates), `split_stream` (a file in chunks → bodies, streaming, with
the file-level errors and the 997s in the report) and `acknowledgements` (a body → 997s)."""

import codecs
from collections.abc import Iterable, Iterator

from ..base import Acknowledgement, Candidate, FeedContext, SplitReport, UnreadableBody, reject
from .ack import AckBuilder
from .envelope import GroupEnd, GroupStart, InterchangeEnd, InterchangeStart, Item, SetDone, Stray, TxSet, Walker
from .sets import ack_check, map_set
from .tokens import Segment, SegmentReader

_EMPTY = "not X12: the body is empty; an X12 interchange starts with an ISA segment"
_UTF16 = (b"\xff\xfe", b"\xfe\xff")


def _utf8(body: bytes) -> bytes:
    """X12 in UTF-16 (rare, but a byte-order mark says so) is read as UTF-8."""
    if body.startswith(_UTF16):
        return body.decode("utf-16", errors="replace").encode("utf-8")
    return body


def _items(chunks: Iterable[bytes]) -> Iterator[Item]:
    reader = SegmentReader()
    walker = Walker()
    decoder: codecs.IncrementalDecoder | None = None
    first = True
    for chunk in chunks:
        if first and chunk:
            first = False
            if chunk.startswith(_UTF16):
                decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        if decoder is not None:
            chunk = decoder.decode(chunk).encode("utf-8")
        for token in reader.feed(chunk):
            items = walker.feed(token)
            if items:
                yield from items
    for token in reader.finish():
        items = walker.feed(token)
        if items:
            yield from items
    yield from walker.finish()
    if walker.interchanges == 0:
        raise UnreadableBody(_EMPTY)


def read_body(body: bytes, ctx: FeedContext) -> Iterator[Candidate]:
    """Every candidate of a body in source order: the sets' events and rejections, then a
    rejection for each broken group or interchange trailer (sound sets still count)."""
    seen = False
    for item in _items([_utf8(body)]):
        if isinstance(item, InterchangeStart):
            seen = True
        elif isinstance(item, SetDone):
            yield from map_set(item.txset, ctx)
        elif isinstance(item, (GroupEnd, InterchangeEnd)):
            if item.errors:
                yield reject(item.errors)
        elif isinstance(item, Stray):
            if not seen:
                raise UnreadableBody(item.not_x12)
            yield reject(f"file: {item.message}")


class _Splitter:
    """Bodies of one functional group at a time: the interchange's ISA and the group's GS
    verbatim, whole sets, and GE/IEA recounted for the body."""

    def __init__(self, max_events: int, report: SplitReport | None = None) -> None:
        self.max_events = max(1, max_events)
        self.report = report
        self.isa: Segment | None = None
        self.gs: Segment | None = None
        self.parts: list[bytes] = []
        self.events = 0
        self.sets = 0

    def add(self, tx: TxSet) -> Iterator[bytes]:
        n = tx.candidates()
        if self.sets and self.events + n > self.max_events:
            yield from self.flush()
        term = tx.segments[0].delims.segment
        parts = self.parts
        for seg in tx.segments:
            parts.append(seg.raw)
            parts.append(term)
        self.events += n
        self.sets += 1
        if self.events >= self.max_events:
            yield from self.flush()

    def flush(self) -> Iterator[bytes]:
        if not self.sets or self.isa is None or self.gs is None:
            self.parts, self.events, self.sets = [], 0, 0
            return
        d = self.isa.delims
        isa13 = _element(self.isa, 13)
        gs06 = _element(self.gs, 6)
        ge = b"GE" + d.element + str(self.sets).encode() + d.element + gs06 + d.segment
        iea = b"IEA" + d.element + b"1" + d.element + isa13 + d.segment
        body = b"".join([self.isa.raw, d.segment, self.gs.raw, d.segment, *self.parts, ge, iea])
        if self.report is not None:
            self.report.counts.append(self.events)  # spares file intake a second read of the body
        self.parts, self.events, self.sets = [], 0, 0
        yield body


def _element(seg: Segment, index: int) -> bytes:
    parts = seg.raw.split(seg.delims.element)
    return parts[index].strip() if index < len(parts) else b""


def _drive(chunks: Iterable[bytes], report: SplitReport, splitter: _Splitter | None) -> Iterator[bytes]:
    """Walk the file once: bodies (when splitting), errors and 997s into `report`. The feed's
    context plays no part: a 997 is a function of the received bytes alone."""
    ack: AckBuilder | None = None
    seen = False
    for item in _items(chunks):
        if isinstance(item, Stray):
            if not seen:
                raise UnreadableBody(item.not_x12)
            report.errors.append(f"file: {item.message}")
        elif isinstance(item, InterchangeStart):
            seen = True
            ack = AckBuilder(item.interchange)
            if splitter is not None:
                splitter.isa, splitter.gs = item.interchange.isa, None
        elif isinstance(item, GroupStart):
            if ack is not None:
                ack.group_start(item.group)
            if splitter is not None:
                yield from splitter.flush()
                splitter.gs = item.group.gs
        elif isinstance(item, SetDone):
            tx = item.txset
            if ack is not None:
                ack.set_done(tx, ack_check(tx))
            if tx.group is None:
                report.errors.append(f"{tx.name}: {'; '.join(tx.errors)}")
            elif splitter is not None:
                yield from splitter.add(tx)
        elif isinstance(item, GroupEnd):
            if splitter is not None:
                yield from splitter.flush()
            report.errors.extend(item.errors)
            if ack is not None:
                ge01 = item.ge.el(1) if item.ge is not None else ""
                ack.group_end(item.group, ge01, item.ak9_codes, item.errors)
        elif isinstance(item, InterchangeEnd):
            if splitter is not None:
                yield from splitter.flush()
            report.errors.extend(item.errors)
            if ack is not None:
                done = ack.finish(item.errors)
                if done is not None:
                    report.acknowledgements.append(done)
            ack = None


def split_stream(
    chunks: Iterable[bytes], ctx: FeedContext, max_events: int, report: SplitReport | None
) -> Iterator[bytes]:
    """File intake (see MappedAdapter.split): memory holds one body and one set at a time."""
    report = report if report is not None else SplitReport()
    yield from _drive(chunks, report, _Splitter(max_events, report))


def acknowledgements(body: bytes, ctx: FeedContext) -> list[Acknowledgement]:
    """One 997 per received interchange ([] when the body is not X12 at all)."""
    report = SplitReport()
    try:
        for _ in _drive([_utf8(body)], report, None):
            pass
    except UnreadableBody:
        return report.acknowledgements
    return report.acknowledgements
