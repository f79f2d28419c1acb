"""ANSI X12 interchanges: 214, 856, 940, 945, 204, 210 (http-api.md "Formats").

One body holds one or more interchanges; each ISA declares its own delimiters. A 214 gives
one canonical event per AT7 status; the other sets one event each. A set whose envelope is
broken is rejected whole; a broken group or interchange trailer is one more rejection (the
sound sets still count). Every interchange gets a 997 (`acknowledge`), and a large file is
split into bodies as it streams (`split`).

Modules: tokens (delimiters, segments from bytes in chunks), envelope (ISA/GS/ST walk and
checks), codes (code tables and lists), times (dates, time codes), common (what mappers
share), sets_214 / sets_856 / sets_warehouse (940, 945) / sets_freight (204, 210), sets
(dispatch), ack (997), driver (read, split, acknowledge)."""

from collections.abc import Iterable, Iterator

from ..base import Acknowledgement, Candidate, FeedContext, MappedAdapter, SplitReport
from .codes import CODE_TABLES
from .driver import acknowledgements, read_body, split_stream


class X12Adapter(MappedAdapter):
    name = "x12"
    streams_files = True
    content_types = ("application/edi-x12", "text/plain")
    code_tables = CODE_TABLES

    def read(self, body: bytes, ctx: FeedContext) -> Iterable[Candidate]:
        """Candidates in source order; UnreadableBody("not X12: …") when there is no ISA."""
        return read_body(body, ctx)

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """Streaming split: bodies of at most `max_events` candidates, a new body at each
        group; original trailers checked on the way (report.errors), one 997 per interchange
        (report.acknowledgements)."""
        return split_stream(chunks, ctx, max_events, report)

    def acknowledge(self, body: bytes, ctx: FeedContext) -> list[Acknowledgement]:
        """One 997 per received interchange (none for interchanges of acknowledgements)."""
        return acknowledgements(body, ctx)


__all__ = ["X12Adapter"]
