"""Each kind of bad event gets a reason a partner can act on; good events pass."""

import json
from pathlib import Path

import jsonschema
import pytest

from apps.events.validation import Rejection, ValidEvent, validate_items, validate_json_batch, validate_one
from tests.factories import event

SCHEMA = json.loads((Path(__file__).parents[2] / "apps/events/schema/canonical-event.schema.json").read_text())
CONTRACT_SCHEMA = Path(__file__).parents[3] / "shared/contracts/canonical-event.schema.json"


def errors_of(item):
    outcome = validate_one(0, item)
    assert isinstance(outcome, Rejection), f"expected a rejection, got {outcome}"
    return outcome.errors


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"occurred_at": "2026-11-25T10:15:00"}, "occurred_at: naive time, offset required"),
        ({"occurred_at": "yesterday-ish"}, "occurred_at: not an RFC 3339 time"),
        ({"type": "order.teleported"}, "type: unknown event type 'order.teleported'"),
        ({"type": "Order Created"}, "type: expected `str` matching regex"),
        ({"refs": {}}, "refs: at least one ref is required"),
        ({"refs": {"pallet": "P-1"}}, "refs.pallet: unknown ref kind"),
        ({"refs": {"order": "   "}}, "refs.order: empty id"),
        ({"refs": {"order": ""}}, "refs.order"),
        ({"refs": {"order": []}}, "refs.order"),
        ({"lines": [{"sku": "A", "qty": -1}]}, "lines[0].qty: expected `float` >= 0"),
        ({"amount": {"value": "12,50", "currency": "EUR"}}, "amount.value"),
        ({"colour": "red"}, "colour: unknown field"),
        ({"eta": "2026-11-26T10:00:00"}, "eta: naive time, offset required"),
    ],
)
def test_a_bad_event_is_rejected_with_a_readable_reason(change, expected):
    assert any(expected in e for e in errors_of(event(**change))), errors_of(event(**change))


def test_a_missing_required_field_names_the_field():
    item = event()
    del item["occurred_at"]
    assert errors_of(item) == ["occurred_at: required"]


def test_a_good_event_keeps_its_offset_and_is_stored_in_utc():
    outcome = validate_one(0, event(occurred_at="2026-11-25T10:15:00+01:00"))
    assert isinstance(outcome, ValidEvent)
    assert outcome.occurred_at.isoformat() == "2026-11-25T09:15:00+00:00"
    assert outcome.offset_minutes == 60


def test_ids_are_trimmed_and_a_single_id_becomes_a_list():
    outcome = validate_one(0, event(refs={"order": " SO-1 ", "shipment": ["SH-1", "SH-2 "]}))
    assert isinstance(outcome, ValidEvent)
    assert outcome.refs == {"order": ["SO-1"], "shipment": ["SH-1", "SH-2"]}


def test_an_event_without_id_gets_a_content_hash_key_that_ignores_key_order():
    a = event()
    del a["event_id"]
    b = dict(reversed(list(a.items())))
    ka, kb = validate_one(0, a), validate_one(1, b)
    assert isinstance(ka, ValidEvent)
    assert isinstance(kb, ValidEvent)
    assert ka.event_key.startswith("sha256:")
    assert ka.event_key == kb.event_key
    assert not ka.has_source_id


def test_a_good_event_beside_bad_ones_is_kept():
    outcomes = validate_items([event(1), event(2, type="x.y"), "not an object", event(4)])
    assert [type(o).__name__ for o in outcomes] == ["ValidEvent", "Rejection", "Rejection", "ValidEvent"]
    assert outcomes[2].errors == ["event: must be a JSON object"]


def test_the_fast_batch_path_gives_the_same_result_as_item_by_item():
    items = [event(1), event(2, refs={"tracking_number": "1Z"}), event(3, occurred_at="2026-11-25T10:15:00")]
    fast = validate_json_batch(json.dumps({"events": items}).encode())
    assert fast == validate_items(items)


def test_the_projects_schema_is_the_contracts_schema():
    if CONTRACT_SCHEMA.exists():
        assert json.loads(CONTRACT_SCHEMA.read_text()) == SCHEMA


@pytest.mark.parametrize(
    "item",
    [
        event(),
        event(refs={"return": "RMA-1", "load": ["L1", "L2"]}),
        event(lines=[{"sku": "A", "qty": 1.5}], pod={"signed_by": "J"}, reason={"code": "X", "text": "t"}),
        event(amount={"value": "-12.50", "currency": "EUR"}, attributes={"anything": [1, 2]}),
        event(refs={"pallet": "P"}),
        event(refs={}),
        event(type="Bad"),
        event(lines=[{"sku": "A", "qty": -1}]),
        event(amount={"value": "1", "currency": "eur"}),
        event(location={"lat": 91}),
        event(extra=1),
    ],
)
def test_msgspec_structs_agree_with_the_json_schema(item):
    schema_ok = jsonschema.Draft202012Validator(SCHEMA).is_valid(item)
    outcome = validate_one(0, item)
    # The structs may be stricter (known type, offset present), never looser.
    if isinstance(outcome, ValidEvent):
        assert schema_ok
    if not schema_ok:
        assert isinstance(outcome, Rejection)


def test_a_time_at_the_edge_of_the_calendar_is_rejected_not_a_crash() -> None:
    outcome = validate_one(0, event(1, occurred_at="0001-01-01T00:30:00+01:00"))
    assert isinstance(outcome, Rejection)
    assert outcome.errors == ["occurred_at: out of the representable range"]
