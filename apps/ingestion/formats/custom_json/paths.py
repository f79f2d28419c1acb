"""Paths into a JSON document: a small dotted syntax, parsed once, walked in linear time (no
eval, no JSONPath library).

    status.code          key "code" of key "status" of the record
    parcels[0].tracking  the first element of a list ([-1]: the last)
    parcels[*].tracking  every element: a path with [*] finds a list of values
    ["order.no"]         a key holding a dot, a bracket, a quote or a leading "$" (\\" and \\\\ escape)
    $.meta.carrier       from the body's root instead of the record

A path that does not match (a missing key, an index out of range, a key of something that is
not an object) finds nothing; it never raises."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..base import UnreadableBody

MAX_PATH_CHARS = 500
MAX_STEPS = 32
MAX_VISITS = 100_000  # nodes mapping_fields looks at

Step = str | int | None  # a key, an index, or None for [*]
Concrete = tuple[str | int, ...]  # where a found value is: keys and indexes, no wildcard
_PLAIN = re.compile(r'[^.\[\]"]+')
_INDEX = re.compile(r"-?\d{1,9}")


class PathError(ValueError):
    """A path that is not of the syntax; the message says where."""


@dataclass(frozen=True)
class Path:
    text: str
    root: bool  # from the body's root ("$…"), else from the record
    steps: tuple[Step, ...]

    @property
    def multi(self) -> bool:
        """Has a [*]: finds a list of values."""
        return None in self.steps

    def without_trailing_wildcard(self) -> "Path":
        if self.steps and self.steps[-1] is None:
            return Path(self.text.removesuffix("[*]"), self.root, self.steps[:-1])
        return self


def parse_path(text: Any) -> Path:
    """A path's steps, or PathError naming the position that is wrong."""
    if not isinstance(text, str):
        raise PathError(f"want a path string, got {type(text).__name__}")
    source = text.strip()
    if not source:
        raise PathError("empty path")
    if len(source) > MAX_PATH_CHARS:
        raise PathError(f"longer than {MAX_PATH_CHARS} characters")
    steps: list[Step] = []
    root = source.startswith("$")
    i = 1 if root else 0
    if not root and source[0] not in ".[":
        i = _plain(source, 0, steps)
    while i < len(source):
        char = source[i]
        if char == ".":
            if i + 1 >= len(source) or source[i + 1] in '.["]':
                raise PathError(f"{source!r}: a key is missing after the '.' at position {i + 1}")
            i = _plain(source, i + 1, steps)
        elif char == "[":
            i = _bracket(source, i, steps)
        else:
            raise PathError(f"{source!r}: unexpected {char!r} at position {i + 1} (want '.key' or '[…]')")
        if len(steps) > MAX_STEPS:
            raise PathError(f"{source!r}: more than {MAX_STEPS} steps")
    if not root and not steps:
        raise PathError("empty path")
    return Path(text=source, root=root, steps=tuple(steps))


def _plain(source: str, start: int, steps: list[Step]) -> int:
    match = _PLAIN.match(source, start)
    if match is None:
        raise PathError(f"{source!r}: a key is missing at position {start + 1}")
    steps.append(match.group())
    return match.end()


def _bracket(source: str, start: int, steps: list[Step]) -> int:
    if source.startswith("[*]", start):
        steps.append(None)
        return start + 3
    if source.startswith('["', start):
        key: list[str] = []
        i = start + 2
        while i < len(source):
            char = source[i]
            if char == "\\" and i + 1 < len(source) and source[i + 1] in '"\\':
                key.append(source[i + 1])
                i += 2
            elif char == '"':
                if not source.startswith('"]', i):
                    raise PathError(f"{source!r}: want ']' after the quoted key at position {i + 2}")
                steps.append("".join(key))
                return i + 2
            else:
                key.append(char)
                i += 1
        raise PathError(f"{source!r}: the quoted key opened at position {start + 1} is not closed")
    match = _INDEX.match(source, start + 1)
    if match is None or not source.startswith("]", match.end()):
        raise PathError(f'{source!r}: at position {start + 1} want [<number>], [*] or ["key"]')
    steps.append(int(match.group()))
    return match.end() + 1


def find(path: Path, record: Any, document: Any) -> list[tuple[Concrete, Any]]:
    """Every value the path finds, with where it is (relative to the record; a root path's
    places are relative to the body). Each step looks at each value once: linear time."""
    current: list[tuple[Concrete, Any]] = [((), document if path.root else record)]
    for step in path.steps:
        found: list[tuple[Concrete, Any]] = []
        for place, value in current:
            if step is None:
                if isinstance(value, list):
                    found.extend(((*place, i), item) for i, item in enumerate(value))
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    index = step % len(value)
                    found.append(((*place, index), value[index]))
            elif isinstance(value, dict) and step in value:
                found.append(((*place, step), value[step]))
        current = found
        if not current:
            break
    return current


def key_text(key: str, first: bool) -> str:
    """A key as a path step: `.key`, or `["key"]` where the plain form would not read back."""
    plain = _PLAIN.fullmatch(key) is not None and key == key.strip() and not (first and key.startswith("$"))
    if plain:
        return key if first else f".{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'["{escaped}"]'


def mapping_fields(
    sample: bytes,
    events: str | None = None,
    *,
    max_records: int = 20,
    max_depth: int = 8,
    max_paths: int = 2000,
) -> list[str]:
    """Every path present in a sample body, for a mapping editor to pick from: from the root
    (`$.data.items[*].id`), or relative to the records when `events` is given (`id`,
    `status.code`). Lists are walked as `[*]` over their first `max_records` elements; at
    most `max_depth` levels and `max_paths` paths. UnreadableBody when the sample is not JSON
    or `events` is not a path."""
    try:
        data = orjson.loads(sample)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(f"the sample is not JSON: {exc}") from None
    if events is None:
        starts: list[tuple[str, Any]] = [("$", data)]
    else:
        try:
            where = parse_path(events).without_trailing_wildcard()
        except PathError as exc:
            raise UnreadableBody(f"events: {exc}") from None
        records = [v for _, v in find(where, data, data)]
        flat = [item for v in records for item in (v if isinstance(v, list) else [v])]
        starts = [("", record) for record in flat[:max_records]]
    seen: dict[str, None] = {}
    visits = 0
    for prefix, value in starts:
        for path in _walk(prefix, value, max_records, max_depth):
            seen.setdefault(path, None)
            visits += 1  # nested lists repeat their paths: bound the walk, not only the answer
            if len(seen) >= max_paths or visits >= MAX_VISITS:
                return list(seen)
    return list(seen)


def _walk(prefix: str, value: Any, max_items: int, max_depth: int) -> Iterator[str]:
    """The paths under `value`, depth first in document order."""
    stack: list[tuple[str, Any, int]] = list(reversed(_children(prefix, value, max_items, 1)))
    while stack:
        path, node, depth = stack.pop()
        yield path
        if depth < max_depth:
            stack.extend(reversed(_children(path, node, max_items, depth + 1)))


def _children(path: str, node: Any, max_items: int, depth: int) -> list[tuple[str, Any, int]]:
    if isinstance(node, dict):
        return [(path + key_text(key, not path), child, depth) for key, child in node.items()]
    if isinstance(node, list):
        return [(f"{path}[*]", item, depth) for item in node[:max_items]]
    return []
