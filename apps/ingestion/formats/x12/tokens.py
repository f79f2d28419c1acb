"""X12 tokenizer: the delimiters read from each ISA, segments cut out of bytes that may arrive
in chunks of any size (a segment may straddle two chunks).

The tokenizer works on bytes, not text, so that a file can be split into bodies that repeat
its segments byte for byte, whatever its encoding; element values are decoded one by one
(`decode_text`: UTF-8 when valid, else Latin-1). A delimiter may be a multi-byte UTF-8
character (an OopFactory sample ends its segments with "…")."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..base import UnreadableBody, decode_text
from .times import digits

WHITESPACE = b" \t\r\n"
_TAGS: dict[bytes, str] = {}
BOM = b"\xef\xbb\xbf"
# The ISA is 106 characters when well formed; a sloppy one is still read by its separators,
# but one whose 16 separators are not within this many bytes is not an ISA at all.
ISA_SCAN_LIMIT = 512
# A segment longer than this means the declared terminator never occurs: stop rather than
# buffer a whole multi-gigabyte file as one "segment".
MAX_SEGMENT_BYTES = 8 * 1024 * 1024
# Element widths of the fixed-length ISA (X12.5): ISA01 .. ISA16.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators one ISA declares for its interchange."""

    element: bytes
    component: bytes
    repetition: bytes | None
    segment: bytes

    def describe(self) -> str:
        return (
            f"element {shown(self.element)}, component {shown(self.component)}, "
            f"segment terminator {shown(self.segment)}"
        )


def shown(sep: bytes) -> str:
    """A delimiter as a partner can read it in a message: '~', or '\\n' / 0x1E for controls."""
    text = decode_text(sep)
    if len(text) == 1 and not text.isprintable():
        return {"\n": "'\\n'", "\r": "'\\r'", "\t": "'\\t'"}.get(text, f"0x{ord(text):02X}")
    return repr(text)


@dataclass(slots=True)
class Segment:
    """One segment: its bytes without terminator and surrounding white space, its tag and the
    delimiters of its interchange. Element values are decoded on first use."""

    raw: bytes
    tag: str
    delims: Delimiters
    _values: list[str] | None = field(default=None, repr=False)

    def values(self) -> list[str]:
        """Every element as text, the tag first (values()[1] is element 01)."""
        if self._values is None:
            raw, sep = self.raw, self.delims.element
            if raw.isascii() and sep.isascii():  # the usual case: one decode for the segment
                self._values = raw.decode("ascii").split(sep.decode("ascii"))
            else:
                self._values = [decode_text(part) if part else "" for part in raw.split(sep)]
        return self._values

    def el(self, index: int) -> str:
        """Element `index` (1-based, as in AT701), stripped; "" when absent."""
        values = self.values()
        return values[index].strip() if 0 < index < len(values) else ""

    def count(self) -> int:
        """How many data elements the segment carries (the tag not counted)."""
        return len(self.values()) - 1


@dataclass(frozen=True, slots=True)
class Junk:
    """Bytes between interchanges (or before the first one) that are not an ISA."""

    size: int
    sample: str  # the first bytes, decoded, for a message


@dataclass(frozen=True, slots=True)
class BadHeader:
    """Something that starts like an ISA but whose delimiters cannot be read."""

    problem: str
    sample: str


Token = Segment | Junk | BadHeader


def _char_at(buf: bytes | bytearray, i: int, *, final: bool = True) -> bytes | None:
    """The character at byte i: one byte, or a whole UTF-8 sequence when one starts there;
    None when the input may still complete a sequence cut by the end of a chunk."""
    first = buf[i]
    if first < 0x80:
        return bytes((first,))
    n = 2 if 0xC2 <= first <= 0xDF else 3 if 0xE0 <= first <= 0xEF else 4 if 0xF0 <= first <= 0xF4 else 1
    seq = bytes(buf[i : i + n])
    if n > 1 and len(seq) < n and not final:
        return None
    if n > 1 and len(seq) == n:
        try:
            seq.decode("utf-8")
        except UnicodeDecodeError:
            return bytes((first,))
        return seq
    return bytes((first,))


def _alnum(char: bytes) -> bool:
    """An ASCII letter or digit: never a delimiter (a byte >= 0x80 may be one)."""
    return char[0] < 0x80 and chr(char[0]).isalnum()


def _sample(data: bytes | bytearray, start: int, size: int = 40) -> str:
    return decode_text(bytes(data[start : start + size]))


def isa_width_problems(isa: Segment) -> list[str]:
    """What is wrong with the fixed-length layout of an ISA ([] when it is well formed)."""
    values = isa.values()
    problems = []
    if len(values) != 17:
        return [f"the ISA has {len(values) - 1} elements where 16 are defined"]
    for n, width in enumerate(ISA_WIDTHS[:15], start=1):
        got = values[n]
        if len(got) != width:
            problems.append(f"ISA{n:02d} must be {width} characters (got {len(got)}: {got!r})")
    if values[13].strip() and not digits(values[13]):
        problems.append(f"ISA13 (interchange control number) must be 9 digits (got {values[13]!r})")
    return problems


class SegmentReader:
    """Incremental tokenizer: `feed(chunk)` then `finish()`, each yielding tokens in order.
    Memory holds the unread tail of the input only (at most one segment plus a chunk)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._delims: Delimiters | None = None  # None: the next thing must be an ISA
        self._junk = 0
        self._junk_sample = ""
        self._absorb = False  # the bytes after a bad header belong to it: not reported again
        self.consumed = 0  # bytes of the input before `_buf` (for messages)

    def feed(self, chunk: bytes) -> Iterator[Token]:
        """The tokens completed by this chunk (a segment cut by its end waits for the next)."""
        if self._pos:
            del self._buf[: self._pos]
            self.consumed += self._pos
            self._pos = 0
        self._buf += chunk
        yield from self._scan(final=False)

    def finish(self) -> Iterator[Token]:
        """The last tokens: a final segment without terminator, trailing junk."""
        yield from self._scan(final=True)
        if self._junk:
            yield Junk(self._junk, self._junk_sample)
            self._junk, self._junk_sample = 0, ""

    def _scan(self, *, final: bool) -> Iterator[Token]:
        buf = self._buf
        while True:
            if self._delims is None:
                tokens, go_on = self._header(final=final)
                yield from tokens
                if not go_on:
                    return
                continue
            delims = self._delims
            term, sep = delims.segment, delims.element
            start = self._pos
            last = buf.rfind(term, start)
            if last < 0 and not final:
                if len(buf) - start > MAX_SEGMENT_BYTES:
                    raise UnreadableBody(
                        f"not X12: no segment terminator {shown(term)} in the {MAX_SEGMENT_BYTES} bytes after "
                        f"byte {self.consumed + start}; the ISA declares it as the character after ISA16"
                    )
                return
            limit = len(buf) if final else last + len(term)
            # The complete segments of the buffer, split at C speed. Positions are worked out
            # only where a new interchange (with other delimiters) begins.
            data = bytes(buf[start:limit])
            step = _step(data, term)
            pieces = data.split(step)
            last_piece = len(pieces) - 1
            self._pos = limit
            expecting = False  # just after an IEA: the next segment must be an ISA
            for n, piece in enumerate(pieces):
                raw = piece
                if n == last_piece and step != term and raw.endswith(term):
                    raw = raw[: -len(term)]  # the chunk's last terminator, its line break still to come
                if not raw:
                    continue
                if raw[0] in WHITESPACE or raw[-1] in b"\r\n":  # no copy unless there is white space
                    raw = raw.lstrip(WHITESPACE).rstrip(b"\r\n")
                    if not raw:
                        continue
                if expecting or (raw.startswith(b"ISA") and (len(raw) == 3 or not _alnum(raw[3:4]))):
                    # The next interchange (or one after a missing IEA). With the same element
                    # separator and terminator it reads on from this split (files of many small
                    # interchanges stay linear); otherwise its header is read from its position.
                    same = _inline_isa(raw, delims)
                    if same is None:
                        self._delims = None
                        self._pos = self._offset(start, pieces, n, step) + len(piece) - len(piece.lstrip(WHITESPACE))
                        break
                    delims = self._delims = same
                    expecting = False
                    yield Segment(raw=raw, tag="ISA", delims=same)
                    continue
                cut = raw.find(sep)
                head = raw if cut < 0 else raw[:cut]
                tag = _TAGS.get(head)
                if tag is None:
                    tag = head.decode("latin-1").strip()
                    if len(_TAGS) < 4096:  # tags repeat: one str per tag, not per segment
                        _TAGS[head] = tag
                yield Segment(raw=raw, tag=tag, delims=delims)
                if tag == "IEA":
                    self._delims = None
                    expecting = True
            else:
                return

    @staticmethod
    def _offset(start: int, pieces: list[bytes], n: int, step: bytes) -> int:
        """Where piece n of a split starting at `start` begins (n = len(pieces): the end)."""
        if n >= len(pieces):
            return start + sum(len(p) for p in pieces) + (len(pieces) - 1) * len(step)
        return start + sum(len(p) for p in pieces[:n]) + n * len(step)

    def _header(self, *, final: bool) -> tuple[list[Token], bool]:
        """Expecting an ISA at `_pos`: the tokens read, and whether scanning may go on."""
        buf = self._buf
        pos = self._pos
        while not self._junk:  # white space (and byte-order marks) between interchanges
            while pos < len(buf) and buf[pos] in WHITESPACE:
                pos += 1
            if not buf.startswith(BOM, pos):
                break
            pos += len(BOM)
        self._pos = pos
        if not buf.startswith(b"ISA", pos):
            if len(buf) - pos < 3 and not final:
                return [], False
            nxt = buf.find(b"ISA", pos + 1)
            if nxt < 0:
                self._add_junk(pos, len(buf) if final else max(pos, len(buf) - 2))
                return [], False
            self._add_junk(pos, nxt)
            return [], True
        tokens: list[Token] = []
        self._absorb = False
        if self._junk:
            tokens.append(Junk(self._junk, self._junk_sample))
            self._junk, self._junk_sample = 0, ""
        parsed = self._parse_isa(pos, final=final)
        if parsed is None:
            return tokens, False
        if isinstance(parsed, BadHeader):
            tokens.append(parsed)
            self._pos = pos + 3  # look for the next ISA after this one
            self._absorb = True
            return tokens, True
        delims, raw_end, after = parsed
        tokens.append(Segment(raw=bytes(buf[pos:raw_end]), tag="ISA", delims=delims))
        self._delims = delims
        self._pos = after
        return tokens, True

    def _add_junk(self, start: int, end: int) -> None:
        if end <= start:
            return
        if self._absorb:
            self._pos = end
            return
        if len(self._junk_sample) < 40:
            self._junk_sample = (self._junk_sample + _sample(self._buf, start, end - start))[:40]
        self._junk += end - start
        self._pos = end

    def _parse_isa(self, pos: int, *, final: bool) -> tuple[Delimiters, int, int] | BadHeader | None:
        buf = self._buf
        limit = min(len(buf), pos + ISA_SCAN_LIMIT)
        if pos + 3 >= len(buf):
            return None if not final else BadHeader("the ISA segment is cut short", _sample(buf, pos))
        sep = _char_at(buf, pos + 3, final=final)
        if sep is None:
            return None
        if _alnum(sep) or sep[0] in WHITESPACE:
            return BadHeader(
                f"the character after 'ISA' must be the element separator, found {shown(sep)}", _sample(buf, pos)
            )
        i = pos + 3
        values = []  # ISA01..ISA15: the 16th separator is followed by ISA16
        for _ in range(15):
            j = buf.find(sep, i + len(sep), limit)
            if j < 0:
                if not final and len(buf) < pos + ISA_SCAN_LIMIT:
                    return None
                return BadHeader(
                    f"the ISA segment does not have 16 elements separated by {shown(sep)}", _sample(buf, pos)
                )
            values.append(bytes(buf[i + len(sep) : j]))
            i = j
        first = i + len(sep)
        if first >= len(buf):
            return None if not final else BadHeader("the ISA segment ends before ISA16", _sample(buf, pos))
        component = _char_at(buf, first, final=final)
        if component is None:
            return None
        term_at = first + len(component)
        if term_at >= len(buf):
            if not final:
                return None
            term = b"\n"  # an interchange of one segment: nothing follows the ISA anyway
        else:
            found = _char_at(buf, term_at, final=final)
            if found is None:
                return None
            term = found
        if _alnum(term) or term in (sep, component):
            return BadHeader(
                f"the character after ISA16 must be the segment terminator, found {shown(term)} "
                f"(element separator {shown(sep)}, component separator {shown(component)})",
                _sample(buf, pos),
            )
        repetition = None
        version = values[11].strip()
        rep = values[10]  # ISA11
        if version >= b"00501" and len(rep) == 1 and not _alnum(rep) and rep[0] not in WHITESPACE:
            repetition = rep if rep not in (sep, component, term) else None
        delims = Delimiters(element=sep, component=component, repetition=repetition, segment=term)
        return delims, term_at, min(term_at + len(term), len(buf))


def _inline_isa(raw: bytes, current: Delimiters) -> Delimiters | None:
    """The delimiters of an ISA read as a segment of the current split: only when it uses the
    same element separator and terminator (its component and repetition separators may differ)."""
    sep = current.element
    if not raw.startswith(b"ISA" + sep):
        return None
    parts = raw.split(sep)
    if len(parts) != 17 or not parts[16]:
        return None
    component = _char_at(parts[16], 0)
    if component is None or component != parts[16] or component in (sep, current.segment):
        return None
    repetition = None
    rep = parts[11]
    if parts[12].strip() >= b"00501" and len(rep) == 1 and not _alnum(rep) and rep[0] not in WHITESPACE:
        repetition = rep if rep not in (sep, component, current.segment) else None
    return Delimiters(element=sep, component=component, repetition=repetition, segment=current.segment)


def _step(data: bytes, term: bytes) -> bytes:
    """What to split on: the terminator, or the terminator and its line break when every
    terminator but perhaps the last (whose line break is in the next chunk) has one. Pieces
    then need no stripping: one copy less per segment, the cost that matters for large files."""
    if term in (b"\n", b"\r"):
        return term
    count = data.count(term)
    for eol in (b"\n", b"\r\n"):
        step = term + eol
        unmatched = 1 if data.endswith(term) else 0
        if count and data.count(step) == count - unmatched:
            return step
    return term


def read_tokens(body: bytes, chunk_size: int = 0) -> Iterator[Token]:
    """Tokens of a whole body (optionally fed in chunks, for tests of the streaming path)."""
    reader = SegmentReader()
    if chunk_size <= 0:
        yield from reader.feed(body)
    else:
        for start in range(0, len(body), chunk_size):
            yield from reader.feed(body[start : start + chunk_size])
    yield from reader.finish()
