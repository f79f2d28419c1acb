"""canonical-csv: the canonical event contract as columns, one event a row (http-api.md
"Formats"). The format speaks the contract itself: `type` is the canonical type (no code
table), `source_status` is kept as sent, and an event without `event_id` gets the same key as
the same event sent as canonical JSON.

The body:

* The first line that is not blank is the **header**; the delimiter is the one of `,` `;`
  tab `|` it uses most (outside quotes). Quoting is RFC 4180 (`"a;b"`, `""` for a quote, line
  breaks inside quotes). UTF-8 or UTF-16 with a byte-order mark, else Latin-1 (as
  `base.decode_text`); CRLF, LF or CR line breaks.
* Columns (names trimmed, case-insensitive but for the attribute name): `event_id`, `type`,
  `occurred_at`, `source_status`, `eta`, `promised_by`, `service_level`, `customer`;
  `refs.<kind>` for every ref kind (several ids in one cell separated by `;`);
  `location.code|name|lat|lon|tz`; `reason.code|text`; `amount.value` + `amount.currency`
  (the contract's two members, e.g. `123.45` and `EUR`); `pod.signed_by|document_ref|photo_ref`;
  `lines` as `sku:qty;sku:qty:uom` (the uom is a third member and is never a number; a sku
  may hold `:`, the qty being the last number of the item); `attributes.<name>` → the
  event's `attributes` as strings. `type`, `occurred_at` and one `refs.<kind>` column are
  required. A column the format does not know → UnreadableBody naming it and listing the
  known ones (the partner fixes the header once).
* Cells are trimmed; an empty cell is an absent field; a row with no value at all is skipped.
  Times are RFC 3339 with an offset: a naive time is rejected (the contract's rule, by the
  validator), never read in the feed's zone.
* A row is rejected, naming it as `row 7 (line 8)` (the 7th event row, starting on physical
  line 8 of the body), when it has another number of cells than the header, a number that is
  not one, a `lines` item that is not `sku:qty[:uom]`; the validator's own errors get the
  same prefix.

`split` streams a file: bodies of the header line and at most `max_events` rows each, in
file order, memory bounded by one body; rows and lines in a split body's rejections count
from that body. `write_csv` writes events back in this format (see writing.py)."""

from collections.abc import Iterable, Iterator

from django.conf import settings

from apps.events.validation import Rejection, ValidEvent, validate_one

from ..base import Candidate, FeedContext, MappedAdapter, SplitReport, TooManyEvents, decode_text
from .reading import Header, Record, candidate, decode_stream, header_line, lines_of, parse_header, records
from .writing import NotWritable, row_of, rows_of, write_csv

__all__ = ["CanonicalCsvAdapter", "NotWritable", "row_of", "rows_of", "write_csv"]


def _open(body: bytes) -> tuple[Header, Iterator[Record]]:
    lines = lines_of([decode_text(body)])
    first, number = header_line(lines)
    header = parse_header(first, number)
    return header, records(lines, header)


def _too_many(count: int) -> None:
    if count > settings.INGEST_MAX_EVENTS:
        raise TooManyEvents(f"more than {settings.INGEST_MAX_EVENTS} events in one body; send it as a file upload")


class CanonicalCsvAdapter(MappedAdapter):
    name = "canonical-csv"
    streams_files = True
    content_types = ("text/csv",)

    def _positioned(self, body: bytes) -> Iterator[tuple[Record, Candidate]]:
        header, rows = _open(body)
        for record in rows:
            yield record, candidate(header, record)

    def read(self, body: bytes, ctx: FeedContext) -> Iterable[Candidate]:
        """One candidate per event row (UnreadableBody for an empty body or a bad header)."""
        for _, item in self._positioned(body):
            yield item

    def count(self, body: bytes, ctx: FeedContext) -> int:
        """The event rows, counted without mapping them (the header is checked)."""
        _, rows = _open(body)
        count = 0
        for _ in rows:
            count += 1
            _too_many(count)
        return count

    def announced_types(self, body: bytes, ctx: FeedContext) -> frozenset[str] | None:
        """The `type` cells, as sent."""
        header, rows = _open(body)
        index = header.columns.index("type")
        return frozenset(
            r.cells[index].strip()
            for r in rows
            if r.cells is not None and len(r.cells) > index and r.cells[index].strip()
        )

    def parse(self, body: bytes, ctx: FeedContext) -> list[ValidEvent | Rejection]:
        """As the base's, with the validator's errors prefixed by the row they are about."""
        outcomes: list[ValidEvent | Rejection] = []
        for index, (record, item) in enumerate(self._positioned(body)):
            _too_many(index + 1)
            if isinstance(item, Rejection):
                outcomes.append(Rejection(index=index, event_id=item.event_id, errors=item.errors))
                continue
            outcome = validate_one(index, item)
            if isinstance(outcome, Rejection):
                errors = [f"{record.where}: {error}" for error in outcome.errors]
                outcome = Rejection(index=index, event_id=outcome.event_id, errors=errors)
            outcomes.append(outcome)
        return outcomes

    def split(
        self, chunks: Iterable[bytes], ctx: FeedContext, *, max_events: int, report: SplitReport | None = None
    ) -> Iterator[bytes]:
        """A file streamed → bodies of its header line and at most `max_events` rows each (the
        rows' lines as in the file, quoted line breaks included), UTF-8 encoded."""
        lines = lines_of(decode_stream(chunks))
        first, number = header_line(lines)
        header = parse_header(first, number)
        head = first if first.endswith(("\n", "\r")) else first + "\r\n"
        body: list[str] = []
        rows = 0
        for record in records(lines, header, keep_raw=True):
            if record.row == 0:  # blank lines after the last row
                break
            body.extend(record.raw)
            rows += 1
            if rows == max_events:
                yield (head + "".join(body)).encode("utf-8")
                body, rows = [], 0
        if rows:
            yield (head + "".join(body)).encode("utf-8")
