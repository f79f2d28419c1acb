"""dcsa-tnt rules on built events: the classifier rule, per-event rejections, exceptions,
retractions, bodies that are not T&T events, the split and the code tables."""

from pathlib import Path

import orjson
import pytest

from apps.events.taxonomy import EVENT_TYPES
from apps.events.validation import Rejection
from apps.ingestion.formats import FeedContext, UnreadableBody
from apps.ingestion.formats.base import IGNORE

from .test_dcsa import AN, DCSA, body, event, parse, valid

# --- the classifier rule and other per-event decisions ------------------------------------------


@pytest.mark.parametrize(
    ("classifier", "code", "outcome"),
    [
        ("ACT", "ARRI", "shipment.arrived"),
        ("EST", "ARRI", "shipment.eta_updated"),
        ("PLN", "ARRI", None),  # a schedule is not news
        ("REQ", "ARRI", None),
        ("EST", "DEPA", None),  # an estimated departure is not an arrival time
        ("ACT", "DEPA", "shipment.departed"),
        ("PLANNED", "ARRI", None),
    ],
)
def test_classifier_rule(ctx: FeedContext, classifier: str, code: str, outcome: str | None) -> None:
    out = valid(parse([event(eventClassifierCode=classifier, transportEventTypeCode=code)], ctx))
    assert [e.type for e in out] == ([outcome] if outcome else [])


def test_per_event_rejections(ctx: FeedContext) -> None:
    out = parse(
        [
            event(eventDateTime="2024-03-01T08:30:00"),
            event(eventID=None, transportEventTypeCode="BOOM"),
            event(eventID=None, eventClassifierCode="MAYBE"),
            event(eventID=None, eventType="PARCEL"),
            event(eventID=None, documentReferences=None),
            {"hello": "world"},
            event(eventID=None, eventDateTime="2030-01-01T00:00:00Z", eventCreatedDateTime="2030-01-02T00:00:00Z"),
        ],
        ctx,
    )
    assert [o.errors for o in out if isinstance(o, Rejection)] == [
        [
            "events[0].eventDateTime: '2024-03-01T08:30:00' has no UTC offset; DCSA date-times are RFC 3339 "
            "with an offset (e.g. 2021-01-09T14:12:56+01:00)"
        ],
        [
            "events[1].source_status: code 'BOOM' is not in code table dcsa.transport (version 0); map it in the "
            "feed's code tables, then replay the feed"
        ],
        ["events[2].eventClassifierCode: 'MAYBE' is not a DCSA classifier (ACT, EST, PLN or REQ)"],
        ["events[3].eventType: 'PARCEL' is not a DCSA event type (SHIPMENT, TRANSPORT, EQUIPMENT, IOT, REEFER)"],
        [
            "events[4].refs: the event names no booking (BKG/CBR), transport document (TRD), purchase order (PO) "
            "or equipment; there is nothing to correlate it with"
        ],
        [
            "events[5]: an object with keys 'hello' is not a DCSA event (want an object with eventType (2.x) or "
            "eventClassification (3.0))"
        ],
        [
            "events[6].eventCreatedDateTime: 2030-01-02T00:00:00Z is in the future",
            "events[6].eventDateTime: 2030-01-01T00:00:00Z is in the future; an actual (ACT) event has happened",
        ],
    ]


def test_times_at_the_edges_of_the_calendar(ctx: FeedContext) -> None:
    out = parse(
        [
            event(eventDateTime="9999-12-31T23:59:59-05:00", eventCreatedDateTime="9999-12-31T23:59:59-05:00"),
            event(eventID=None, eventDateTime="0001-01-01T00:00:00+01:00", eventCreatedDateTime="0001-01-01T00:00:00Z"),
            event(eventID=None, eventDateTime="2024-02-30T10:00:00Z"),
        ],
        ctx,
    )
    assert [o.errors for o in out if isinstance(o, Rejection)] == [
        [
            "events[0].eventCreatedDateTime: 9999-12-31T23:59:59-05:00 is in the future",
            "events[0].eventDateTime: 9999-12-31T23:59:59-05:00 is in the future; an actual (ACT) event has happened",
        ],
        ["occurred_at: out of the representable range"],
        [
            "events[2].eventDateTime: '2024-02-30T10:00:00Z' is not an RFC 3339 date-time "
            "(want e.g. 2021-01-09T14:12:56+01:00)"
        ],
    ]


def test_holds_and_customs_are_exceptions_with_a_reason(ctx: FeedContext) -> None:
    hold = event(
        eventType="SHIPMENT",
        transportEventTypeCode=None,
        transportCall=None,
        documentReferences=None,
        shipmentEventTypeCode="HOLD",
        documentTypeCode="BKG",
        documentID="BK-2",
        reason="Customs documents missing",
    )
    customs = event(
        eventType="EQUIPMENT",
        transportEventTypeCode=None,
        equipmentEventTypeCode="CUSI",
        equipmentReference="APZU4812090",
        emptyIndicatorCode="LADEN",
        references=[{"referenceType": "PO", "referenceValue": "PO-1"}],
    )
    released = dict(customs, equipmentEventTypeCode="CUSR", eventID=None)
    a, b, c = valid(parse([hold, dict(customs, eventID=None), released], ctx))
    assert (a.type, a.refs, a.body["reason"]) == (
        "exception.raised",
        {"shipment": ["BK-2"]},
        {"code": "HOLD", "text": "Customs documents missing"},
    )
    assert (b.type, b.body["reason"]) == (
        "exception.raised",
        {"code": "CUSI", "text": "Customs selected for inspection"},
    )
    assert b.refs == {"shipment": ["BK-1"], "customer_po": ["PO-1"]}  # a booking: the container is no load
    assert b.body["attributes"]["equipment"] == ["APZU4812090"]
    assert (c.type, c.body["reason"]["code"]) == ("exception.cleared", "CUSR")


def test_a_retraction_is_rejected(ctx: FeedContext) -> None:
    (out,) = parse({"events": [{"eventID": "e-1", "isRetracted": True, "eventClassification": {}}]}, ctx)
    assert isinstance(out, Rejection)
    assert out.event_id == "dcsa:e-1"
    assert out.errors[0].startswith("events[0].isRetracted: the producer retracted this eventID")


# --- bodies that are not T&T events ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "arrivalnotice-api-100-get-basic-response.json",
        "arrivalnotice-api-100-post-basic-request.json",
        "arrivalnotice-api-100-post-freetime-request.json",
        "arrivalnotice-api-100-post-freighted-request.json",
    ],
)
def test_arrival_notices_are_not_tnt(realdata: Path, ctx: FeedContext, name: str) -> None:
    with pytest.raises(UnreadableBody) as caught:
        DCSA.parse((realdata / AN / name).read_bytes(), ctx)
    assert str(caught.value).startswith("not a DCSA Track & Trace event: a DCSA Arrival Notice (arrivalNotices)")


def test_an_arrival_notice_notification_is_not_tnt(realdata: Path, ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody, match=r"a DCSA Arrival Notice \(arrivalNoticeNotifications\)"):
        DCSA.parse((realdata / AN / "arrivalnotice-api-100-post-notification-request.json").read_bytes(), ctx)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty body: want DCSA Track & Trace events as JSON"),
        (b"  \n", "empty body"),
        (b"<xml/>", "body is not JSON ("),
        (b"42", "not DCSA Track & Trace events: the body is a number"),
        (b'{"foo": 1}', "not a DCSA Track & Trace event: an object with keys 'foo'"),
        (b'{"feedbackElements": [{"severity": "ERROR", "message": "bad query"}]}', "a DCSA error response (bad query)"),
        (b"[" * 70 + b"]" * 70, "JSON nested deeper than 64 levels"),
        (b"[" * 5000 + b"]" * 5000, "body is not JSON ("),
    ],
)
def test_unreadable_bodies(ctx: FeedContext, raw: bytes, message: str) -> None:
    with pytest.raises(UnreadableBody) as caught:
        DCSA.parse(raw, ctx)
    assert message in str(caught.value)


def test_empty_arrays_hold_no_events(ctx: FeedContext) -> None:
    assert DCSA.parse(b"[]", ctx) == []
    assert DCSA.parse(b'{"events": []}', ctx) == []


# --- split -------------------------------------------------------------------------------------


def test_split_yields_arrays_of_at_most_max_events(realdata: Path, ctx: FeedContext) -> None:
    raw = body(realdata, "tnt-220-response.json")
    chunks = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    bodies = list(DCSA.split(chunks, ctx, max_events=2))
    assert [len(orjson.loads(b)) for b in bodies] == [2, 2, 2, 1]
    whole = [e.event_key for e in valid(DCSA.parse(raw, ctx))]
    assert [e.event_key for b in bodies for e in valid(DCSA.parse(b, ctx))] == whole
    enveloped = list(DCSA.split([body(realdata, "tnt-300-response.json")], ctx, max_events=10))
    assert len(enveloped) == 1
    assert len(orjson.loads(enveloped[0])) == 5
    with pytest.raises(UnreadableBody):
        list(DCSA.split([body(realdata, "tnt-220-response-wrong-structure.json")], ctx, max_events=10))


def test_every_table_entry_is_a_canonical_type_or_ignore() -> None:
    for table in DCSA.code_tables:
        assert table.entries, table.name
        assert set(table.entries.values()) <= EVENT_TYPES | {IGNORE}, table.name
