"""epcis: which bodies are EPCIS documents (JSON-LD, XML 2.0 and 1.x, query and master-data
documents, bare events), what is unreadable, and the split of files into bodies."""

from typing import Any

import orjson
import pytest

from apps.ingestion.formats import FeedContext, UnreadableBody

from .test_epcis import EPCIS, SHIP, XML_HEAD, XML_SHIP, doc, event, one, read, xml


def test_epcis_1_2_xml_with_extension_wrappers(ctx: FeedContext) -> None:
    body = (
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" '
        b'creationDate="2019-01-01T00:00:00Z"><EPCISBody><EventList>'
        b"<ObjectEvent><eventTime>2019-01-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
        b"<baseExtension><eventID>urn:uuid:a1</eventID></baseExtension>"
        b"<epcList/><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:departing</bizStep>"
        b"<extension><quantityList><quantityElement><epcClass>urn:epc:class:lgtin:1.2.3</epcClass>"
        b"<quantity>5</quantity><uom>KGM</uom></quantityElement></quantityList>"
        b'<destinationList><destination type="urn:epcglobal:cbv:sdt:location">urn:epc:id:sgln:1.2.3</destination>'
        b"</destinationList></extension>"
        b'<bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:desadv">ASN-1</bizTransaction>'
        b"</bizTransactionList></ObjectEvent>"
        b"<extension><TransformationEvent><eventTime>2019-01-01T11:00:00Z</eventTime>"
        b"<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        b"</TransformationEvent></extension>"
        b"</EventList></EPCISBody></epcis:EPCISDocument>"
    )
    candidate = one(body, ctx)  # the TransformationEvent is read, and IGNOREd (commissioning)
    assert candidate["event_id"] == "urn:uuid:a1"
    assert candidate["type"] == "shipment.departed"
    assert candidate["refs"] == {"shipment": "ASN-1"}
    assert candidate["lines"] == [{"sku": "urn:epc:class:lgtin:1.2.3", "qty": 5, "uom": "KGM"}]
    assert candidate["attributes"]["destinations"] == [{"type": "location", "id": "urn:epc:id:sgln:1.2.3"}]
    assert EPCIS.count(body, ctx) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body is empty"),
        (b"  \r\n ", "body is empty"),
        (b"ISA*00*", "expected an EPCIS document: JSON-LD (starting with '{') or XML (starting with '<')"),
        (b"[]", "expected an EPCIS document"),
        (b'{"events": []}', "not an EPCIS JSON document"),
        (b'{"type": "EPCISDocument", "epcisBody": []}', "epcisBody: expected an object holding eventList"),
        (b'{"type": "EPCISDocument", "epcisBody": {"eventList": {}}}', "epcisBody.eventList: expected an array"),
        (b'{"type": "EPCISDocument", "epcisBody"', "body is not JSON"),
        (b"<order><id>1</id></order>", "the root element is 'order' in namespace None"),
        (b'<x:Other xmlns:x="urn:epcglobal:epcis:xsd:2"/>', "not an EPCIS event document: the root element is 'Other'"),
        (XML_HEAD + XML_SHIP, "body is not well-formed XML"),
        ("<a/>".encode("utf-16-le"), "body is not well-formed XML"),  # UTF-16 without its mark
        (b"\xff\xfe" + '{"type": "EPCISDocument"}'.encode("utf-16-le"), "a UTF-16 body must be XML"),
    ],
)
def test_unreadable_bodies(body: bytes, message: str, ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody, match=None) as caught:
        EPCIS.parse(body, ctx)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "EPCISDocument", "epcisBody": {"vocabularyList": []}}',
        b'{"type": "EPCISMasterDataDocument", "epcisBody": {"vocabularyList": []}}',
        b'{"captureID": "f3755dab", "running": true, "success": true}',
        b'{"type": "EPCISQueryDocument", "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery"}}}',
        b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList/></EPCISBody>'
        b"</epcis:EPCISDocument>",
        b'<epcis:EPCISCaptureJob xmlns:epcis="urn:epcglobal:epcis:xsd:2" running="true"/>',
    ],
)
def test_documents_without_events_are_zero_events(body: bytes, ctx: FeedContext) -> None:
    assert EPCIS.parse(body, ctx) == []
    assert list(EPCIS.split([body], ctx, max_events=10)) == []


def test_bom_whitespace_and_utf16_xml(ctx: FeedContext) -> None:
    expected = one(doc(SHIP), ctx)
    assert one(b"\xef\xbb\xbf \n" + doc(SHIP), ctx) == expected
    utf16 = xml(XML_SHIP).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert one(utf16, ctx) == expected


def test_non_events_in_the_list_are_rejected_one_by_one(ctx: FeedContext) -> None:
    out = read(doc(SHIP, "text", {"type": "FooEvent"}, event(eventID="urn:uuid:2")), ctx)
    assert [type(c).__name__ for c in out] == ["dict", "Rejection", "Rejection", "dict"]
    assert out[1].errors[0].startswith("event 2 (?): not an EPCIS event")
    assert out[2].errors[0].startswith("event 3 (FooEvent): type: expected one of AggregationEvent")
    bad_xml = xml(XML_SHIP, b"<ex:Note>hi</ex:Note>")
    assert (
        read(bad_xml, ctx)[1]
        .errors[0]
        .startswith("event 2 ({http://ns.example.com/epcis}Note): not an EPCIS event element")
    )


def _split_events(body: bytes, ctx: FeedContext, max_events: int, chunk: int) -> tuple[list[bytes], list[Any]]:
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    parts = list(EPCIS.split(iter(chunks), ctx, max_events=max_events))
    return parts, [c for part in parts for c in read(part, ctx)]


@pytest.mark.parametrize(("max_events", "bodies"), [(1, 7), (3, 3), (7, 1), (100, 1)])
def test_split_json_and_xml(max_events: int, bodies: int, ctx: FeedContext) -> None:
    events = [event(eventID=f"urn:uuid:{n}", eventTime=f"2026-11-25T09:{n:02d}:00Z") for n in range(7)]
    json_body = doc(*events, context=["x", {"ex": "urn:ex:"}])
    parts, got = _split_events(json_body, ctx, max_events, chunk=50)
    assert len(parts) == bodies
    assert got == read(json_body, ctx)
    assert all(orjson.loads(p)["@context"] == ["x", {"ex": "urn:ex:"}] for p in parts)
    xml_events = [XML_SHIP.replace(b"T10:15:00", f"T10:{n:02d}:00".encode()) for n in range(7)]
    xml_body = xml(*xml_events)
    parts, got = _split_events(xml_body, ctx, max_events, chunk=7)
    assert len(parts) == bodies
    assert got == read(xml_body, ctx)
    assert all(p.startswith(b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:ex=') for p in parts)
    assert [c["occurred_at"] for c in got] == [f"2026-11-25T10:{n:02d}:00+01:00" for n in range(7)]


def test_split_refuses_what_it_cannot_read(ctx: FeedContext) -> None:
    with pytest.raises(UnreadableBody, match="not well-formed"):
        list(EPCIS.split([XML_HEAD, XML_SHIP], ctx, max_events=1))
    with pytest.raises(UnreadableBody, match="expected an EPCIS document"):
        list(EPCIS.split([b"   ", b"hello"], ctx, max_events=1))
    assert list(EPCIS.split([orjson.dumps(SHIP)], ctx, max_events=1)) == [orjson.dumps(SHIP)]
