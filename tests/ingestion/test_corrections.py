"""Corrections in place: an EPCIS error declaration supersedes the event it names, from a later
message or from the same document; a partner of another format cannot overwrite a stored event
by sending the same attribute (canonical-events.md §1: the same event_id twice is one event)."""

from typing import Any

import orjson
import pytest

from apps.events.models import CanonicalEvent
from apps.ingestion.models import RawMessage
from tests.factories import FeedFactory, event
from tests.ingestion.formats.conftest import REALDATA

pytestmark = pytest.mark.django_db

EPCIS = REALDATA / "gs1-epcis/JSON"
needs_realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not beside the repository")


@needs_realdata
def test_an_epcis_error_declaration_corrects_the_event_it_names(post_events: Any) -> None:
    feed = FeedFactory(format="epcis", system="wms")
    original = (EPCIS / "Example_9.6.1-ObjectEvent.jsonld").read_bytes()
    # The partner declares its shipping event wrong: the same event, re-sent with an
    # errorDeclaration (EPCIS 2.0 §7.4.1.6), alone in a later document.
    document = orjson.loads(original)
    shipping = document["epcisBody"]["eventList"][0]
    shipping["errorDeclaration"] = {"declarationTime": "2020-01-16T10:00:00.000+01:00", "reason": "incorrect_data"}
    document["epcisBody"]["eventList"] = [shipping]
    declaration = orjson.dumps(document)
    assert post_events(feed, None, raw=original, content_type="application/ld+json").status_code == 202
    before = dict(CanonicalEvent.objects.filter(feed=feed).values_list("event_key", "source_status"))
    assert len(before) == 2
    assert post_events(feed, None, raw=declaration, content_type="application/ld+json").status_code == 202
    after = dict(CanonicalEvent.objects.filter(feed=feed).values_list("event_key", "source_status"))
    assert set(after) == set(before)  # corrected, not added
    declared = [key for key, status in after.items() if status.endswith("/error_declared")]
    assert len(declared) == 1
    stored = CanonicalEvent.objects.get(feed=feed, event_key=declared[0])
    assert stored.body["attributes"]["error_declaration"]["reason"]


def test_another_format_cannot_overwrite_a_stored_event_with_the_attribute(post_events: Any) -> None:
    feed = FeedFactory()
    first = event("d1", type="delivery.completed", refs={"order": "SO-D1"})
    post_events(feed, {"events": [first]})
    forged = {**first, "type": "delivery.attempted", "attributes": {"error_declaration": {"reason": "x"}}}
    post_events(feed, None, raw=orjson.dumps({"events": [forged]}))
    assert CanonicalEvent.objects.get(feed=feed, event_key="e-d1").type == "delivery.completed"
    assert RawMessage.objects.order_by("received_at").last().duplicates == 1  # type: ignore[union-attr]
