"""A feed of each format, posted its partner's real file through the ingest endpoint: the
events land on the right order's timeline (through the ids another system linked to it), with
the source's code kept. The per-format conformance suites (tests/ingestion/formats/) assert the
mapping of every sample; this asserts the whole way from the partner's bytes to an order."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from apps.correlation.models import TimelineEntry
from apps.ingestion.models import RawMessage
from tests.correlation.conftest import World
from tests.factories import FeedFactory
from tests.ingestion.formats.conftest import REALDATA

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not beside the repository"),
]

TNT = "dcsa-conformance-gateway/tnt/src/main/resources/standards/tnt/messages"


@dataclass(frozen=True)
class Case:
    fmt: str
    content_type: str
    body: Callable[[], bytes]
    link: dict[str, str]  # refs another system sends with the order, binding the sample's ids to it
    types: set[str]  # event types of this feed expected on the order's timeline
    mapping: dict[str, Any] | None = None


def sample(relative: str) -> Callable[[], bytes]:
    return lambda: (REALDATA / relative).read_bytes()


def csv_body() -> bytes:
    return (
        b"event_id,type,occurred_at,refs.order,source_status\nc-1,pick.completed,2026-11-25T10:00:00+01:00,SO-E2E,PK\n"
    )


def custom_body() -> bytes:
    scans = [{"id": "s-1", "at": "2026-11-25T12:00:00+01:00", "code": "DLV", "parcel": "PCL-9"}]
    return orjson.dumps({"scans": scans})


CUSTOM_MAPPING = {
    "version": 1,
    "events": "$.scans[*]",
    "fields": {
        "event_id": "id",
        "occurred_at": "at",
        "type": {"path": "code", "table": "custom.status"},
        "refs.tracking_number": "parcel",
    },
    "tables": {"custom.status": {"DLV": "delivery.completed"}},
}

CASES = [
    Case("canonical-csv", "text/csv", csv_body, {}, {"pick.completed"}),
    Case(
        "x12",
        "application/edi-x12",
        sample("x12-stupidedi/spec/fixtures/004010/SM204/case/1.edi"),
        {"shipment": "12345678"},
        {"shipment.tendered"},
    ),
    Case(
        "edifact",
        "application/edifact",
        sample("edifact-types/test-data/d00b_iftsta.edi"),
        {"shipment": "24O4023815"},
        {"shipment.departed"},
    ),
    Case(
        "epcis",
        "application/ld+json",
        sample("gs1-epcis/JSON/Example_9.6.1-ObjectEvent.jsonld"),
        {"customer_po": "http://transaction.acme.com/po/12345678"},
        {"shipment.confirmed", "delivery.completed"},
    ),
    Case(
        "epcis",
        "application/xml",
        sample("gs1-epcis/XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml"),
        {"customer_po": "http://transaction.acme.com/po/12345678"},
        {"shipment.confirmed", "delivery.completed"},
    ),
    Case(
        "dcsa-tnt",
        "application/json",
        sample(f"{TNT}/tnt-300-response.json"),
        {"shipment": "ABC709951"},
        # its equipment event names only the container (a `load`): not this order's, by design
        {"shipment.tender_accepted", "shipment.departed"},
    ),
    Case(
        "carrier-webhook",
        "application/json",
        sample("easypost-examples/official/fixtures/event-body.json"),
        {"shipment": "SH-EP-1", "tracking_number": "1"},
        {"shipment.planned", "shipment.arrived", "shipment.departed", "shipment.in_transit"},
    ),
    Case(
        "custom-json",
        "application/json",
        custom_body,
        {"shipment": "SH-C-1", "tracking_number": "PCL-9"},
        {"delivery.completed"},
        CUSTOM_MAPPING,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.fmt}-{c.content_type.split('/')[-1]}" for c in CASES])
def test_a_partner_file_lands_on_the_right_order(case: Case, post_events: Any, tmp_path: Path) -> None:
    world = World()
    world.send("erp", "order.released", {"order": "SO-E2E"}, "2026-11-20T08:00:00+00:00")
    if case.link:
        world.send("tms", "shipment.planned", {"order": "SO-E2E", **case.link}, "2026-11-20T09:00:00+00:00")
    feed = FeedFactory(format=case.fmt, system="tms", mapping=case.mapping)
    response = post_events(feed, None, raw=case.body(), content_type=case.content_type)
    assert response.status_code == 202, response.content
    message = RawMessage.objects.get(feed=feed)
    assert message.status == "processed", (message.error, message.rejections)
    assert message.accepted >= len(case.types)
    landed = TimelineEntry.objects.filter(order__value="SO-E2E", event__feed=feed)
    assert set(landed.values_list("event_type", flat=True)) >= case.types
    assert all(landed.values_list("event__source_status", flat=True))  # the partner's code is kept
