"""dcsa-tnt under hostile input: random bytes and JSON, mutated real samples, deep nesting,
huge bodies. Only UnreadableBody may escape; whatever is produced is valid or a rejection."""

import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody

from .conftest import REALDATA

DCSA = FORMATS["dcsa-tnt"]
CTX = FeedContext.standard(slug="fuzz")
TNT = REALDATA / "dcsa-conformance-gateway/tnt/src/main/resources/standards/tnt/messages"
SAMPLES = sorted(TNT.glob("*.json")) if TNT.is_dir() else []
needs_samples = pytest.mark.skipif(not SAMPLES, reason="../shared/realdata is not beside the repository")
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sample(i: int) -> bytes:
    return SAMPLES[i % len(SAMPLES)].read_bytes()


def check(raw: bytes) -> list[ValidEvent | Rejection]:
    """Parse and split as the worker and the file intake would; only UnreadableBody escapes."""
    failure: UnreadableBody | None = None
    try:
        out = DCSA.parse(raw, CTX)
    except UnreadableBody as exc:
        failure, out = exc, []
    if failure is not None:
        assert str(failure)  # a message for the partner
        return []
    for o in out:
        assert isinstance(o, ValidEvent | Rejection)
        if isinstance(o, ValidEvent):
            assert o.event_key.startswith("dcsa:")
            assert o.occurred_at.tzinfo is not None
        else:
            assert o.errors
            assert all(isinstance(e, str) and e for e in o.errors)
    try:
        for part in DCSA.split([raw], CTX, max_events=3):
            assert len(orjson.loads(part)) <= 3
    except UnreadableBody:
        pass
    return out


# Values the mapping looks for, at the edges of what parses.
EDGES = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "2024-02-30T10:00:00Z",
    "2024-03-01T10:00:00+24:00",
    "2024-03-01T10:00:00",
    "ACT",
    "EST",
    "ARRI",
    "LOAD",
    "TRANSPORT",
    "EQUIPMENT",
    "APZU4812090",
    "FRPAR",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(EDGES),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(json_values)
def test_random_json(value: Any) -> None:
    check(orjson.dumps(value))
    check(orjson.dumps([value, {"eventType": value, "eventClassification": value}]))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@needs_samples
@FUZZ
@given(st.integers(min_value=0), st.data())
def test_mutated_fields_of_real_samples(which: int, data: st.DataObject) -> None:
    """Any field of a real event replaced by any JSON value (a list for an object, a number for a
    time...): the mapping code must cope with every shape."""
    try:
        doc = orjson.loads(sample(which))
    except orjson.JSONDecodeError:
        return
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths))
        doc = _replace(doc, path, data.draw(json_values))
    check(orjson.dumps(doc))


@needs_samples
@FUZZ
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=20000), st.binary(min_size=1, max_size=8))
def test_truncated_flipped_and_injected_samples(which: int, at: int, noise: bytes) -> None:
    raw = sample(which)
    at %= len(raw) + 1
    check(raw[:at])
    check(raw[:at] + noise + raw[at:])
    flipped = bytearray(raw)
    if flipped:
        flipped[at % len(flipped)] ^= noise[0] or 0xFF
    check(bytes(flipped))
    for delimiter in (b"{", b"[", b'"', b",", b":", b"}", b"]"):
        check(raw[:at] + delimiter + raw[at:])


@pytest.mark.parametrize("depth", [10, 63, 64, 65, 1000, 200_000])
def test_deep_nesting(depth: int) -> None:
    check(b"[" * depth + b"]" * depth)
    check(b'{"events": ' + b"[" * depth + b"]" * depth + b"}")
    nested: Any = "x"
    for _ in range(min(depth, 60)):
        nested = {"a": nested}
    check(orjson.dumps([{"eventType": "TRANSPORT", "transportCall": nested, "references": [nested]}]))


@needs_samples
def test_a_huge_body_is_read_in_linear_time() -> None:
    """~1.7 MB (5,000 events): read at once (the 1,000-event limit then refuses it as one body)
    and split into bodies of 1,000; twice the events take about twice the time."""
    events = orjson.loads(sample(SAMPLES.index(TNT / "tnt-220-response.json")))
    template = events[0]

    def body(n: int) -> bytes:
        return orjson.dumps([{**template, "eventID": f"3cecb101-7a1a-43a4-9d62-{i:012d}"} for i in range(n)])

    small, large = body(2500), body(5000)
    assert len(large) > 1_500_000
    started = time.perf_counter()
    assert len(list(DCSA.read(small, CTX))) == 2500
    half = time.perf_counter() - started
    started = time.perf_counter()
    assert len(list(DCSA.read(large, CTX))) == 5000
    whole = time.perf_counter() - started
    assert whole < 10
    assert whole < 4 * half + 0.5
    with pytest.raises(UnreadableBody, match="more than 1000 events"):
        DCSA.parse(large, CTX)
    parts = list(DCSA.split([large[i : i + 65536] for i in range(0, len(large), 65536)], CTX, max_events=1000))
    assert [len(orjson.loads(p)) for p in parts] == [1000] * 5
    assert len(valid := DCSA.parse(parts[0], CTX)) == 1000
    assert all(isinstance(v, ValidEvent) for v in valid)


def test_huge_repetition_of_a_string() -> None:
    check(b'[{"eventType": "' + b"A" * 2_000_000 + b'"}]')
    check(b"[" + b"{}," * 400_000 + b"{}]")
