"""EPCIS XML read as a stream: lxml's pull parser fed with the body's chunks, yielding the event
elements of the document one by one; and the split of a large file into documents.

Parsing has every risky feature off: no entity expansion, no DTD loading or validation, no
network, no huge-tree mode (libxml2's depth and text-size limits stay), comments and processing
instructions dropped. A document that declares entities (``<!ENTITY …>`` in its DTD) is refused
outright, as defusedxml would: no partner needs them and they are how "billion laughs" bodies
are built. Events are taken at their end tag and cleared at once, so memory is bounded by one
event plus the split's batch.

Documents: ``EPCISDocument`` (EPCISBody/EventList), ``EPCISQueryDocument``
(EPCISBody/QueryResults/resultsBody/EventList) of the EPCIS 2.0 (``urn:epcglobal:epcis:xsd:2``)
or 1.x namespaces; a master-data document, a capture-job status or a document without an
EventList hold no events. The events are the children of EventList, also inside 1.x
``<extension>`` wrappers (xml_doc.py reads them)."""

import contextlib
import re
from collections.abc import Iterable, Iterator
from typing import cast

from lxml import etree

from ..base import UnreadableBody

_EVENT_PATHS = (("EPCISBody", "EventList"), ("EPCISBody", "QueryResults", "resultsBody", "EventList"))
_NO_EVENTS = frozenset({"EPCISMasterDataDocument", "EPCISCaptureJob", "EPCISCaptureJobs"})
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECLS = (b"<!ENTITY", "<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))
_PROLOG_LIMIT = 1 << 20
_MARK = "epcis-split"
ENTITIES_REFUSED = "XML entity declarations (<!ENTITY …>) are not accepted: send the EPCIS document without a DTD"


def _parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def qname(el: etree._Element) -> tuple[str | None, str]:
    """(namespace or None, local name) of an element; (None, "") for a non-element node."""
    tag = el.tag
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def local_name(el: etree._Element) -> str | None:
    """The local name of an unqualified element (the EPCIS standard fields), else None."""
    namespace, local = qname(el)
    return local if namespace is None and local else None


def attrib(el: etree._Element) -> list[tuple[str, str]]:
    """The attributes of `el` as text (lxml-stubs allow bytes)."""
    return [(_str(k), _str(v)) for k, v in el.attrib.items()]


def _str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _valid_nsmap(el: etree._Element) -> dict[str, str]:
    """The namespaces declared on `el` that lxml accepts to declare again (libxml2 only warns
    about a malformed namespace URI; lxml refuses to write one)."""
    valid: dict[str | None, str] = {}
    for prefix, uri in el.nsmap.items():
        try:
            etree.Element("probe", nsmap={prefix: uri})  # type: ignore[dict-item]
        except ValueError:
            continue
        valid[prefix] = uri
    # lxml takes None as the key of the default namespace; its stubs type the keys str only.
    return cast(dict[str, str], valid)


class Stream:
    """Feed chunks, get the event elements of the document in order. `head` / `tail` are the
    document around its EventList (the root with its namespaces and attributes, and each
    ancestor of EventList), to wrap split events in."""

    def __init__(self) -> None:
        self.parser = _parser()
        self.stack: list[etree._Element] = []
        self.list_depth: int | None = None
        self.head = b""
        self.tail = b""
        self.root_seen = False
        self.prolog = b""

    def feed(self, chunk: bytes) -> Iterator[etree._Element]:
        if not self.root_seen:
            self._check_prolog(chunk)
        try:
            self.parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise UnreadableBody(f"body is not well-formed XML: {exc}") from None
        yield from self._events()

    def close(self) -> Iterator[etree._Element]:
        try:
            self.parser.close()
        except etree.XMLSyntaxError as exc:
            raise UnreadableBody(f"body is not well-formed XML: {exc}") from None
        yield from self._events()
        if not self.root_seen:
            raise UnreadableBody("body is empty: expected an EPCIS XML document")

    def _check_prolog(self, chunk: bytes) -> None:
        # Entity declarations can only be in the DTD, before the root element's start tag.
        self.prolog = (self.prolog + chunk)[: _PROLOG_LIMIT + 16]
        match = _ROOT_START.search(self.prolog)
        prolog = self.prolog[: match.start()] if match else self.prolog
        if any(decl in prolog for decl in _ENTITY_DECLS):
            raise UnreadableBody(ENTITIES_REFUSED)

    def _events(self) -> Iterator[etree._Element]:
        for action, el in self.parser.read_events():
            if not isinstance(el, etree._Element):
                continue  # only start / end events were asked for
            if action == "start":
                self.stack.append(el)
                if len(self.stack) == 1:
                    self._root(el)
                elif self.list_depth is None and self._is_event_list():
                    self.list_depth = len(self.stack)
                    self._wrapper()
                continue
            self.stack.pop()
            depth = self.list_depth
            if depth is not None and len(self.stack) >= depth and self._in_event_slot(el, depth):
                yield el
                _free(el)
            elif len(self.stack) == 1 or (depth is not None and len(self.stack) < depth):
                _free(el)  # the header (master data, SBDH) or a finished ancestor: not needed

    def _root(self, root: etree._Element) -> None:
        self.root_seen = True
        dtd = root.getroottree().docinfo.internalDTD
        # lxml-stubs lack DTD.iterentities (lxml has had it since 2.x)
        if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
            raise UnreadableBody(ENTITIES_REFUSED)
        namespace, local = qname(root)
        if not (namespace or "").startswith("urn:epcglobal:epcis"):
            raise UnreadableBody(
                f"not an EPCIS XML document: the root element is {local!r} in namespace {namespace!r}; expected "
                "epcis:EPCISDocument (urn:epcglobal:epcis:xsd:2) or an EPCISQueryDocument"
            )
        if local not in ("EPCISDocument", "EPCISQueryDocument", *_NO_EVENTS):
            raise UnreadableBody(
                f"not an EPCIS event document: the root element is {local!r}; expected EPCISDocument "
                "or EPCISQueryDocument"
            )

    def _is_event_list(self) -> bool:
        names = tuple(qname(el)[1] for el in self.stack[1:])
        return qname(self.stack[0])[1] not in _NO_EVENTS and names in _EVENT_PATHS

    def _in_event_slot(self, el: etree._Element, depth: int) -> bool:
        # A child of EventList, or of an (unqualified) extension wrapper inside it (EPCIS 1.x),
        # but not the wrapper itself.
        if local_name(el) == "extension":
            return False
        return all(local_name(wrapper) == "extension" for wrapper in self.stack[depth:])

    def _wrapper(self) -> None:
        # Rebuilt from each ancestor's tag, attributes and namespaces only: by the time the start
        # of EventList is reported, the parser may already have added events to the tree.
        chain = self.stack
        skeleton = etree.Element(chain[0].tag, nsmap=_valid_nsmap(chain[0]))
        node = skeleton
        for el in chain:
            if el is not chain[0]:
                node = etree.SubElement(node, el.tag, nsmap=_valid_nsmap(el))
            for key, value in attrib(el):
                # a name libxml2 let through (it recovers namespace errors) but lxml will not write
                with contextlib.suppress(ValueError):
                    node.set(key, value)
        node.append(etree.Comment(_MARK))
        self.head, _, self.tail = etree.tostring(skeleton).partition(f"<!--{_MARK}-->".encode())


def _free(el: etree._Element) -> None:
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def events(chunks: Iterable[bytes]) -> Iterator[etree._Element]:
    """The event elements of an EPCIS XML document given in chunks (each valid until the next)."""
    stream = Stream()
    for chunk in chunks:
        yield from stream.feed(chunk)
    yield from stream.close()


def split(chunks: Iterable[bytes], max_events: int) -> Iterator[bytes]:
    """An XML file in chunks → documents of at most `max_events` events each, in order, every one
    the original root (namespaces, attributes) and EventList ancestors around its events."""
    stream = Stream()
    batch: list[bytes] = []

    def feed() -> Iterator[bytes]:
        for chunk in chunks:
            yield from _batches(stream.feed(chunk))
        yield from _batches(stream.close())

    def _batches(elements: Iterator[etree._Element]) -> Iterator[bytes]:
        for el in elements:
            batch.append(etree.tostring(el, with_tail=False))
            if len(batch) >= max_events:
                yield stream.head + b"".join(batch) + stream.tail
                batch.clear()

    yield from feed()
    if batch:
        yield stream.head + b"".join(batch) + stream.tail
