"""custom-json under fuzz: random bodies through a fixed mapping, random mappings over a fixed
body, random bytes, mutated samples and pathological sizes never raise anything but
UnreadableBody; a mapping that `mapping_errors` accepts always reads."""

import contextlib
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody
from apps.ingestion.formats.custom_json import mapping_errors, mapping_fields
from apps.ingestion.formats.custom_json.spec import FIELDS
from tests.ingestion.formats.test_custom_json import MAPPING, WEBHOOK

ADAPTER = FORMATS["custom-json"]
CTX = FeedContext.standard(slug="fuzz", mapping=MAPPING)
BODY = orjson.dumps(WEBHOOK)

scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
)
scalars |= st.text(max_size=12) | st.sampled_from(["OFD", "DLV", "GPS", "2026-11-25T10:00:00+01:00", "12.5", "1e999"])
keys = st.sampled_from(["id", "status", "code", "ts", "order", "number", "parcels", "tracking", "items", "data"])
keys |= st.sampled_from(["sku", "quantity", "stop", "geo", "lat", "route_id", "pod", "name", "$", "a.b", ""])
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5), max_leaves=40
)


def _survives(body: bytes, ctx: FeedContext) -> list[ValidEvent | Rejection]:
    try:
        outcomes = ADAPTER.parse(body, ctx)
    except UnreadableBody:
        return []
    for outcome in outcomes:
        if isinstance(outcome, Rejection):
            assert outcome.errors
            assert all(isinstance(e, str) and e for e in outcome.errors)
    try:
        ADAPTER.count(body, ctx)
        ADAPTER.announced_types(body, ctx)
        for part in ADAPTER.split([body], ctx, max_events=2):
            ADAPTER.parse(part, ctx)
    except UnreadableBody:
        pass
    return outcomes


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json_bodies_through_the_partner_mapping(value: Any) -> None:
    _survives(orjson.dumps(value), CTX)
    _survives(orjson.dumps({"data": {"route_id": "R", "items": value if isinstance(value, list) else [value]}}), CTX)


@settings(max_examples=250, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(body: bytes) -> None:
    _survives(body, CTX)
    with contextlib.suppress(UnreadableBody):
        mapping_fields(body)


specs = (
    st.text(max_size=20)
    | st.sampled_from(["id", "status.code", "parcels[*].tracking", "$.data.route_id", "items[*]", "a[", "[-1]"])
    | st.fixed_dictionaries(
        {},
        optional={
            "path": st.sampled_from(["ts", "status.code", "order.number", "x[*]", "$", "", "eta_epoch_ms"]),
            "const": scalars | json_values,
            "default": scalars,
            "optional": st.booleans() | scalars,
            "table": st.sampled_from(["custom.status", "custom.none", "x"]) | scalars,
            "timezone": st.sampled_from(["Europe/Berlin", "Nowhere/City", "", "../etc", "Europe"]) | scalars,
            "format": st.sampled_from(["iso", "epoch", "epoch_ms", "%d.%m.%Y", "%Q", "%"]) | scalars,
            "sku": st.sampled_from(["sku", {"const": "X"}, 3]),
            "qty": st.sampled_from(["quantity", {"path": "q", "default": 1}]),
        },
    )
    | json_values
)
mappings = (
    st.fixed_dictionaries(
        {},
        optional={
            "version": st.sampled_from([1, 2, "1", None]),
            "events": st.sampled_from(["$", "$[*]", "$.data.items[*]", "$.data.items", "data.items[0]", "$..x", 3]),
            "fields": st.dictionaries(st.sampled_from([*FIELDS, "refs.x", "attributes.y", "nope"]), specs, max_size=12)
            | json_values,
            "tables": st.dictionaries(
                st.sampled_from(["custom.status", "status", "custom."]),
                st.dictionaries(
                    st.sampled_from(["OFD", "DLV", "GPS", ""]),
                    st.sampled_from(["ignore", "delivery.completed", "x"]) | json_values,
                ),
            )
            | json_values,
            "attributes": st.sampled_from(["rest", "none", ["a", "b[*]"], ["a..b"], "all", 3]),
            "extra": scalars,
        },
    )
    | json_values
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mappings)
def test_random_mappings_over_a_fixed_body(mapping: Any) -> None:
    errors = mapping_errors(mapping)
    assert isinstance(errors, list)
    assert all(isinstance(e, str) and e for e in errors)
    ctx = FeedContext.standard(slug="fuzz", mapping=mapping)
    if errors or not mapping:
        with pytest.raises(UnreadableBody, match=r"^the feed's mapping is invalid: "):
            ADAPTER.parse(BODY, ctx)
    else:
        _survives(BODY, ctx)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(sorted(MAPPING["fields"])), specs, max_size=4),
    st.sets(st.sampled_from(sorted(MAPPING["fields"])), max_size=3),
)
def test_the_partner_mapping_with_fields_replaced_or_dropped(replaced: dict[str, Any], dropped: set[str]) -> None:
    fields = {k: v for k, v in {**MAPPING["fields"], **replaced}.items() if k not in dropped}
    mapping = {**MAPPING, "fields": fields}
    ctx = FeedContext.standard(slug="fuzz", mapping=mapping)
    if mapping_errors(mapping):
        with pytest.raises(UnreadableBody, match=r"^the feed's mapping is invalid: "):
            ADAPTER.parse(BODY, ctx)
    else:
        event("a valid variant")  # hypothesis statistics: most variants are (see --hypothesis-show-statistics)
        _survives(BODY, ctx)


def test_a_fixed_valid_mapping_variant_reads() -> None:
    mapping = {**MAPPING, "events": "$.data.items"}
    assert mapping_errors(mapping) == []
    assert len(_survives(BODY, FeedContext.standard(mapping=mapping))) == 5


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_mutated_sample(data: st.DataObject) -> None:
    body = bytearray(BODY)
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(body) - 1)) if body else 0
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and body:
            body[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del body[at:]
        else:
            body[at:at] = data.draw(st.sampled_from([b"[", b"{", b'"', b",", b"null", b"[[[[", b"1e999", b"\xff"]))
    _survives(bytes(body), CTX)


def test_pathological_sizes_take_linear_time() -> None:
    deep_record = b'{"data":{"route_id":"R","items":[' + b'{"x":' * 1000 + b"1" + b"}" * 1000 + b"]}}"
    many = orjson.dumps({"data": {"route_id": "R", "items": [WEBHOOK["data"]["items"][0]] * 20000}})
    wide = orjson.dumps(
        {
            "data": {
                "route_id": "R",
                "items": [{"id": "1", "order": {"number": "SO"}, "parcels": [{"tracking": "T"}] * 200_000}],
            }
        }
    )
    cases = [
        deep_record,
        b"[" * 1000 + b"]" * 1000,  # deeper than orjson reads
        many,  # 20,000 records: more than a body may hold
        wide,  # one record with 200,000 parcels
        b'{"data":{"items":"' + b"x" * 2_000_000 + b'"}}',
        orjson.dumps({"data": {"route_id": "R", "items": [{"k" + str(i): i for i in range(50_000)}]}}),
    ]
    for body in cases:
        started = time.monotonic()
        _survives(body, CTX)
        with contextlib.suppress(UnreadableBody):
            mapping_fields(body, "$.data.items[*]")
        assert time.monotonic() - started < 5, body[:60]
