"""EDIFACT syntax (ISO 9735): service characters, a streaming segment scanner and element
splitting.

Why not pydifact's tokenizer: it reads a whole `str` one character at a time (about 1 s a MB,
too slow for a 30 MB file), keeps no byte offsets (a split must copy UNB and messages
verbatim), refuses a second UNA (several interchanges in one file), takes a space in UNA's
release position for a release character (ISO 9735: space = none), and raises IndexError on a
short UNB. This scanner works on bytes in chunks of any size, finds each segment terminator
with `bytes.find` (a terminator preceded by an odd run of release characters is data), and
splits a segment into elements only when asked."""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..base import UnreadableBody

WHITESPACE = frozenset(b" \t\r\n")
TAG = re.compile(r"[A-Z][A-Z0-9]{2}")
# A segment longer than this is not EDIFACT (an IFTSTA segment is at most a few hundred bytes);
# the cap bounds the scanner's buffer on a file with no terminator at all.
MAX_SEGMENT = 8 * 1024 * 1024


def text_of(raw: bytes) -> str:
    """A segment's text: UTF-8 when it is valid, else Latin-1 (UNOC and older translators)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Delimiters:
    """The service characters of one interchange: UNA's, or ISO 9735's defaults `:+.? '`."""

    __slots__ = ("component", "decimal", "element", "ends", "release", "reserved", "special", "tags", "terminator")

    def __init__(
        self,
        component: str = ":",
        element: str = "+",
        decimal: str = ".",
        release: str | None = "?",
        reserved: str = " ",
        terminator: str = "'",
    ) -> None:
        self.component, self.element, self.decimal = component, element, decimal
        self.release, self.reserved, self.terminator = release, reserved, terminator
        specials = [re.escape(component), re.escape(element)]
        if release is not None:
            specials.insert(0, re.escape(release) + "(.?)")
        self.special = re.compile("|".join(specials), re.DOTALL)
        self.ends = frozenset((ord(element), ord(terminator)))
        self.tags: dict[bytes, str] = {}  # raw tag → tag: one str per tag, not per segment

    @classmethod
    def from_una(cls, raw: bytes) -> "Delimiters":
        """The delimiters of `UNA` + six characters; UnreadableBody when they cannot work."""
        chars = raw[3:9].decode("latin-1")
        component, element, decimal, release, reserved, terminator = (chars[i] for i in range(6))
        used = [component, element, terminator] + ([] if release == " " else [release])
        if len(set(used)) != len(used) or any(c.isalnum() for c in used):
            raise UnreadableBody(
                f"UNA{chars!r}: the component, element and segment separators and the release character "
                "must be four different non-alphanumeric characters (ISO 9735 syntax error 20)"
            )
        return cls(component, element, decimal, None if release == " " else release, reserved, terminator)

    def split(self, text: str) -> list[list[str]]:
        """A segment's text (without its terminator) → elements → components, release undone."""
        if self.release is None or self.release not in text:
            return [element.split(self.component) for element in text.split(self.element)]
        elements: list[list[str]] = []
        components: list[str] = []
        current: list[str] = []
        last = 0
        for match in self.special.finditer(text):
            current.append(text[last : match.start()])
            last = match.end()
            token = match.group(0)
            if token[0] == self.release:
                current.append(match.group(1) or "")
            elif token == self.component:
                components.append("".join(current))
                current = []
            else:
                components.append("".join(current))
                elements.append(components)
                components, current = [], []
        current.append(text[last:])
        components.append("".join(current))
        elements.append(components)
        return elements

    def escape(self, value: str) -> str:
        """A value written between these delimiters (release character before each special)."""
        if self.release is None:
            for char in (self.component, self.element, self.terminator):
                value = value.replace(char, " ")
            return value
        for char in (self.release, self.component, self.element, self.terminator):
            value = value.replace(char, self.release + char)
        return value

    def segment(self, tag: str, *elements: str | list[str]) -> bytes:
        """One segment, values escaped, trailing empty elements and components dropped."""
        parts = [tag]
        for element in elements:
            components = [element] if isinstance(element, str) else list(element)
            while components and not components[-1]:
                components.pop()
            parts.append(self.component.join(self.escape(c) for c in components))
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        return (self.element.join(parts) + self.terminator).encode("utf-8")


DEFAULT = Delimiters()


class Segment:
    """One segment as received: its tag, raw bytes (terminator included, for verbatim copies)
    and, on demand, its data elements (`elements[0]` is the first element after the tag)."""

    __slots__ = ("_elements", "delimiters", "offset", "raw", "tag")

    def __init__(self, raw: bytes, delimiters: Delimiters, offset: int) -> None:
        self.raw, self.delimiters, self.offset = raw, delimiters, offset
        self._elements: list[list[str]] | None = None
        if len(raw) > 3 and raw[3] in delimiters.ends:
            key = raw[:3]
            tag = delimiters.tags.get(key)
            if tag is None:
                tag = key.decode("latin-1")
                if len(delimiters.tags) < 4096:
                    delimiters.tags[key] = tag
            self.tag = tag
            return
        end = len(raw)
        for char in (delimiters.element, delimiters.terminator):
            found = raw.find(char.encode("latin-1"), 0, 16)
            if 0 <= found < end:
                end = found
        self.tag = raw[:end].decode("latin-1")

    @property
    def elements(self) -> list[list[str]]:
        if self._elements is None:
            body = self.raw[:-1] if self.raw.endswith(self.delimiters.terminator.encode("latin-1")) else self.raw
            self._elements = self.delimiters.split(text_of(body))[1:]
        return self._elements

    def value(self, element: int, component: int = 0) -> str:
        """Element `element` (0-based after the tag), component `component`; "" when absent."""
        elements = self.elements
        if element >= len(elements) or component >= len(elements[element]):
            return ""
        return elements[element][component].strip()

    def components(self, element: int) -> list[str]:
        elements = self.elements
        return [c.strip() for c in elements[element]] if element < len(elements) else []

    def text(self) -> str:
        """The segment as text without its terminator, for attributes and messages (at most
        200 characters)."""
        raw = self.raw[:-1] if self.raw.endswith(self.delimiters.terminator.encode("latin-1")) else self.raw
        return text_of(raw)[:200]


@dataclass(frozen=True, slots=True)
class Una:
    raw: bytes
    delimiters: Delimiters
    offset: int


@dataclass(frozen=True, slots=True)
class Junk:
    """Bytes at the end of the input that are not a whole segment (no terminator)."""

    raw: bytes
    offset: int


Item = Segment | Una | Junk


def transcode(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The input as EDIFACT bytes: a UTF-8 byte-order mark dropped, UTF-16 (with its mark)
    decoded and re-encoded as UTF-8 on the fly (the delimiters must be single bytes)."""
    import codecs

    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if len(head) >= 3:
            break
    if head.startswith(b"\xef\xbb\xbf"):
        yield head[3:]
        yield from iterator
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        yield decoder.decode(head).encode("utf-8")
        for chunk in iterator:
            yield decoder.decode(chunk).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")
    else:
        yield head
        yield from iterator


def _segment_end(buf: bytes, start: int, term: int, release: int | None, resume: int = 0) -> int:
    """Index of the segment terminator of the segment starting at `start`, -1 when not there."""
    search = max(start, resume)
    while True:
        found = buf.find(term, search)
        if found < 0 or release is None:
            return found
        run, back = 0, found - 1
        while back >= start and buf[back] == release:
            run, back = run + 1, back - 1
        if run % 2 == 0:
            return found
        search = found + 1


class _State:
    """The scanner's delimiters (changed by UNA, reset after UNZ) and the input offset."""

    def __init__(self) -> None:
        self.base = 0
        self.set(DEFAULT)

    def set(self, delims: Delimiters) -> None:
        self.delims = delims
        self.term = ord(delims.terminator)
        self.release = None if delims.release is None else ord(delims.release)


def _segments(block: bytes, state: _State, final: bool, resume: int = 0) -> Iterator[Item]:
    """The items of `block`; what is left (an incomplete segment) is returned by a final
    `Junk` with offset -1, for the caller to keep for the next chunk. `resume`: how much of the
    block's first segment was searched already (its terminators there were released), so a long
    segment arriving in many chunks is searched once, not once per chunk."""
    pos, size = 0, len(block)
    while True:
        while pos < size and block[pos] in WHITESPACE:
            pos += 1
        if pos >= size:
            return
        if block[pos] == 0x55 and (block.startswith(b"UNA", pos) or (size - pos < 3 and not final)):  # "U"
            if size - pos < 9:
                if final:
                    raise UnreadableBody(f"byte {state.base + pos}: UNA must be followed by six service characters")
                yield Junk(block[pos:], -1)
                return
            raw = block[pos : pos + 9]
            state.set(Delimiters.from_una(raw))
            yield Una(raw, state.delims, state.base + pos)
            pos += 9
            continue
        end = _segment_end(block, pos, state.term, state.release, resume)
        resume = 0
        if end < 0:
            yield Junk(block[pos:], -1)
            return
        segment = Segment(block[pos : end + 1], state.delims, state.base + pos)
        yield segment
        if segment.tag == "UNZ":  # the next interchange has its own UNA, or the defaults
            state.set(DEFAULT)
        pos = end + 1


def scan(chunks: Iterable[bytes], *, max_segment: int = MAX_SEGMENT) -> Iterator[Item]:
    """Bytes in chunks of any size → UNA service strings and segments, in order. A segment may
    straddle chunks (and so may a released terminator). Each interchange starts with the
    defaults unless a UNA precedes it; after UNZ the defaults apply again. Each chunk is cut
    after its last terminator and that block scanned; the rest waits for the next chunk, so
    memory is one chunk plus one segment."""
    state = _State()
    pending = bytearray()
    resume = 0
    for chunk in transcode(chunks):
        if not chunk:
            continue
        pending += chunk
        cut = pending.rfind(state.term, len(pending) - len(chunk))
        if cut < 0:
            if len(pending) > max_segment:
                raise UnreadableBody(
                    f"byte {state.base}: no segment terminator {state.delims.terminator!r} in {max_segment} bytes; "
                    "this is not EDIFACT"
                )
            continue
        block = bytes(pending[: cut + 1])
        del pending[: cut + 1]
        rest = b""
        for item in _segments(block, state, final=False, resume=resume):
            if isinstance(item, Junk) and item.offset < 0:
                rest = item.raw
            else:
                yield item
        state.base += len(block) - len(rest)
        resume = len(rest)
        if rest:
            pending[0:0] = rest
    block = bytes(pending)
    for item in _segments(block, state, final=True, resume=resume):
        if isinstance(item, Junk) and item.offset < 0:
            if item.raw.strip():
                yield Junk(item.raw[:64], state.base + len(block) - len(item.raw))
        else:
            yield item
