"""What every feed format has in common: the adapter interface, the feed's context (its code
tables, mapping and time zone) and the helpers that turn an adapter's mapped dicts into
validated canonical events.

An adapter reads bytes and yields *candidates*: canonical-event dicts (canonical-events.md §1)
or `Rejection`s for source records it could not map. `MappedAdapter.parse` validates the
candidates with the same validator as canonical JSON, so every format's events are held to one
contract. Bad input never raises anything but `UnreadableBody` (nothing at all could be read:
the request gets 400 and the body is kept as rejected)."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from apps.events.validation import Rejection, ValidEvent, validate_one

# A code-table value meaning "known, and deliberately not a milestone": the source record
# produces no event (e.g. an EPCIS `sensor_reporting`). It is an explicit mapping, not a guess.
IGNORE = "ignore"


class UnreadableBody(Exception):
    """Nothing could be read at all (the request gets 400; the body is kept as rejected)."""


class TooManyEvents(UnreadableBody):
    pass


@dataclass(frozen=True)
class CodeTable:
    """A standard's code list mapped to canonical event types (or IGNORE). `name` is
    `<format>.<list>`, e.g. `x12.at7`; what a feed overrides and what a rejection names."""

    name: str
    title: str
    entries: Mapping[str, str]


class CodeBook:
    """One feed's resolved code tables: the standard's defaults overlaid with the feed's latest
    version of each table (apps/feeds/models.py FeedCodeTable). A code mapped to None in an
    override is removed from the defaults (then unmapped, hence rejected)."""

    def __init__(
        self,
        defaults: Iterable[CodeTable],
        overrides: Mapping[str, tuple[int, Mapping[str, str | None]]] | None = None,
    ) -> None:
        self._tables: dict[str, dict[str, str]] = {}
        self._versions: dict[str, int] = {}
        self.titles: dict[str, str] = {}
        for table in defaults:
            self._tables[table.name] = dict(table.entries)
            self._versions[table.name] = 0
            self.titles[table.name] = table.title
        for name, (version, entries) in (overrides or {}).items():
            merged = self._tables.setdefault(name, {})
            for code, value in entries.items():
                if value is None:
                    merged.pop(code, None)
                else:
                    merged[code] = value
            self._versions[name] = version

    def lookup(self, table: str, code: str) -> str | None:
        """The canonical type (or IGNORE) for `code` in `table`; None when it is not mapped."""
        return self._tables.get(table, {}).get(code)

    def version(self, table: str) -> int:
        """0: the standard's defaults; n: the feed's n-th version of the table."""
        return self._versions.get(table, 0)

    def entries(self, table: str) -> dict[str, str]:
        return dict(self._tables.get(table, {}))

    def unmapped(self, table: str, code: str) -> str:
        """The rejection text for a code the table does not map (never a guess)."""
        return (
            f"source_status: code {code!r} is not in code table {table} (version {self.version(table)}); "
            "map it in the feed's code tables, then replay the feed"
        )


@dataclass(frozen=True)
class FeedContext:
    """What an adapter may know of the feed it reads for. `tz` reads source times that carry
    no zone (an X12 date without a time code, a CSV export in local time)."""

    codes: CodeBook
    slug: str = ""
    system: str = ""
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    mapping: Mapping[str, Any] | None = None  # custom-json's declarative mapping

    @classmethod
    def standard(
        cls, *, slug: str = "", system: str = "", tz: str = "UTC", mapping: Mapping[str, Any] | None = None
    ) -> "FeedContext":
        """A context with every format's default code tables and no overrides (tests, bench)."""
        from . import FORMATS

        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        tables = [t for adapter in FORMATS.values() for t in adapter.code_tables]
        return cls(codes=CodeBook(tables), slug=slug, system=system, tz=zone, mapping=mapping)


@dataclass(frozen=True)
class Acknowledgement:
    """A functional acknowledgement of one received interchange (X12 997, EDIFACT CONTRL)."""

    kind: str  # "997" | "CONTRL"
    interchange: str  # the received interchange's control reference
    accepted: bool
    errors: tuple[str, ...]
    body: bytes  # the acknowledgement document, ready to send back


@dataclass
class SplitReport:
    """What a file's split learnt beyond its bodies: envelope errors found while streaming
    (an IEA/UNZ count that does not match, a missing trailer), stated for a partner, and the
    acknowledgement of each interchange (EDI formats), built as the file streams by."""

    errors: list[str] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    # The candidate events of each body, in order, when the splitter counted them anyway (X12):
    # file intake then need not read each body a second time to count it.
    counts: list[int] = field(default_factory=list)


Candidate = dict[str, Any] | Rejection


def reject(errors: str | list[str], event_id: str | None = None) -> Rejection:
    """A candidate rejection; `MappedAdapter.parse` gives it its index."""
    return Rejection(index=-1, event_id=event_id, errors=[errors] if isinstance(errors, str) else list(errors))


def decode_text(body: bytes) -> str:
    """Text of an EDI/CSV body: a UTF-8 or UTF-16 byte-order mark honoured, UTF-8 when it is
    valid, else Latin-1 (which every byte sequence is; old EDI translators send it)."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    elif body.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return body.decode("utf-16")
        except UnicodeDecodeError:
            return body[2:].decode("latin-1")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


class MappedAdapter:
    """The interface of every format, and its base: subclasses implement `read` (bytes →
    candidates) and, where the format allows, a streaming `split`; EDI formats `acknowledge`.

    * `count(body)`: cheap read at the door, how many events a body holds (UnreadableBody → 400);
    * `announced_types(body)`: the types a small body announces, for routing it at the door
      (None: the format cannot tell cheaply);
    * `parse(body)`: the full read, mapping and validation, in the worker;
    * `split(chunks)`: file intake, a large file → bodies of at most `max_events` each;
    * `acknowledge(body)`: one acknowledgement per interchange (X12 997, EDIFACT CONTRL)."""

    name: ClassVar[str] = ""
    content_types: ClassVar[tuple[str, ...]] = ()
    code_tables: ClassVar[tuple[CodeTable, ...]] = ()
    # True: `split` streams (memory bounded by one body whatever the file's size); False: the
    # file is read whole, so file intake caps its size at INGEST_FILE_MAX_WHOLE_BYTES.
    streams_files: ClassVar[bool] = False

    def read(self, body: bytes, ctx: FeedContext) -> Iterable[Candidate]:
        """Bytes → candidates, in source order. Raises UnreadableBody only when nothing at all
        can be read; a bad record is a `reject(...)` naming where it is and what is wrong."""
        raise NotImplementedError

    def candidates(self, body: bytes, ctx: FeedContext) -> list[Candidate]:
        out: list[Candidate] = []
        for item in self.read(body, ctx):
            out.append(item)
            if len(out) > settings.INGEST_MAX_EVENTS:
                raise TooManyEvents(
                    f"more than {settings.INGEST_MAX_EVENTS} events in one body; send it as a file upload"
                )
        return out

    def count(self, body: bytes, ctx: FeedContext) -> int:
        return len(self.candidates(body, ctx))

    def announced_types(self, body: bytes, ctx: FeedContext) -> frozenset[str] | None:
        return None

    def parse(self, body: bytes, ctx: FeedContext) -> list[ValidEvent | Rejection]:
        outcomes: list[ValidEvent | Rejection] = []
        for index, item in enumerate(self.candidates(body, ctx)):
            if isinstance(item, Rejection):
                outcomes.append(Rejection(index=index, event_id=item.event_id, errors=item.errors))
            else:
                outcomes.append(validate_one(index, item))
        return outcomes

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """File intake: the file's bytes (in chunks, as read) → bodies in this same format of at
        most `max_events` candidate events each, in file order, with bounded memory where the
        format allows it; each body parses on its own (an EDI body repeats its interchange's
        headers with trailers recounted) and gives the same event ids as the whole file would.
        File-level envelope errors and acknowledgements go to `report`. Raises UnreadableBody
        when the file cannot be split.

        This fallback, for formats without a streaming split: the whole file as one body, which
        must then hold at most `max_events` events."""
        body = b"".join(chunks)
        try:
            too_many = len(self.candidates(body, ctx)) > max_events
        except TooManyEvents:
            too_many = True
        if too_many:
            raise UnreadableBody(f"a {self.name} file of more than {max_events} events cannot be split")
        if report is not None:
            report.acknowledgements.extend(self.acknowledge(body, ctx))
        yield body

    def acknowledge(self, body: bytes, ctx: FeedContext) -> list[Acknowledgement]:
        return []


FeedFormatAdapter = MappedAdapter
