"""GET /metrics: what an operator's Prometheus scrapes."""

import orjson
import pytest
from django.contrib.auth.models import User

from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, event

pytestmark = pytest.mark.django_db


def sample(text: str, name: str, labels: str = "") -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{labels} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.split()[-1])
    raise AssertionError(f"{name}{labels} not in the scrape")


def test_metrics_need_the_token_or_a_staff_login(client, settings):
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
    client.force_login(User.objects.create_user("ops", is_staff=True))
    assert client.get("/metrics").status_code == 200


def test_queue_depth_dead_letters_and_stage_times_are_scraped(client, settings):
    settings.METRICS_TOKEN = "t"
    feed = FeedFactory(system="erp")
    body = orjson.dumps({"events": [event(1, type="order.created", refs={"order": "SO-M"})]})
    processed = message_receive(feed=feed, body=body, content_type="application/json", enqueue=False)
    message_process(message_id=processed.id)
    message_receive(feed=feed, body=body, content_type="application/json", enqueue=False)  # waiting
    RawMessage.objects.create(feed=feed, body=b"{}", content_type="application/json",
                              received_at=processed.received_at, status=MessageStatus.FAILED)  # fmt: skip

    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()

    assert sample(text, "controltower_pipeline_messages_waiting") == 1
    assert sample(text, "controltower_pipeline_dead_letters") == 1
    assert sample(text, "controltower_pipeline_oldest_waiting_seconds") >= 0
    assert sample(text, "controltower_pipeline_stage_seconds_count", '{lane="regular",stage="correlate"}') >= 1
    assert sample(text, "controltower_pipeline_events_total", '{lane="regular"}') >= 1
