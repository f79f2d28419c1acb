"""After a feed's code table changes, `replay --feed S` re-derives its events from the raw
messages: an event whose type changed is corrected in place (same key, same count), one that
was rejected as unmapped is stored now, and the order is recomputed from its whole timeline."""

from typing import Any

import pytest
from django.core.management import call_command

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.ingestion.feed_formats import code_table_set
from apps.ingestion.models import RawMessage
from tests.factories import FeedFactory, event

pytestmark = pytest.mark.django_db

ISA = "ISA*00*          *00*          *02*ACMECARRIER    *ZZ*CONTROLTOWER   *261125*0800*U*00401*000000001*0*P*>~\n"


def x214(*statuses: tuple[str, str]) -> bytes:
    """One 214 for shipment SH-R1 of order SO-R1, one LX/AT7 per (code, HHMM)."""
    body = ["ST*214*0001", "B10*PRO-R1*SH-R1*ACME", "L11*SO-R1*OQ"]
    for n, (code, hhmm) in enumerate(statuses, start=1):
        body += [f"LX*{n}", f"AT7*{code}*NS***20261125*{hhmm}*UT", "MS1*CHICAGO*IL*US"]
    body.append(f"SE*{len(body) + 1}*0001")
    segments = ["GS*QM*ACMECARRIER*CONTROLTOWER*20261125*0800*1*X*004010", *body, "GE*1*1", "IEA*1*000000001"]
    return (ISA + "~\n".join(segments) + "~\n").encode()


def test_a_replay_after_a_code_table_change_corrects_events_instead_of_duplicating(
    post_events: Any, django_capture_on_commit_callbacks: Any
) -> None:
    erp = FeedFactory(system="erp")
    post_events(erp, event("o1", type="order.released", refs={"order": "SO-R1"}, occurred_at="2026-11-25T07:00:00Z"))
    carrier = FeedFactory(format="x12", system="tms")
    response = post_events(carrier, None, raw=x214(("X6", "1000"), ("ZZ", "1100")), content_type="application/edi-x12")
    assert response.status_code == 202
    message = RawMessage.objects.get(feed=carrier)
    assert message.accepted == 1
    [rejected] = message.rejections
    assert "code 'ZZ' is not in code table x12.at7 (version 0)" in rejected["errors"][0]
    [in_transit] = CanonicalEvent.objects.filter(feed=carrier)
    assert (in_transit.type, in_transit.source_status) == ("shipment.in_transit", "X6")
    order = OrderProjection.objects.get(order_key="SO-R1")
    assert order.stage == "in_transit"

    # The partner's X6 really means "arrived at the terminal" for this carrier, and ZZ is its
    # own delay code: the admin maps both, then replays the feed.
    code_table_set(feed=carrier, table="x12.at7", entries={"X6": "shipment.arrived", "ZZ": "shipment.delayed"})
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay", "--feed", carrier.slug)

    events = {e.source_status: e for e in CanonicalEvent.objects.filter(feed=carrier)}
    assert set(events) == {"X6", "ZZ"}
    assert events["X6"].id == in_transit.id  # corrected in place: same row, same key
    assert events["X6"].event_key == in_transit.event_key
    assert events["X6"].type == "shipment.arrived"
    assert events["ZZ"].type == "shipment.delayed"
    message.refresh_from_db()
    assert (message.accepted, message.rejections) == (2, [])
    entries = dict(TimelineEntry.objects.filter(event__feed=carrier).values_list("event__source_status", "event_type"))
    assert entries == {"X6": "shipment.arrived", "ZZ": "shipment.delayed"}
    order.refresh_from_db()
    assert order.event_count == 3  # the ERP event and the carrier's two, none twice
    assert order.systems["tms"]["type"] == "shipment.delayed"

    # A second replay changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay", "--feed", carrier.slug)
    assert CanonicalEvent.objects.filter(feed=carrier).count() == 2
    assert TimelineEntry.objects.filter(event__feed=carrier).count() == 2
