"""custom-json: a partner's webhook through its mapping, the mapping's validation, code tables
with a feed override, paths, mapping_fields and the split."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FORMATS, CodeBook, FeedContext, UnreadableBody
from apps.ingestion.formats.custom_json import PathError, mapping_errors, mapping_fields, parse_path
from apps.ingestion.formats.custom_json.paths import find

ADAPTER = FORMATS["custom-json"]

# "Routemeister", a last-mile platform (invented): one webhook per route with its stop events.
WEBHOOK: dict[str, Any] = {
    "webhook": "route.stop_events",
    "sent_at": "2026-11-25T18:00:00+01:00",
    "data": {
        "route_id": "RT-BER-07",
        "depot": "BER-TEMPELHOF",
        "driver": {"id": "D-112", "name": "Jonas K."},
        "items": [
            {
                "id": "ev_9f1",
                "status": {"code": "OFD", "label": "Out for delivery"},
                "ts": "2026-11-25 08:05:00",
                "order": {"number": "SO-48812", "po": "PO-77"},
                "parcels": [{"tracking": "JJD0001", "weight_kg": 2.4}, {"tracking": "JJD0002", "weight_kg": 1.1}],
                "stop": {"seq": 4, "hub": "BER-TEMPELHOF", "geo": {"lat": 52.4731, "lon": "13.4035"}},
                "eta_epoch_ms": 1795600800000,
            },
            {
                "id": "ev_9f2",
                "status": {"code": "FAIL"},
                "ts": "2026-11-25T11:20:00+01:00",
                "order": {"number": "SO-48813"},
                "parcels": [{"tracking": "JJD0003"}],
                "problem": {"code": "NOBODY_HOME", "text": "Customer not at home"},
            },
            {"id": "ev_9f3", "status": {"code": "GPS"}, "ts": "2026-11-25T11:21:00+01:00", "order": {"number": "X"}},
            {
                "id": "ev_9f4",
                "status": {"code": "DLV"},
                "ts": "2026-11-25T15:31:12+01:00",
                "order": {"number": "SO-48812"},
                "parcels": [{"tracking": "JJD0001"}, {"tracking": "JJD0001"}],
                "pod": {"name": "M. Weber", "photo": "https://img.example/pod/9f4.jpg"},
                "cod": {"amount": 49.9, "currency": "EUR"},
                "items": [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": "1", "note": "fragile"}],
            },
            {"id": "ev_9f5", "status": {"code": "RESCHED"}, "ts": "2026-11-25T16:00:00Z", "order": {"number": "SO-1"}},
            {
                "id": "ev_9f6",
                "status": {"code": "DLV"},
                "ts": "yesterday",
                "order": {"ref": "SO-2"},
                "items": [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-2", "quantity": "abc"}],
            },
        ],
    },
}
MAPPING: dict[str, Any] = {
    "version": 1,
    "events": "$.data.items[*]",
    "fields": {
        "event_id": "id",
        "type": {"path": "status.code", "table": "custom.status"},
        "occurred_at": {"path": "ts", "timezone": "Europe/Berlin"},
        "refs.order": "order.number",
        "refs.customer_po": {"path": "order.po", "optional": True},
        "refs.tracking_number": {"path": "parcels[*].tracking", "optional": True},
        "refs.delivery_run": "$.data.route_id",
        "location.code": {"path": "stop.hub", "optional": True},
        "location.lat": {"path": "stop.geo.lat", "optional": True},
        "location.lon": {"path": "stop.geo.lon", "optional": True},
        "reason.code": {"path": "problem.code", "optional": True},
        "reason.text": {"path": "problem.text", "optional": True},
        "eta": {"path": "eta_epoch_ms", "format": "epoch_ms", "timezone": "Europe/Berlin", "optional": True},
        "amount.value": {"path": "cod.amount", "optional": True},
        "amount.currency": {"path": "cod.currency", "optional": True},
        "pod.signed_by": {"path": "pod.name", "optional": True},
        "pod.photo_ref": {"path": "pod.photo", "optional": True},
        "lines": {"path": "items", "sku": "sku", "qty": "quantity", "uom": {"const": "EA"}, "optional": True},
    },
    "tables": {
        "custom.status": {
            "OFD": "delivery.out_for_delivery",
            "FAIL": "delivery.attempted",
            "DLV": "delivery.completed",
            "GPS": "ignore",
        }
    },
    "attributes": "rest",
}


def context(mapping: Any = MAPPING, **kwargs: Any) -> FeedContext:
    return FeedContext.standard(slug="routemeister", mapping=mapping, **kwargs)


def parse(body: Any, ctx: FeedContext) -> list[ValidEvent | Rejection]:
    return ADAPTER.parse(body if isinstance(body, bytes) else orjson.dumps(body), ctx)


def test_a_partner_webhook_end_to_end() -> None:
    outcomes = parse(WEBHOOK, context())
    assert len(outcomes) == 5  # GPS is ignored
    ofd, attempt, pod, unmapped, broken = outcomes
    assert isinstance(ofd, ValidEvent)
    assert (ofd.event_key, ofd.type, ofd.source_status) == ("ev_9f1", "delivery.out_for_delivery", "OFD")
    assert ofd.occurred_at == datetime(2026, 11, 25, 7, 5, tzinfo=UTC)  # naive, read in Europe/Berlin
    assert ofd.offset_minutes == 60
    assert ofd.refs == {
        "order": ["SO-48812"],
        "customer_po": ["PO-77"],
        "tracking_number": ["JJD0001", "JJD0002"],
        "delivery_run": ["RT-BER-07"],
    }
    assert ofd.body["location"] == {"code": "BER-TEMPELHOF", "lat": 52.4731, "lon": 13.4035}
    assert ofd.body["eta"] == "2026-11-25T11:00:00+01:00"
    assert ofd.body["attributes"] == {
        "status": {"label": "Out for delivery"},
        "parcels": [{"weight_kg": 2.4}, {"weight_kg": 1.1}],
        "stop": {"seq": 4},
    }
    assert isinstance(attempt, ValidEvent)
    assert attempt.type == "delivery.attempted"
    assert attempt.body["reason"] == {"code": "NOBODY_HOME", "text": "Customer not at home"}
    assert "attributes" not in attempt.body  # every field of the record was mapped
    assert isinstance(pod, ValidEvent)
    assert pod.refs["tracking_number"] == ["JJD0001"]
    assert pod.body["pod"] == {"signed_by": "M. Weber", "photo_ref": "https://img.example/pod/9f4.jpg"}
    assert pod.body["amount"] == {"value": "49.9", "currency": "EUR"}
    assert pod.body["lines"] == [{"sku": "SKU-1", "qty": 2.0, "uom": "EA"}, {"sku": "SKU-2", "qty": 1.0, "uom": "EA"}]
    assert pod.body["attributes"] == {"items": [{"note": "fragile"}]}
    assert unmapped == Rejection(
        index=3,
        event_id="ev_9f5",
        errors=[
            "record 5: source_status: code 'RESCHED' is not in code table custom.status (version 0); "
            "map it in the feed's code tables, then replay the feed"
        ],
    )
    assert broken == Rejection(
        index=4,
        event_id="ev_9f6",
        errors=[
            "record 6: occurred_at: 'yesterday' is not an ISO 8601 time",
            "record 6: refs.order: path order.number not found",
            "record 6: lines item 2: qty: 'abc' is not a number",
        ],
    )
    assert ADAPTER.count(orjson.dumps(WEBHOOK), context()) == 5
    assert ADAPTER.announced_types(orjson.dumps(WEBHOOK), context()) == {
        "delivery.out_for_delivery",
        "delivery.attempted",
        "delivery.completed",
    }


def test_a_feed_override_of_the_table_wins() -> None:
    codes = CodeBook([], {"custom.status": (3, {"OFD": "run.dispatched", "RESCHED": "delivery.eta_updated"})})
    ctx = FeedContext(codes=codes, slug="routemeister", mapping=MAPPING)
    outcomes = parse(WEBHOOK, ctx)
    types = [o.type if isinstance(o, ValidEvent) else None for o in outcomes]
    assert types == ["run.dispatched", "delivery.attempted", "delivery.completed", "delivery.eta_updated", None]
    body = copy.deepcopy(WEBHOOK)
    body["data"]["items"][0]["status"]["code"] = "NEW"
    first = parse(body, ctx)[0]
    assert isinstance(first, Rejection)
    assert first.errors == [
        "record 1: source_status: code 'NEW' is not in code table custom.status (version 3); "
        "map it in the feed's code tables, then replay the feed"
    ]


def test_event_ids_come_from_the_source_record_never_from_the_type() -> None:
    mapping = {**MAPPING, "fields": {k: v for k, v in MAPPING["fields"].items() if k != "event_id"}}
    first = parse(WEBHOOK, context(mapping))[0]
    assert isinstance(first, ValidEvent)
    assert first.event_key.startswith("custom-json:")
    assert len(first.event_key) == len("custom-json:") + 32
    # the same record in another envelope, with another type mapping: the same id
    remapped = copy.deepcopy(mapping)
    remapped["tables"]["custom.status"]["OFD"] = "run.dispatched"
    remapped["events"] = "$.records"
    remapped["fields"]["refs.delivery_run"] = {"const": "RT-BER-07"}
    again = parse({"records": [WEBHOOK["data"]["items"][0]], "other": 1}, context(remapped))[0]
    assert isinstance(again, ValidEvent)
    assert again.type == "run.dispatched"
    assert again.event_key == first.event_key
    # a rejected record carries its id too
    rejected = [o for o in parse(WEBHOOK, context(mapping)) if isinstance(o, Rejection)]
    assert [o.event_id is not None and o.event_id.startswith("custom-json:") for o in rejected] == [True, True]


def _one(record: dict[str, Any], fields: dict[str, Any], **ctx: Any) -> ValidEvent | Rejection:
    mapping = {"fields": {"type": {"const": "shipment.departed"}, "refs.shipment": "sh", **fields}}
    (outcome,) = parse(record, context(mapping, **ctx))
    return outcome


@pytest.mark.parametrize(
    ("value", "spec", "tz", "expected"),
    [
        ("2026-07-01T10:00:00", "t", "UTC", "2026-07-01T10:00:00+00:00"),
        ("2026-07-01T10:00:00", "t", "America/Chicago", "2026-07-01T10:00:00-05:00"),
        ("2026-07-01T10:00:00+09:00", {"path": "t", "timezone": "Europe/Berlin"}, "UTC", "2026-07-01T10:00:00+09:00"),
        ("2026-07-01T10:00:00Z", "t", "Asia/Tokyo", "2026-07-01T10:00:00+00:00"),
        (1782900000, {"path": "t", "format": "epoch"}, "UTC", "2026-07-01T10:00:00+00:00"),
        (
            "1782900000",
            {"path": "t", "format": "epoch", "timezone": "Asia/Kolkata"},
            "UTC",
            "2026-07-01T15:30:00+05:30",
        ),
        ("01.07.2026 10:00", {"path": "t", "format": "%d.%m.%Y %H:%M"}, "Europe/Berlin", "2026-07-01T10:00:00+02:00"),
    ],
)
def test_times_keep_their_offset_or_take_the_zone(value: Any, spec: Any, tz: str, expected: str) -> None:
    outcome = _one({"sh": "SH-1", "t": value}, {"occurred_at": spec}, tz=tz)
    assert isinstance(outcome, ValidEvent)
    assert outcome.occurred_at == datetime.fromisoformat(expected)
    assert outcome.offset_minutes * 60 == datetime.fromisoformat(expected).utcoffset().total_seconds()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("record", "fields", "error"),
    [
        (
            {"sh": "SH-1", "t": 1782900000},
            {"occurred_at": "t"},
            'record 1: occurred_at: 1782900000 is a number; a Unix time needs "format": "epoch" or "epoch_ms"',
        ),
        (
            {"sh": "SH-1", "t": "x"},
            {"occurred_at": {"path": "t", "format": "epoch"}},
            "record 1: occurred_at: 'x' is not a number",
        ),
        (
            {"sh": "SH-1", "t": 1e30},
            {"occurred_at": {"path": "t", "format": "epoch"}},
            "record 1: occurred_at: 1e+30 is out of range for a time (epoch)",
        ),
        (
            {"sh": "SH-1", "t": "2026-07-01T10:00:00Z", "lat": "north"},
            {"occurred_at": "t", "location.lat": "lat"},
            "record 1: location.lat: 'north' is not a number",
        ),
        (
            {"sh": {"id": 1}, "t": "2026-07-01T10:00:00Z"},
            {"occurred_at": "t"},
            "record 1: refs.shipment: the value is an object, want a string or a number",
        ),
        ({"sh": True, "t": "2026-07-01T10:00:00Z"}, {"occurred_at": "t"}, "record 1: refs.shipment: True is not an id"),
        (
            {"sh": "SH-1", "t": "2026-07-01T10:00:00Z", "c": [1]},
            {"occurred_at": "t", "customer": "c"},
            "record 1: customer: the value is a list, want a string or a number",
        ),
        ({"sh": "SH-1", "t": None}, {"occurred_at": "t"}, "record 1: occurred_at: path t not found"),
    ],
)
def test_values_are_coerced_or_rejected_by_name(record: Any, fields: Any, error: str) -> None:
    outcome = _one(record, fields)
    assert isinstance(outcome, Rejection)
    assert outcome.errors == [error]


def test_coercions_defaults_and_consts() -> None:
    outcome = _one(
        {"sh": ["SH-1", " SH-2 ", 77], "t": "2026-07-01T10:00:00Z", "amt": 12, "lvl": 2, "flag": True},
        {
            "occurred_at": "t",
            "amount.value": "amt",
            "amount.currency": {"const": "USD"},
            "service_level": "lvl",
            "customer": {"path": "nobody", "default": "walk-in"},
            "source_status": "flag",
        },
    )
    assert isinstance(outcome, ValidEvent)
    assert outcome.refs == {"shipment": ["SH-1", "SH-2", "77"]}
    assert outcome.source_status == "true"
    assert outcome.body == {
        "amount": {"value": "12", "currency": "USD"},
        "service_level": "2",
        "customer": "walk-in",
    }


def test_attributes_as_a_list_of_paths_or_none() -> None:
    record = {"sh": "SH-1", "t": "2026-07-01T10:00:00Z", "a": {"b": 1}, "c": [1, 2], "d": "x"}
    listed = {"fields": {"type": {"const": "shipment.departed"}, "refs.shipment": "sh", "occurred_at": "t"}}
    (kept,) = parse(record, context({**listed, "attributes": ["a.b", "c[*]", "missing"]}))
    assert isinstance(kept, ValidEvent)
    assert kept.body == {"attributes": {"a.b": 1, "c[*]": [1, 2]}}
    (none,) = parse(record, context({**listed, "attributes": "none"}))
    assert isinstance(none, ValidEvent)
    assert none.body == {}
    (rest,) = parse(record, context(listed))
    assert isinstance(rest, ValidEvent)
    assert rest.body == {"attributes": {"a": {"b": 1}, "c": [1, 2], "d": "x"}}


def test_records_that_are_not_objects_and_bodies_that_cannot_be_read() -> None:
    mapping = {"events": "$", "fields": {"type": {"const": "order.created"}, "occurred_at": "t", "refs.order": "o"}}
    outcomes = parse([{"o": "SO-1", "t": "2026-07-01T10:00:00Z"}, 3, [1]], context(mapping))
    assert isinstance(outcomes[0], ValidEvent)
    assert [o.errors for o in outcomes[1:] if isinstance(o, Rejection)] == [
        ["record 2: want a JSON object, got int"],
        ["record 3: want a JSON object, got list"],
    ]
    with pytest.raises(UnreadableBody, match=r"^the body is not JSON: "):
        parse(b"{nope", context(mapping))
    with pytest.raises(UnreadableBody, match=r"^no records at \$\.data\.items\[\*\] \(the mapping's events\): "):
        parse({"data": {"rows": []}}, context())
    assert parse({"data": {"items": []}}, context()) == []
    nested: Any = "deep"
    for _ in range(80):
        nested = {"n": nested}
    (deep,) = parse({"o": "SO-1", "t": "2026-07-01T10:00:00Z", "x": nested}, context(mapping))
    assert isinstance(deep, Rejection)
    assert deep.errors == ["record 1: nested more than 64 levels deep; flatten the record"]


def test_no_mapping_or_an_invalid_one_is_unreadable() -> None:
    with pytest.raises(UnreadableBody, match=r"^the feed's mapping is invalid: the feed has no mapping"):
        parse(WEBHOOK, context(None))
    with pytest.raises(UnreadableBody, match=r"^the feed's mapping is invalid: fields\.type: required"):
        parse(WEBHOOK, context({"fields": {"occurred_at": "ts", "refs.order": "o"}}))
    with pytest.raises(UnreadableBody, match="the feed's mapping is invalid"):
        list(ADAPTER.split([orjson.dumps(WEBHOOK)], context({"fields": 3}), max_events=10))


def test_every_mapping_error_names_its_place() -> None:
    assert mapping_errors(MAPPING) == []
    assert mapping_errors([]) == ['mapping: want a JSON object of "events", "fields" and "tables"']
    assert mapping_errors({}) == [
        "fields: want an object of canonical field → path (at least type, occurred_at and a ref)"
    ]
    bad = {
        "version": 2,
        "events": "$.data..items",
        "extra": True,
        "fields": {
            "type": "status.code",
            "occurred_at": {"path": "ts", "timezone": "Mars/Olympus", "format": "%Q"},
            "eta": {"path": "a", "const": "b"},
            "refs.parcel": "p",
            "attributes.x": "x",
            "customer": {"path": "c[*]"},
            "service_level": {"path": "s", "table": "custom.status"},
            "source_status": {"const": {"a": 1}},
            "location.code": {"path": "h", "optional": "yes"},
            "lines": {"path": "items[*]", "qty": "q", "colour": "c"},
            "pod.signed_by": 12,
        },
        "tables": {"status": {"A": "delivery.done"}, "custom.ok": {"": "ignore", "B": ["x"]}},
        "attributes": "all",
    }
    assert mapping_errors(bad) == [
        "extra: unknown key (known: version, events, fields, tables, attributes)",
        "version: 2 is not a known version (1)",
        "events: bad path: '$.data..items': a key is missing after the '.' at position 7",
        "tables.status: a table's name starts with 'custom.' (e.g. custom.status)",
        "tables.status.A: 'delivery.done' is not a canonical event type (or 'ignore')",
        "tables.custom.ok: an empty code",
        "tables.custom.ok.B: ['x'] is not a canonical event type (or 'ignore')",
        'fields.type: a type read from the record goes through a code table: add "table"',
        "fields.occurred_at.timezone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Berlin)",
        "fields.occurred_at.format: want iso, epoch, epoch_ms or a strptime pattern such as %d.%m.%Y %H:%M",
        "fields.eta: give either path or const",
        "fields.refs.parcel: not a canonical field (known: " + ", ".join(_known()) + ")",
        "fields.attributes.x: not a canonical field (attributes are not mapped field by field: "
        'use the top-level "attributes") (known: ' + ", ".join(_known()) + ")",
        "fields.customer.path: 'c[*]' has [*] but customer takes one value",
        "fields.service_level.table: unknown key (known here: path, const, default, optional)",
        "fields.source_status.const: want a string or a number",
        "fields.location.code.optional: want true or false",
        "fields.lines.colour: unknown key (known here: path, optional, sku, qty, uom)",
        "fields.lines.sku: required",
        "fields.pod.signed_by: want a path, or an object with path or const",
        'fields: at least one refs.<kind> is required (e.g. "refs.order": "order.number")',
        'attributes: want "rest" (every field not mapped), "none", or a list of paths',
    ]


def _known() -> list[str]:
    from apps.ingestion.formats.custom_json.spec import FIELDS

    return list(FIELDS)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"type": {"const": "order.made"}}, "fields.type.const: 'order.made' is not a canonical event type"),
        (
            {"type": {"path": "s", "table": "custom.nope"}},
            "fields.type.table: 'custom.nope' is not in the mapping's tables",
        ),
        ({"type": {"const": "order.created", "table": "custom.status"}}, "fields.type: a const type needs no table"),
        (
            {"type": {"path": "s", "table": ["custom.status"]}},
            "fields.type.table: want the name of one of the mapping's tables",
        ),
        ({"occurred_at": None}, "fields.occurred_at: required"),
    ],
)
def test_type_mapping_errors(fields: dict[str, Any], error: str) -> None:
    base = {"type": {"path": "s", "table": "custom.status"}, "occurred_at": "t", "refs.order": "o"}
    merged = {k: v for k, v in {**base, **fields}.items() if v is not None}
    errors = mapping_errors({"fields": merged, "tables": {"custom.status": {"A": "order.created"}}})
    assert error in errors


def test_paths() -> None:
    doc = {"a": {"b.c": [10, 20, 30], "$x": {'q"k': 1}}, "list": [{"v": 1}, {"v": None}, {"w": 2}]}
    assert [v for _, v in find(parse_path('a["b.c"][-1]'), doc, doc)] == [30]
    assert [v for _, v in find(parse_path('a["$x"]["q\\"k"]'), doc, doc)] == [1]
    assert [(p, v) for p, v in find(parse_path("list[*].v"), doc, doc)] == [
        (("list", 0, "v"), 1),
        (("list", 1, "v"), None),
    ]
    assert find(parse_path("a.nope.deeper"), doc, doc) == []
    assert find(parse_path("list[7]"), doc, doc) == []
    assert find(parse_path("a.b.c"), doc, doc) == []
    assert [v for _, v in find(parse_path("$.a.$x"), {}, {"a": {"$x": 5}})] == [5]
    for bad, message in [
        ("", "empty path"),
        ("a..b", "a key is missing after the '.' at position 2"),
        ("a[x]", 'at position 2 want [<number>], [*] or ["key"]'),
        ('a["b', "the quoted key opened at position 2 is not closed"),
        ('a["b"c', "want ']' after the quoted key at position 6"),
        ("a]", "unexpected ']' at position 2"),
        ("x" * 501, "longer than 500 characters"),
        (".".join(["a"] * 40), "more than 32 steps"),
        (3, "want a path string, got int"),
    ]:
        with pytest.raises(PathError, match=None) as caught:
            parse_path(bad)
        assert message in str(caught.value), (bad, str(caught.value))


def test_mapping_fields_lists_the_sample_paths() -> None:
    body = orjson.dumps(WEBHOOK)
    paths = mapping_fields(body)
    assert paths[:4] == ["$.webhook", "$.sent_at", "$.data", "$.data.route_id"]
    assert "$.data.items[*].parcels[*].tracking" in paths
    assert "$.data.items[*].stop.geo.lat" in paths
    relative = mapping_fields(body, "$.data.items[*]")
    assert relative[:5] == ["id", "status", "status.code", "status.label", "ts"]
    assert "items[*].quantity" in relative
    assert "problem.text" in relative
    assert mapping_fields(orjson.dumps({"a.b": 1, "$t": {"c": 2}, " x": 3}), "$") == [
        '["a.b"]',
        '["$t"]',
        '["$t"].c',
        '[" x"]',
    ]
    deep: Any = 1
    for _ in range(20):
        deep = {"k": deep}
    assert max(p.count(".") for p in mapping_fields(orjson.dumps(deep))) == 8
    wide: Any = 0
    for _ in range(12):
        wide = [wide, wide, wide]  # 3**12 leaves: the walk is bounded, not the answer only
    assert mapping_fields(orjson.dumps(wide)) == ["$[*]" + "[*]" * i for i in range(8)]
    assert len(mapping_fields(orjson.dumps({f"k{i}": i for i in range(5000)}))) == 2000
    with pytest.raises(UnreadableBody, match="the sample is not JSON"):
        mapping_fields(b"<xml/>")
    # every path it lists reads back
    for path in relative:
        parse_path(path)


def test_split_cuts_arrays_of_records_and_keeps_the_events() -> None:
    mapping = {
        "events": "$[*]",
        "fields": {"type": {"path": "s", "table": "custom.s"}, "occurred_at": "t", "refs.order": "o"},
        "tables": {"custom.s": {"A": "order.created", "I": "ignore"}},
    }
    ctx = context(mapping)
    records = [{"o": f"SO-{i}", "t": "2026-07-01T10:00:00Z", "s": "I" if i % 4 == 0 else "A"} for i in range(23)]
    whole = orjson.dumps(records)
    bodies = list(ADAPTER.split([whole[:10], whole[10:]], ctx, max_events=5))
    assert [len(orjson.loads(b)) for b in bodies] == [5, 5, 5, 5, 3]
    from_parts = [e for b in bodies for e in parse(b, ctx)]
    from_whole = parse(whole, ctx)
    assert [(e.event_key, e.refs) for e in from_parts if isinstance(e, ValidEvent)] == [
        (e.event_key, e.refs) for e in from_whole if isinstance(e, ValidEvent)
    ]
    assert len(from_whole) == 17
    # "$" with one object: the body as it is
    single = orjson.dumps(records[1])
    assert list(ADAPTER.split([single], context({**mapping, "events": "$"}), max_events=5)) == [single]


def test_split_falls_back_to_one_body_for_other_mappings() -> None:
    body = orjson.dumps(WEBHOOK)
    assert list(ADAPTER.split([body], context(), max_events=10)) == [body]
    with pytest.raises(UnreadableBody, match="a custom-json file of more than 4 events cannot be split"):
        list(ADAPTER.split([body], context(), max_events=4))
    # a field that reads the body's root would change meaning in a cut array: not split either
    rooted = {"events": "$", "fields": {"type": {"const": "order.created"}, "occurred_at": "t", "refs.order": "$[0].o"}}
    array = orjson.dumps([{"o": "SO-1", "t": "2026-07-01T10:00:00Z"}] * 3)
    assert list(ADAPTER.split([array], context(rooted), max_events=3)) == [array]


def test_the_easypost_tracker_webhook_through_a_mapping(realdata: Path) -> None:
    """A real carrier webhook read as a partner's own JSON (no carrier-webhook adapter): one
    event per tracking detail, the tracker's code as the shipment's tracking number."""
    body = (realdata / "easypost-examples/official/fixtures/event-body.json").read_bytes()
    mapping = {
        "events": "$.result.tracking_details[*]",
        "fields": {
            "type": {"path": "status_detail", "table": "custom.easypost"},
            "source_status": "status_detail",
            "occurred_at": "datetime",
            "refs.tracking_number": "$.result.tracking_code",
            "location.code": {"path": "tracking_location.zip", "optional": True},
            "location.name": {"path": "tracking_location.city", "optional": True},
        },
        "tables": {
            "custom.easypost": {
                "label_created": "ignore",
                "arrived_at_facility": "shipment.arrived",
                "departed_facility": "shipment.departed",
                "unknown": "shipment.in_transit",
            }
        },
    }
    assert mapping_errors(mapping) == []
    outcomes = parse(body, context(mapping))
    assert all(isinstance(o, ValidEvent) for o in outcomes)
    events = [o for o in outcomes if isinstance(o, ValidEvent)]
    assert len(events) == len(json.loads(body)["result"]["tracking_details"]) - 1 == 6
    assert [e.type for e in events] == [
        "shipment.arrived",
        "shipment.arrived",
        "shipment.departed",
        "shipment.in_transit",
        "shipment.in_transit",
        "shipment.arrived",
    ]
    assert {tuple(e.refs["tracking_number"]) for e in events} == {("1",)}
    assert events[0].occurred_at == datetime(2024, 7, 31, 19, 27, tzinfo=UTC)
    assert events[0].offset_minutes == 0
    assert events[0].body["location"] == {"code": "32809", "name": "ORLANDO"}
    assert events[0].body["attributes"]["carrier_code"] == "PU"
    assert events[0].body["attributes"]["tracking_location"] == {
        "object": "TrackingLocation",
        "state": "FL",
        "country": "US",
    }
    assert len({e.event_key for e in events}) == 6  # the two "On the way" details differ by time


def test_the_documented_example_mapping_is_valid() -> None:
    import apps.ingestion.formats.custom_json as module

    doc = module.__doc__ or ""
    start = doc.index('    {"version"')
    end = doc.index('"attributes": "rest"}') + len('"attributes": "rest"}')
    example = json.loads(doc[start:end])
    assert mapping_errors(example) == []
    assert len(example["fields"]) == 15
