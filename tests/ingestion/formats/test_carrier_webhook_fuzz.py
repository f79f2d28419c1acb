"""carrier-webhook under hostile input: random bytes and JSON, mutated EasyPost examples and
AfterShip / Shippo bodies, deep nesting, huge bodies. Only UnreadableBody may escape."""

import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody

from .conftest import REALDATA
from .test_carrier_webhook_platforms import AFTERSHIP, SHIPPO

HOOK = FORMATS["carrier-webhook"]
CTX = FeedContext.standard(slug="fuzz", tz="America/Chicago")
EP = REALDATA / "easypost-examples/official"
SAMPLES = [p.read_bytes() for p in sorted(EP.rglob("*.json"))] if EP.is_dir() else []
BODIES = [*SAMPLES, orjson.dumps(AFTERSHIP), orjson.dumps(SHIPPO)]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "2024-08-02T19:26:52Z",
            "2024-08-02T19:26:52",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-05:00",
            "Tracker",
            "Event",
            "delivered",
            "in_transit",
        ]
    ),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)


def check(raw: bytes) -> list[ValidEvent | Rejection]:
    failure: UnreadableBody | None = None
    try:
        out = HOOK.parse(raw, CTX)
    except UnreadableBody as exc:
        failure, out = exc, []
    if failure is not None:
        assert str(failure)  # a message for the partner
        return []
    for o in out:
        assert isinstance(o, ValidEvent | Rejection)
        if isinstance(o, ValidEvent):
            assert o.event_key.split(":")[0] in ("easypost", "aftership", "shippo")
            assert o.occurred_at.tzinfo is not None
            assert o.refs["tracking_number"]
        else:
            assert o.errors
            assert all(isinstance(e, str) and e for e in o.errors)
    return out


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


@FUZZ
@given(json_values, st.sampled_from(["Event", "Tracker", "Shipment", "Order"]))
def test_random_json_in_every_envelope(value: Any, kind: str) -> None:
    check(orjson.dumps(value))
    check(
        orjson.dumps(
            {"object": kind, "result": value, "tracker": value, "tracking_code": "T", "tracking_details": value}
        )
    )
    check(
        orjson.dumps(
            {
                "object": "Tracker",
                "tracking_code": "T",
                "tracking_details": [value, {"status": value, "datetime": value}],
            }
        )
    )
    check(orjson.dumps({"msg": {"tracking_number": "T", "checkpoints": [value]}}))
    check(orjson.dumps({"event": "track_updated", "data": {"tracking_number": "T", "tracking_history": value}}))
    check(orjson.dumps({"trackers": [value], "events": value}))


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


@FUZZ
@given(st.integers(min_value=0), st.data())
def test_mutated_fields(which: int, data: st.DataObject) -> None:
    doc = orjson.loads(BODIES[which % len(BODIES)])
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        path = data.draw(st.sampled_from(_paths(doc)))
        doc = _replace(doc, path, data.draw(json_values))
    check(orjson.dumps(doc))


@FUZZ
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=200_000), st.binary(min_size=1, max_size=8))
def test_truncated_flipped_and_injected(which: int, at: int, noise: bytes) -> None:
    raw = BODIES[which % len(BODIES)]
    at %= len(raw) + 1
    check(raw[:at])
    check(raw[:at] + noise + raw[at:])
    flipped = bytearray(raw)
    flipped[at % len(flipped)] ^= noise[0] or 0xFF
    check(bytes(flipped))
    for delimiter in (b"{", b"[", b'"', b",", b":", b"}", b"]"):
        check(raw[:at] + delimiter + raw[at:])


@pytest.mark.parametrize("depth", [10, 64, 65, 1000, 200_000])
def test_deep_nesting(depth: int) -> None:
    check(b"[" * depth + b"]" * depth)
    check(b'{"object": "Event", "result": ' + b"[" * depth + b"]" * depth + b"}")
    nested: Any = "x"
    for _ in range(min(depth, 60)):
        nested = {"a": nested}
    check(
        orjson.dumps(
            {
                "object": "Tracker",
                "tracking_code": "T",
                "tracking_details": [
                    {"status": "in_transit", "datetime": "2024-01-01T00:00:00Z", "tracking_location": nested}
                ],
            }
        )
    )


def test_a_huge_tracker_is_read_in_linear_time() -> None:
    """~1.5 MB: 6,000 tracking details of one tracker; twice the details take about twice the
    time (the newest-scan ETA is one pass, not a search per scan)."""

    def body(n: int) -> bytes:
        details = [
            {
                "object": "TrackingDetail",
                "message": "Arrived at facility",
                "status": "in_transit",
                "status_detail": "arrived_at_facility",
                "datetime": f"2024-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "tracking_location": {"object": "TrackingLocation", "city": f"CITY {i}", "state": "TX", "zip": "77001"},
            }
            for i in range(n)
        ]
        return orjson.dumps(
            {
                "object": "Tracker",
                "id": "trk_big",
                "tracking_code": "BIG",
                "est_delivery_date": "2024-01-05T00:00:00Z",
                "tracking_details": details,
            }
        )

    small, large = body(3000), body(6000)
    assert len(large) > 1_000_000
    started = time.perf_counter()
    assert len(list(HOOK.read(small, CTX))) == 3000
    half = time.perf_counter() - started
    started = time.perf_counter()
    out = list(HOOK.read(large, CTX))
    whole = time.perf_counter() - started
    assert len(out) == 6000
    assert whole < 10
    assert whole < 4 * half + 0.5
    assert sum(1 for c in out if isinstance(c, dict) and "eta" in c) == 1
    with pytest.raises(UnreadableBody, match="more than 1000 events"):
        HOOK.parse(large, CTX)


def test_huge_repetition() -> None:
    check(b'{"object": "' + b"A" * 2_000_000 + b'"}')
    check(b'{"trackers": [' + b"{}," * 400_000 + b"{}]}")
