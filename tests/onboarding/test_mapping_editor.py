"""The mapping editor's logic: what a sample offers to pick from, the mapping built from the
picks (valid for the custom-json adapter), and the picks read back from a saved mapping."""

import orjson
import pytest

from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody
from apps.ingestion.formats.custom_json import mapping_errors
from apps.onboarding.mapping_editor import (
    TYPE_TABLE,
    Picks,
    build_mapping,
    code_lines,
    codes_at,
    parse_code_lines,
    picks_of,
    record_candidates,
    record_paths,
)

SAMPLE = orjson.dumps(
    {
        "meta": {"carrier": "SWIFT"},
        "data": {
            "items": [
                {"id": 1, "st": {"code": "OFD"}, "at": 1764079200, "parcels": [{"t": "1Z1"}, {"t": "1Z2"}]},
                {"id": 2, "st": {"code": "DLV"}, "at": 1764086400, "parcels": [{"t": "1Z1"}]},
                {"id": 3, "st": {"code": "OFD"}, "at": 1764090000, "parcels": []},
            ],
            "tags": ["a", "b"],
        },
    }
)


def test_the_sample_offers_its_arrays_of_records_and_their_field_paths() -> None:
    assert record_candidates(SAMPLE) == ["$", "$.data.items[*]", "$.data.items[*].parcels[*]"]
    assert record_paths(SAMPLE, "$.data.items[*]") == [
        "id",
        "st",
        "st.code",
        "at",
        "parcels",
        "parcels[*]",
        "parcels[*].t",
    ]
    assert codes_at(SAMPLE, "$.data.items[*]", "st.code") == ["OFD", "DLV"]
    assert codes_at(SAMPLE, "$.data.items[*]", "no.such") == []
    assert record_paths(b"  ", "$") == []
    with pytest.raises(UnreadableBody, match="not JSON"):
        record_candidates(b"{nope")


def test_the_built_mapping_is_valid_and_reads_the_sample() -> None:
    picks = Picks(
        events="$.data.items[*]",
        paths={"event_id": "id", "refs.tracking_number": "parcels[*].t", "location.code": ""},
        occurred_at="at",
        occurred_format="epoch",
        occurred_timezone="Europe/Berlin",
        type_path="st.code",
        type_codes={"OFD": "delivery.out_for_delivery", "DLV": "delivery.completed"},
    )
    mapping = build_mapping(picks)
    assert mapping_errors(mapping) == []
    assert mapping["fields"]["refs.tracking_number"] == {"path": "parcels[*].t", "optional": True}
    assert "location.code" not in mapping["fields"]  # not picked: not mapped
    outcomes = FORMATS["custom-json"].parse(SAMPLE, FeedContext.standard(mapping=mapping))
    events = [o for o in outcomes if hasattr(o, "event_key")]
    assert [(e.event_key, e.type, e.refs.get("tracking_number")) for e in events] == [
        ("1", "delivery.out_for_delivery", ["1Z1", "1Z2"]),
        ("2", "delivery.completed", ["1Z1"]),
    ]
    assert len(outcomes) == 3  # the third record has no ref: rejected, not dropped
    assert picks_of(mapping) == Picks(
        events=picks.events,
        paths={"event_id": "id", "refs.tracking_number": "parcels[*].t"},
        occurred_at="at",
        occurred_format="epoch",
        occurred_timezone="Europe/Berlin",
        type_path="st.code",
        type_codes=picks.type_codes,
    )


def test_a_fixed_type_needs_no_table_and_an_empty_mapping_gives_empty_picks() -> None:
    mapping = build_mapping(Picks(type_const="delivery.completed", occurred_at="at", paths={"refs.order": "id"}))
    assert mapping["fields"]["type"] == {"const": "delivery.completed"}
    assert "tables" not in mapping
    assert mapping_errors(mapping) == []
    assert picks_of(mapping).type_const == "delivery.completed"
    assert picks_of(None) == Picks()
    assert TYPE_TABLE.startswith("custom.")


def test_code_lines_are_read_with_errors_naming_their_line() -> None:
    entries, errors = parse_code_lines(
        "# ACME's codes\nZZ = shipment.delayed\n\nX6 = -\nAF = ignore\nNEW =\nbad line\nQ = nonsense",
        allow_remove=True,
    )
    assert entries == {"ZZ": "shipment.delayed", "X6": None, "AF": "ignore"}
    assert errors == [
        "line 7: want CODE = canonical.type, got 'bad line'",
        "line 8: 'nonsense' is not a canonical event type (or ignore)",
    ]
    _, errors = parse_code_lines("X6 = -", allow_remove=False)
    assert errors == ["line 1: '-' is not a canonical event type (or ignore)"]
    assert code_lines({"ZZ": "shipment.delayed", "X6": None}) == "X6 = -\nZZ = shipment.delayed"
