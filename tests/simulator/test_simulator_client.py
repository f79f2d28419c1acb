"""The HTTP client, against a mock transport (no server): grouping, retries, pacing."""

import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from apps.feeds.services import FeedCredentials
from apps.simulator.client import NO_RESPONSE, post_batches, wait_until_up
from apps.simulator.world import generate_world

CREDS = {
    s: FeedCredentials(slug=f"sim-{s}", token=f"tok-{s}", hmac_secret="s3cret")
    for s in ("erp", "wms", "tms", "lastmile")
}
BASE = "http://ct.test"


@pytest.fixture(scope="module")
def stream():
    return generate_world(orders=40, seed=2, start=datetime(2026, 11, 22, tzinfo=UTC))


class Recorder:
    """A fake ingest endpoint: answers with the queued statuses, then 202."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            answer = self.answers.pop(0) if self.answers else 202
        if isinstance(answer, Exception):
            raise answer
        if answer == 202:
            body = orjson.loads(request.content)
            return httpx.Response(202, json={"message_id": str(uuid.uuid4()), "received": len(body["events"])})
        headers = {"Retry-After": "0"} if answer == 429 else {}
        return httpx.Response(answer, json={"detail": "no"}, headers=headers)

    def transport(self):
        return httpx.MockTransport(self)


def test_it_posts_every_event_once_to_its_systems_feed(stream):
    fake, seen = Recorder(), []
    report = post_batches(BASE, CREDS, stream, batch_size=50, transport=fake.transport(), progress=seen.append)
    sent = []
    for request in fake.requests:
        system = request.url.path.split("/")[-2].removeprefix("sim-")
        assert request.url.path == f"/api/v1/ingest/sim-{system}/"
        assert request.headers["Authorization"] == f"Bearer tok-{system}"
        assert request.headers["Content-Type"] == "application/json"
        events = orjson.loads(request.content)["events"]
        assert 1 <= len(events) <= 50
        sent += [(system, e["event_id"]) for e in events]
    assert sorted(sent) == sorted((s.system, s.event["event_id"]) for s in stream)
    assert report.events_sent == len(stream) == sum(seen)
    assert len(report.messages) == len(fake.requests)
    assert report.http_errors == {}
    assert not report.interrupted


def test_429_waits_for_retry_after_and_sends_again(stream):
    fake = Recorder(429, 429)
    report = post_batches(BASE, CREDS, stream[:10], transport=fake.transport(), concurrency=1)
    assert report.events_sent == 10
    assert report.http_errors == {429: 2}


def test_refused_connections_and_5xx_are_retried(stream):
    fake = Recorder(httpx.ConnectError("refused"), 503)
    report = post_batches(BASE, CREDS, stream[:5], transport=fake.transport(), concurrency=1)
    assert report.events_sent == 5
    assert report.http_errors == {NO_RESPONSE: 1, 503: 1}


def test_a_401_is_not_retried(stream):
    erp = [s for s in stream if s.system == "erp"][:3]
    fake = Recorder(401)
    report = post_batches(BASE, CREDS, erp, transport=fake.transport())
    assert (report.events_sent, report.events_failed) == (0, 3)
    assert report.http_errors == {401: 1}
    assert len(fake.requests) == 1


def test_the_rate_paces_the_stream(stream):
    fake = Recorder()
    started = time.monotonic()
    report = post_batches(BASE, CREDS, stream[:100], rate=50, transport=fake.transport())
    assert time.monotonic() - started >= 0.95  # the second window of 50 waits one second
    assert report.events_sent == 100


def test_signed_bodies_carry_the_signature_header(stream):
    fake = Recorder()
    post_batches(BASE, CREDS, stream[:5], signed=True, transport=fake.transport())
    assert all(r.headers["X-CT-Signature"].startswith("t=") for r in fake.requests)


def test_missing_credentials_and_bad_batch_sizes_are_refused(stream):
    with pytest.raises(ValueError, match="no feed credentials"):
        post_batches(BASE, {"erp": CREDS["erp"]}, stream)
    with pytest.raises(ValueError, match="batch_size"):
        post_batches(BASE, CREDS, stream, batch_size=1001)


def test_wait_until_up():
    assert wait_until_up(BASE, transport=httpx.MockTransport(lambda r: httpx.Response(503)))

    def refuse(request):
        raise httpx.ConnectError("refused")

    assert not wait_until_up(BASE, timeout_s=0.2, interval_s=0.05, transport=httpx.MockTransport(refuse))
