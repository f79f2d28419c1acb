"""Property: any permutation and duplication of a set of events, cut into any messages,
stores exactly the same canonical events as the clean stream."""

import itertools

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.events.models import CanonicalEvent, EventRef
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, event

EVENTS = [
    event(1, refs={"order": "SO-1"}, type="order.created"),
    event(2, refs={"order": "SO-1", "warehouse_task": "WT-1"}),
    event(
        3,
        refs={"shipment": "SH-1", "order": ["SO-1", "SO-2"], "tracking_number": "1Z1"},
        type="shipment.planned",
    ),
    event(4, refs={"tracking_number": "1Z1"}, type="delivery.attempted", reason={"code": "CUSTOMER_ABSENT"}),
    {k: v for k, v in event(5, type="delivery.completed", refs={"tracking_number": "1Z1"}).items() if k != "event_id"},
    event(6, occurred_at="2026-11-25T10:00:00"),  # bad: naive
]
_counter = itertools.count()


def _store(stream: list[dict], cuts: list[int]) -> list[tuple]:
    feed = FeedFactory(slug=f"prop-{next(_counter)}")
    bounds = sorted({0, len(stream), *[c % (len(stream) + 1) for c in cuts]})
    for start, end in itertools.pairwise(bounds):
        message = message_receive(
            feed=feed, body=orjson.dumps({"events": stream[start:end]}), content_type="application/json"
        )
        message_process(message_id=message.id)
    events = CanonicalEvent.objects.filter(feed=feed)
    # Lists, not sets: a duplicate stored twice must show up as a difference.
    refs = sorted(EventRef.objects.filter(event__feed=feed).values_list("event__event_key", "kind", "value"))
    rows = sorted(
        (e.event_key, e.type, e.occurred_at.isoformat(), orjson.dumps(e.body, option=orjson.OPT_SORT_KEYS))
        for e in events
    )
    return [*rows, *refs]


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=st.permutations(range(len(EVENTS))),
    repeats=st.lists(st.integers(0, len(EVENTS) - 1), max_size=8),
    cuts=st.lists(st.integers(0, 20), max_size=4),
)
def test_any_permutation_and_duplication_stores_the_same_events(order, repeats, cuts):
    clean = _store(EVENTS, [])
    noisy_stream = [EVENTS[i] for i in order] + [EVENTS[i] for i in repeats]
    assert _store(noisy_stream, cuts) == clean
