"""GS1 EPCIS 2.0 documents, JSON / JSON-LD and XML (EPCIS 1.x XML where it costs nothing).

The body is sniffed: first non-blank character ``{`` → JSON (json_doc.py), ``<`` → XML
(xml_stream.py streams the document, xml_doc.py reads its events). Both are read into one
representation (model.py), so the same event gives the same
canonical event in either syntax: mapping.py (the mapping rules: type from the ``epcis.bizstep``
and ``epcis.disposition`` code tables, refs, times, error declarations), event_hash.py (the
event_id of events without an eventID), codes.py (CBV vocabularies and the default tables),
times.py (xsd:dateTime)."""

import codecs
from collections.abc import Iterable, Iterator
from itertools import chain

from ..base import Candidate, FeedContext, MappedAdapter, SplitReport, UnreadableBody, reject
from . import json_doc, xml_doc, xml_stream
from .codes import CODE_TABLES
from .mapping import event_id_of, map_event
from .model import RawEvent

EXPECTED = "expected an EPCIS document: JSON-LD (starting with '{') or XML (starting with '<')"
_BLANK = b" \t\r\n"


def _sniff(head: bytes) -> tuple[str, bytes]:
    """("json" | "xml", the body without a UTF-8 byte-order mark) from the body's first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # UTF-16 is XML's business (lxml reads the mark); JSON is UTF-8 only (RFC 8259).
        text = head[:64].decode("utf-16", errors="ignore").lstrip()
        if text.startswith("<"):
            return "xml", head
        raise UnreadableBody(f"{EXPECTED}; a UTF-16 body must be XML")
    first = head.lstrip(_BLANK)[:1]
    if first == b"{":
        return "json", head
    if first == b"<":
        return "xml", head
    if not head.strip(_BLANK):
        raise UnreadableBody(f"body is empty: {EXPECTED}")
    raise UnreadableBody(EXPECTED)


def raw_events(body: bytes) -> list[RawEvent]:
    """Every event of an EPCIS body, read (UnreadableBody when the document is not readable)."""
    syntax, body = _sniff(body)
    if syntax == "json":
        return list(json_doc.read(json_doc.load(body)))
    return list(xml_doc.read(body))


class EpcisAdapter(MappedAdapter):
    name = "epcis"
    content_types = ("application/json", "application/ld+json", "application/xml", "text/xml")
    code_tables = CODE_TABLES

    def read(self, body: bytes, ctx: FeedContext) -> Iterator[Candidate]:
        """One candidate per event that is not IGNOREd, in document order. The whole document
        is read first: a body that breaks off half-way is unreadable as a whole."""
        for event in raw_events(body):
            try:
                candidate = map_event(event, ctx)
            except Exception as exc:  # the last line of defence: a bad event never fails the body
                candidate = reject(
                    f"{event.where()}: could not be mapped ({type(exc).__name__}); report it with the document",
                    event_id=_safe_id(event),
                )
            if candidate is not None:
                yield candidate

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """JSON is read whole (json_doc.split: documents with the same header and @context);
        XML streams (xml_doc.split: documents with the original root and its namespaces). Each
        body holds at most `max_events` events, so at most as many candidates."""
        if max_events < 1:
            raise UnreadableBody("max_events must be at least 1")
        pending = iter(chunks)
        head = b""
        for chunk in pending:
            head += chunk
            if head.lstrip(_BLANK + codecs.BOM_UTF8)[:1]:
                break
        syntax, head = _sniff(head)
        if syntax == "json":
            yield from json_doc.split(b"".join(chain([head], pending)), max_events)
        else:
            yield from xml_stream.split(chain([head], pending), max_events)


def _safe_id(event: RawEvent) -> str | None:
    try:
        return event_id_of(event)
    except Exception:
        return None
