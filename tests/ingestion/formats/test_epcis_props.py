"""epcis, by property: a random event written as JSON-LD and as XML is one canonical event (the
same event_id, type, refs, time, lines, location and attributes), and its event_id does not
change with list order, member order, prefixes, CBV spelling or the envelope around it."""

import random
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.ingestion.formats import FORMATS, FeedContext

EPCIS = FORMATS["epcis"]
CTX = FeedContext.standard(slug="prop-feed")
STEPS = ["picking", "packing", "loading", "shipping", "departing", "arriving", "receiving", "void_shipping"]
DISPOSITIONS = ["in_transit", "in_progress", "damaged", "returned", None]
KINDS = ["po", "inv", "desadv", "bol", "rma", "prodorder"]

ids = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-/:.", min_size=1, max_size=24)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)).map(  # noqa: DTZ001
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}"
)
offsets = st.sampled_from(["+00:00", "-06:00", "+01:00", "+05:30", "-09:30", "+14:00"])
quantities = st.lists(
    st.tuples(
        ids,
        st.integers(0, 10**6) | st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 3)),
        st.sampled_from(["KGM", "EA", None]),
    ),
    max_size=3,
)
notes = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), max_size=20).map(str.strip)
events = st.fixed_dictionaries(
    {
        "time": times,
        "zone": offsets,
        "offset": offsets,
        "step": st.sampled_from(STEPS),
        "disposition": st.sampled_from(DISPOSITIONS),
        "epcs": st.lists(ids.map(lambda s: f"urn:epc:id:sgtin:{s}"), max_size=4, unique=True),
        "transactions": st.lists(st.tuples(st.sampled_from(KINDS), ids), min_size=1, max_size=4, unique=True).filter(
            lambda ts: any(kind != "prodorder" for kind, _ in ts)  # at least one ref
        ),
        "quantities": quantities,
        "location": st.none() | ids,
        "note": st.none() | notes,
    },
    optional={"event_id": ids},
)  # fmt: skip


def as_json(e: dict[str, Any], *, shuffle: random.Random | None = None, prefix: str = "ex") -> bytes:
    transactions = [{"type": k, "bizTransaction": v} for k, v in e["transactions"]]
    epcs = list(e["epcs"])
    if shuffle:
        shuffle.shuffle(transactions)
        shuffle.shuffle(epcs)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": e["time"] + e["zone"],
        "eventTimeZoneOffset": e["offset"],
        "epcList": epcs,
        "action": "OBSERVE",
        "bizStep": e["step"],
        "bizTransactionList": transactions,
    }
    if e["disposition"]:
        event["disposition"] = e["disposition"]
    if e["quantities"]:
        event["quantityList"] = [
            {"epcClass": c, "quantity": q, **({"uom": u} if u else {})} for c, q, u in e["quantities"]
        ]
    if e["location"]:
        event["bizLocation"] = {"id": e["location"]}
    if e["note"]:
        event[f"{prefix}:note"] = e["note"]
    if "event_id" in e:
        event["eventID"] = e["event_id"]
    if shuffle:
        items = list(event.items())
        shuffle.shuffle(items)
        event = dict(items)
    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {prefix: "http://ns.example.com/x/"}]
    return orjson.dumps({"@context": context, "type": "EPCISDocument", "epcisBody": {"eventList": [event]}})


def as_xml(e: dict[str, Any]) -> bytes:
    parts = [
        f"<eventTime>{e['time']}{e['zone']}</eventTime>",
        f"<eventTimeZoneOffset>{e['offset']}</eventTimeZoneOffset>",
    ]
    if "event_id" in e:
        parts.append(f"<eventID>{escape(e['event_id'])}</eventID>")
    parts.append("<epcList>" + "".join(f"<epc>{escape(x)}</epc>" for x in e["epcs"]) + "</epcList>")
    parts.append(f"<action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:{e['step']}</bizStep>")
    if e["disposition"]:
        parts.append(f"<disposition>https://ref.gs1.org/cbv/Disp-{e['disposition']}</disposition>")
    if e["location"]:
        parts.append(f"<bizLocation><id>{escape(e['location'])}</id></bizLocation>")
    parts.append(
        "<bizTransactionList>"
        + "".join(
            f"<bizTransaction type={quoteattr('urn:epcglobal:cbv:btt:' + k)}>{escape(v)}</bizTransaction>"
            for k, v in e["transactions"]
        )
        + "</bizTransactionList>"
    )
    if e["quantities"]:
        parts.append(
            "<quantityList>"
            + "".join(
                f"<quantityElement><epcClass>{escape(c)}</epcClass><quantity>{q}</quantity>"
                + (f"<uom>{u}</uom>" if u else "")
                + "</quantityElement>"
                for c, q, u in e["quantities"]
            )
            + "</quantityList>"
        )
    if e["note"]:
        parts.append(f"<y:note>{escape(e['note'])}</y:note>")
    return (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:y="http://ns.example.com/x">'
        "<EPCISBody><EventList><ObjectEvent>" + "".join(parts) + "</ObjectEvent></EventList></EPCISBody>"
        "</epcis:EPCISDocument>"
    ).encode()


def one(body: bytes) -> dict[str, Any]:
    (candidate,) = EPCIS.read(body, CTX)
    assert isinstance(candidate, dict), candidate
    return candidate


@settings(max_examples=200, deadline=None)
@given(events)
def test_json_and_xml_renderings_are_one_event(e: dict[str, Any]) -> None:
    from_json, from_xml = one(as_json(e)), one(as_xml(e))
    if e["note"]:  # the only difference: the extension's key keeps the prefix each document chose
        assert from_json["attributes"]["extensions"] == {"ex:note": e["note"]}
        assert from_xml["attributes"]["extensions"] == {"y:note": e["note"]}
        from_json["attributes"].pop("extensions")
        from_xml["attributes"].pop("extensions")
    assert from_json == from_xml
    assert from_json["event_id"] == e.get("event_id", from_json["event_id"]).strip()
    assert (EPCIS.parse(as_json(e), CTX)[0].__class__.__name__) == "ValidEvent"


@settings(max_examples=200, deadline=None)
@given(events, st.randoms(use_true_random=False))
def test_event_id_ignores_order_prefixes_and_envelope(e: dict[str, Any], rnd: random.Random) -> None:
    e.pop("event_id", None)
    reference = one(as_json(e))
    shuffled = one(as_json(e, shuffle=rnd, prefix="other"))
    assert shuffled["event_id"] == reference["event_id"]
    assert shuffled["type"] == reference["type"]
    assert shuffled["refs"].keys() == reference["refs"].keys()
    # in a bigger document, among other events
    other = {**e, "step": "picking", "time": "2001-01-01T00:00:00.000"}
    document = orjson.loads(as_json(other))
    document["epcisBody"]["eventList"] += orjson.loads(as_json(e))["epcisBody"]["eventList"]
    assert list(EPCIS.read(orjson.dumps(document), CTX))[1]["event_id"] == reference["event_id"]
    # the same instant written in UTC is the same event
    utc = datetime.fromisoformat(e["time"] + e["zone"]).astimezone(UTC)
    rewritten = {**e, "time": utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}", "zone": "Z"}
    assert one(as_json(rewritten))["event_id"] == reference["event_id"]
    assert one(as_json(rewritten))["occurred_at"] == reference["occurred_at"]
