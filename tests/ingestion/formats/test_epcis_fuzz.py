"""epcis under hostile input: random bytes, mutated GS1 samples, random JSON in every field,
deep nesting, entity bombs, huge documents. Nothing but UnreadableBody may escape, no event may
fall through to the adapter's last-resort rejection, and size costs linear time."""

import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.events.validation import Rejection
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody
from apps.ingestion.formats.base import TooManyEvents

from .conftest import REALDATA

EPCIS = FORMATS["epcis"]
CTX = FeedContext.standard(slug="fuzz-feed")
ROOT = REALDATA / "gs1-epcis"
SAMPLES = [
    "JSON/Example_9.6.1-ObjectEvent.jsonld",
    "JSON/EPCISQueryDocument.jsonld",
    "JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld",
    "JSON/WithSensorData/SensorDataExample8.jsonld",
    "JSON/Example-TransactionEvents-2020_07_03y.jsonld",
    "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml",
    "XML/WithEventHashID/event_with_identical_hash_id_1.xml",
    "XML/WithFullCombinationOfFields/transformation_event_all_possible_fields.xml",
    "XML/WithExtension/ObjectEvent.xml",
    "XML/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml",
]
BODIES = [(ROOT / name).read_bytes() for name in SAMPLES] if ROOT.is_dir() else []
needs_samples = pytest.mark.skipif(not BODIES, reason="../shared/realdata is not beside the repository")
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def survive(body: bytes) -> list[Any]:
    """Parse; only UnreadableBody may be raised, and no rejection may be the catch-all one."""
    try:
        outcomes = EPCIS.parse(body, CTX)
        parts = list(EPCIS.split([body[:17], body[17:]], CTX, max_events=3))
    except UnreadableBody:
        return []
    for outcome in outcomes:
        if isinstance(outcome, Rejection):
            assert not any("could not be mapped" in e for e in outcome.errors), outcome.errors
    assert sum(len(EPCIS.candidates(p, CTX)) for p in parts) == len(outcomes)
    return outcomes


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(body: bytes) -> None:
    survive(body)


@FUZZ
@given(st.sampled_from([b"{", b"<", b"\xef\xbb\xbf<", b"\xff\xfe<\x00"]), st.binary(max_size=500))
def test_random_bytes_after_a_plausible_start(start: bytes, rest: bytes) -> None:
    survive(start + rest)


@needs_samples
@FUZZ
@given(st.sampled_from(range(len(SAMPLES))), st.data())
def test_mutated_samples(index: int, data: st.DataObject) -> None:
    body = bytearray(BODIES[index])
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(body)))
        action = data.draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
        if action == "cut":
            body = body[:position]
        elif action == "flip" and position < len(body):
            body[position] ^= data.draw(st.integers(1, 255))
        elif action == "insert":
            junk = data.draw(
                st.sampled_from([b"<", b">", b"</a>", b"{", b"}", b'"', b",", b"&", b"&amp;", b"]]>", b"\x00"])
            )
            body[position:position] = junk
        elif action == "delete":
            del body[position : position + data.draw(st.integers(1, 40))]
    survive(bytes(body))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "action", "bizStep", "disposition", "parentID",
    "epcList", "childEPCs", "inputEPCList", "outputEPCList", "quantityList", "childQuantityList",
    "inputQuantityList", "outputQuantityList", "readPoint", "bizLocation", "bizTransactionList", "sourceList",
    "destinationList", "sensorElementList", "persistentDisposition", "certificationInfo", "errorDeclaration",
    "ilmd", "transformationID", "ex:thing", "type",
]  # fmt: skip
BASE = {
    "type": "ObjectEvent",
    "eventTime": "2026-11-25T09:15:00Z",
    "eventTimeZoneOffset": "+01:00",
    "bizStep": "shipping",
    "bizTransactionList": [{"type": "po", "bizTransaction": "PO-1"}],
}


@FUZZ
@given(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
    st.sampled_from(["ObjectEvent", "AggregationEvent"]),
)
def test_random_json_in_every_field(fields: dict[str, Any], kind: str) -> None:
    document = {
        "@context": ["x", {"ex": "urn:ex:"}],
        "type": "EPCISDocument",
        "epcisBody": {"eventList": [{**BASE, "type": kind, **fields}]},
    }
    try:
        body = orjson.dumps(document)
    except orjson.JSONEncodeError:
        return  # hypothesis built an integer orjson cannot write: not an input
    (outcome,) = survive(body) or [None]
    assert outcome is not None


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["eventTime", "eventTimeZoneOffset", "bizStep", "disposition", "eventID", "parentID"]),
        st.text(max_size=30),
        max_size=4,
    )
)
def test_random_text_in_xml_fields(fields: dict[str, str]) -> None:
    from xml.sax.saxutils import escape

    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items() if "\x00" not in v)
    body = (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList><ObjectEvent>'
        f"{inner}<bizTransactionList><bizTransaction type='po'>PO-1</bizTransaction></bizTransactionList>"
        "</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    )
    survive(body.encode())


def test_deep_json_nesting_is_unreadable() -> None:
    with pytest.raises(UnreadableBody, match="body is not JSON"):
        EPCIS.parse(b'{"a":' * 5000 + b"1" + b"}" * 5000, CTX)
    deep_doc = b'{"type": "EPCISDocument", "epcisBody": {"eventList": [' + b"[" * 3000 + b"]" * 3000 + b"]}}"
    with pytest.raises(UnreadableBody, match="body is not JSON"):
        EPCIS.parse(deep_doc, CTX)


def test_deep_extension_is_a_rejection_not_a_crash() -> None:
    nested: Any = "leaf"
    for _ in range(200):
        nested = {"ex:n": nested}
    body = orjson.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": [{**BASE, "ex:deep": nested}]}})
    (rejection,) = EPCIS.parse(body, CTX)
    assert isinstance(rejection, Rejection)
    assert rejection.errors == ["event 1 (ObjectEvent): a user extension is nested deeper than 32 levels: flatten it"]
    xml_nested = b"<ex:n>" * 200 + b"leaf" + b"</ex:n>" * 200
    xml_body = (
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:ex="urn:ex"><EPCISBody><EventList>'
        b"<ObjectEvent><eventTime>2026-11-25T09:15:00Z</eventTime><bizStep>shipping</bizStep>" + xml_nested
        + b"</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    )  # fmt: skip
    (xml_rejection,) = EPCIS.parse(xml_body, CTX)
    assert isinstance(xml_rejection, Rejection)
    assert "nested deeper than 32 levels" in xml_rejection.errors[0]
    with pytest.raises(UnreadableBody, match="Excessive depth"):  # libxml2's own limit, huge_tree off
        EPCIS.parse(xml_body.replace(xml_nested, b"<ex:n>" * 400 + b"</ex:n>" * 400), CTX)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'.encode() for n in range(1, 10)
    )
    + b']>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList><ObjectEvent>'
    b"<eventTime>2026-11-25T09:15:00Z</eventTime><bizStep>&lol9;</bizStep></ObjectEvent></EventList></EPCISBody>"
    b"</epcis:EPCISDocument>"
)


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2">&x;</epcis:EPCISDocument>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://example.invalid/p.dtd"> %p;]>'
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"/>',
    ],
)
def test_entities_are_refused_without_expansion(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(UnreadableBody, match="entity declarations"):
        EPCIS.parse(body, CTX)
    with pytest.raises(UnreadableBody, match="entity declarations"):
        list(EPCIS.split([body[i : i + 5] for i in range(0, len(body), 5)], CTX, max_events=1))
    assert time.perf_counter() - started < 1


def test_external_dtd_is_not_fetched() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE epcis:EPCISDocument SYSTEM "http://example.invalid/epcis.dtd">'
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList/></EPCISBody>'
        b"</epcis:EPCISDocument>"
    )
    assert EPCIS.parse(body, CTX) == []


def _json_events(n: int) -> bytes:
    event = {**BASE, "epcList": [f"urn:epc:id:sgtin:0614141.107346.{i}" for i in range(10)]}
    events = [{**event, "eventID": f"urn:uuid:{i}"} for i in range(n)]
    return orjson.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": events}})


def test_huge_event_list_is_too_many_for_a_message_but_splits() -> None:
    body = _json_events(5000)
    assert len(body) > 1_500_000
    started = time.perf_counter()
    with pytest.raises(TooManyEvents):
        EPCIS.parse(body, CTX)
    parts = list(EPCIS.split([body], CTX, max_events=1000))
    assert [len(EPCIS.candidates(p, CTX)) for p in parts] == [1000] * 5
    assert time.perf_counter() - started < 10


def test_huge_xml_streams_in_linear_time() -> None:
    event = (
        b"<ObjectEvent><eventTime>2026-11-25T09:15:00Z</eventTime><eventTimeZoneOffset>+01:00</eventTimeZoneOffset>"
        b"<epcList>" + b"<epc>urn:epc:id:sgtin:0614141.107346.1</epc>" * 10 + b"</epcList><action>OBSERVE</action>"
        b"<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep><bizTransactionList>"
        b'<bizTransaction type="urn:epcglobal:cbv:btt:po">PO-1</bizTransaction></bizTransactionList></ObjectEvent>'
    )  # fmt: skip
    head = b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList>'
    tail = b"</EventList></EPCISBody></epcis:EPCISDocument>"
    timings = []
    for n in (1000, 4000):
        body = head + event * n + tail
        started = time.perf_counter()
        parts = list(EPCIS.split((body[i : i + 65536] for i in range(0, len(body), 65536)), CTX, max_events=1000))
        assert sum(len(EPCIS.candidates(p, CTX)) for p in parts) == n
        timings.append(time.perf_counter() - started)
    assert timings[1] < timings[0] * 8 + 0.5  # 4x the size, not 16x the time


def test_pathological_single_event() -> None:
    epcs = [f"urn:epc:id:sgtin:0614141.107346.{i}" for i in range(60_000)]
    body = orjson.dumps(
        {"type": "EPCISDocument", "epcisBody": {"eventList": [{**BASE, "epcList": epcs, "ex:blob": "x" * 500_000}]}}
    )
    assert len(body) > 1_500_000
    started = time.perf_counter()
    (event,) = EPCIS.candidates(body, CTX)
    assert time.perf_counter() - started < 5
    assert isinstance(event, dict)
    assert event["attributes"]["epc_counts"] == {"epcList": 60_000}
    assert len(event["attributes"]["epcs"]["epcList"]) == 100


@FUZZ
@given(
    st.datetimes(timezones=st.none() | st.timezones()),
    st.none() | st.sampled_from(["+14:00", "-12:00", "+00:00", "-09:30", "Z"]),
)
def test_any_time_in_the_calendar(moment: Any, offset: str | None) -> None:
    event = {**BASE, "eventTime": moment.isoformat(), "eventTimeZoneOffset": offset}
    (outcome,) = survive(orjson.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": [event]}}))
    if not isinstance(outcome, Rejection):
        assert outcome.occurred_at.tzinfo is not None
