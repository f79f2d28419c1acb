"""File intake: a partner's file uploaded through the API (multipart), the UI or
`manage.py ingest_file`, kept as evidence and split into messages of at most 1,000 events."""

import io
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.test import Client

from apps.accounts.services import api_token_create
from apps.correlation.models import OrderProjection
from apps.events.models import CanonicalEvent
from apps.ingestion.choices import FileStatus, MessageStatus
from apps.ingestion.models import IngestFile, RawMessage
from tests.factories import FeedFactory, UserFactory, event

pytestmark = pytest.mark.django_db


def big_file(n: int, order: str = "SO-F1") -> bytes:
    return orjson.dumps({"events": [event(i, refs={"order": order, "warehouse_task": f"WT-{i}"}) for i in range(n)]})


def upload(client: Client, slug: str, body: bytes, auth: str, name: str = "export.json") -> Any:
    upload_file = io.BytesIO(body)
    upload_file.name = name
    return client.post(f"/api/v1/feeds/{slug}/files/", {"file": upload_file}, HTTP_AUTHORIZATION=auth)


@pytest.fixture
def admin_auth(db: None) -> str:
    return f"Token {api_token_create(user=UserFactory(role='admin'))}"


def test_a_file_of_2500_events_becomes_three_messages_and_every_event_lands(
    client: Client, admin_auth: str, django_capture_on_commit_callbacks: Any
) -> None:
    feed = FeedFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, feed.slug, big_file(2500), admin_auth)
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["duplicate"] is False
    record = IngestFile.objects.get(id=data["file_id"])
    assert record.status == FileStatus.SPLIT
    parts = list(
        RawMessage.objects.filter(file=record).order_by("file_part").values_list("file_part", "received_count")
    )
    assert parts == [(0, 1000), (1, 1000), (2, 500)]
    assert CanonicalEvent.objects.filter(message__file=record).count() == 2500
    assert OrderProjection.objects.get(order_key="SO-F1").event_count == 2500
    status = client.get(f"/api/v1/files/{record.id}/", HTTP_AUTHORIZATION=admin_auth).json()
    assert status["status"] == "split"
    assert status["messages"]["processed"] == 3
    assert status["messages"]["accepted"] == 2500
    assert status["parts"] == 3
    assert status["events"] == 2500


def test_the_same_bytes_uploaded_again_are_the_same_file(
    client: Client, admin_auth: str, django_capture_on_commit_callbacks: Any
) -> None:
    feed = FeedFactory()
    body = big_file(10)
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(client, feed.slug, body, admin_auth).json()
        again = upload(client, feed.slug, body, admin_auth, name="renamed.json")
    assert again.status_code == 200
    assert again.json()["file_id"] == first["file_id"]
    assert again.json()["duplicate"] is True
    assert IngestFile.objects.count() == 1
    assert RawMessage.objects.count() == 1


def test_the_feed_may_upload_with_its_own_token_but_not_to_another_feed(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    feed, other = FeedFactory(), FeedFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(client, feed.slug, big_file(3), f"Bearer {feed.credentials.token}").status_code == 202
    assert upload(client, other.slug, big_file(3), f"Bearer {feed.credentials.token}").status_code == 404


def test_a_role_without_admin_rights_cannot_upload(client: Client) -> None:
    feed = FeedFactory()
    auth = f"Token {api_token_create(user=UserFactory(role='ops_lead'))}"
    assert upload(client, feed.slug, big_file(3), auth).status_code == 403
    # a role that cannot see feeds cannot learn that this one exists
    agent = f"Token {api_token_create(user=UserFactory(role='cs_agent'))}"
    assert upload(client, feed.slug, big_file(3), agent).status_code == 404
    assert IngestFile.objects.count() == 0


def test_a_file_that_cannot_be_read_is_kept_and_says_why(
    client: Client, admin_auth: str, django_capture_on_commit_callbacks: Any
) -> None:
    feed = FeedFactory()
    with django_capture_on_commit_callbacks(execute=True):
        data = upload(client, feed.slug, b"this is not json", admin_auth).json()
    record = IngestFile.objects.get(id=data["file_id"])
    assert record.status == FileStatus.REJECTED
    assert "not JSON" in record.error
    assert record.content.open("rb").read() == b"this is not json"  # the evidence, byte for byte


def test_no_file_field_and_an_empty_file_are_400(client: Client, admin_auth: str) -> None:
    feed = FeedFactory()
    assert client.post(f"/api/v1/feeds/{feed.slug}/files/", {}, HTTP_AUTHORIZATION=admin_auth).status_code == 400
    assert upload(client, feed.slug, b"", admin_auth).status_code == 400


def test_ingest_file_command_splits_and_reports(
    tmp_path: Any, capsys: Any, django_capture_on_commit_callbacks: Any
) -> None:
    feed = FeedFactory()
    path = tmp_path / "export.json"
    path.write_bytes(big_file(1200, order="SO-CMD"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ingest_file", "--feed", feed.slug, str(path))
    out = capsys.readouterr().out
    assert "2 messages, 1200 events" in out
    assert OrderProjection.objects.get(order_key="SO-CMD").event_count == 1200
    call_command("ingest_file", "--feed", feed.slug, str(path))
    assert "already received" in capsys.readouterr().out
    assert RawMessage.objects.count() == 2


def test_a_split_that_died_half_way_resumes_without_doubling(tmp_path: Any) -> None:
    from apps.ingestion.files import file_receive, file_split

    feed = FeedFactory()
    received = file_receive(feed=feed, chunks=[big_file(2500)], name="x.json", enqueue=False)
    # The worker died after writing part 0: the file is still `splitting`, long ago.
    first = file_split(file_id=received.file.id, enqueue=False)
    assert first is not None
    assert first.parts == 3
    RawMessage.objects.filter(file=received.file, file_part__gt=0).delete()
    from datetime import timedelta

    from apps.common.time import now

    IngestFile.objects.filter(id=received.file.id).update(
        status=FileStatus.SPLITTING, split_started_at=now() - timedelta(hours=1)
    )
    again = file_split(file_id=received.file.id, enqueue=False)
    assert again is not None
    assert again.status == FileStatus.SPLIT
    assert sorted(RawMessage.objects.filter(file=received.file).values_list("file_part", flat=True)) == [0, 1, 2]
    assert RawMessage.objects.filter(status=MessageStatus.RECEIVED).count() == 3


def test_a_split_in_progress_is_not_taken_by_a_second_worker() -> None:
    from apps.common.time import now
    from apps.ingestion.files import file_receive, file_split

    feed = FeedFactory()
    received = file_receive(feed=feed, chunks=[big_file(5)], name="x.json", enqueue=False)
    IngestFile.objects.filter(id=received.file.id).update(status=FileStatus.SPLITTING, split_started_at=now())
    assert file_split(file_id=received.file.id, enqueue=False) is None
    assert RawMessage.objects.count() == 0


def test_the_upload_page_and_the_file_page(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    feed = FeedFactory()
    admin = UserFactory(role="admin")
    client.force_login(admin)
    page = client.get(f"/feeds/{feed.slug}/")
    assert b'id="file-upload"' in page.content
    upload_file = io.BytesIO(big_file(4, order="SO-PAGE"))
    upload_file.name = "four.json"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/feeds/{feed.slug}/files/", {"file": upload_file})
    record = IngestFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/files/{record.id}/"
    page = client.get(f"/files/{record.id}/")
    assert page.status_code == 200
    assert b"four.json" in page.content
    assert b'href="/orders/SO-PAGE/"' in page.content
    assert b'hx-trigger="every 2s"' not in page.content  # done: the page stops polling
    ops = UserFactory(role="ops_lead")
    client.force_login(ops)
    assert b'id="file-upload"' not in client.get(f"/feeds/{feed.slug}/").content
    assert client.post(f"/feeds/{feed.slug}/files/", {"file": io.BytesIO(b"x")}).status_code == 403


def test_an_x12_file_splits_by_its_sets_with_one_997_per_interchange(
    client: Client, admin_auth: str, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.bench.x12_214 import interchanges

    feed = FeedFactory(format="x12", system="tms")
    text = "".join(interchanges(sets=2100, statuses=2, prefix="XF")).encode()  # 2 interchanges, 5 groups
    with django_capture_on_commit_callbacks(execute=True):
        data = upload(client, feed.slug, text, admin_auth, name="carrier.edi").json()
    record = IngestFile.objects.get(id=data["file_id"])
    assert (record.status, record.events, record.errors) == (FileStatus.SPLIT, 4200, [])
    counts = list(RawMessage.objects.filter(file=record).order_by("file_part").values_list("received_count", flat=True))
    assert max(counts) <= 1000
    assert sum(counts) == 4200
    assert CanonicalEvent.objects.filter(feed=feed).count() == 4200
    acks = list(record.acknowledgements.values_list("position", "interchange", "accepted"))
    assert acks == [(0, "000000001", True), (1, "000000002", True)]
    ack = client.get(f"/api/v1/files/{record.id}/acknowledgements/0/", HTTP_AUTHORIZATION=admin_auth)
    assert ack["Content-Type"] == "application/edi-x12"
    assert ack.content.startswith(b"ISA*")
    part = RawMessage.objects.filter(file=record).first()
    assert part is not None
    refused = client.get(f"/api/v1/messages/{part.id}/acknowledgement/", HTTP_AUTHORIZATION=admin_auth)
    assert refused.status_code == 404
    assert str(record.id) in refused.json()["detail"]


def test_a_pushed_x12_message_has_its_997(client: Client, admin_auth: str, post_events: Any) -> None:
    from apps.bench.x12_214 import interchanges

    feed = FeedFactory(format="x12", system="tms")
    body = next(interchanges(sets=3, statuses=1, prefix="XP")).encode()
    assert post_events(feed, None, raw=body, content_type="application/edi-x12").status_code == 202
    message = RawMessage.objects.get(feed=feed)
    response = client.get(f"/api/v1/messages/{message.id}/acknowledgement/", HTTP_AUTHORIZATION=admin_auth)
    assert response.status_code == 200
    assert b"AK9*A*3*3*3" in response.content.replace(b"~\n", b"~")
    client.force_login(UserFactory(role="ops_lead"))
    page = client.get(f"/messages/{message.id}/")
    assert b'id="message-ack"' in page.content
    assert client.get(f"/messages/{message.id}/acknowledgement/").status_code == 200


def test_a_signed_feed_cannot_upload_with_its_token_alone(client: Client) -> None:
    feed = FeedFactory(require_signature=True)
    response = upload(client, feed.slug, big_file(3), f"Bearer {feed.credentials.token}")
    assert response.status_code == 403
    assert "requires signed posts" in response.json()["detail"]
    assert IngestFile.objects.count() == 0


def test_a_file_read_whole_is_capped_below_a_streamed_one(client: Client, admin_auth: str, settings: Any) -> None:
    settings.INGEST_FILE_MAX_WHOLE_BYTES = 1000
    feed = FeedFactory()  # canonical-json: read whole
    response = upload(client, feed.slug, big_file(50), admin_auth)
    assert response.status_code == 413
    assert "read whole" in response.json()["detail"]
    x12 = FeedFactory(format="x12", system="tms")  # streamed: the 1 GB cap applies
    from apps.bench.x12_214 import interchanges

    assert upload(client, x12.slug, next(interchanges(sets=30)).encode(), admin_auth).status_code == 202
    assert IngestFile.objects.count() == 1


def test_a_split_taken_over_by_another_worker_stops_writing() -> None:
    from apps.ingestion.files import _claim, file_receive, file_split

    feed = FeedFactory()
    received = file_receive(feed=feed, chunks=[big_file(30)], name="x.json", enqueue=False)
    claimed_at = _claim(received.file.id)
    assert claimed_at is not None
    # the first worker stalls; after SPLIT_ABANDONED_AFTER another one takes the file over
    from datetime import timedelta

    IngestFile.objects.filter(id=received.file.id).update(split_started_at=claimed_at - timedelta(hours=1))
    assert file_split(file_id=received.file.id, enqueue=False) is not None
    record = IngestFile.objects.get(id=received.file.id)
    assert (record.status, record.attempts) == (FileStatus.SPLIT, 2)
    # a third claim is refused: the file is split
    assert file_split(file_id=received.file.id, enqueue=False) is None


def test_a_canonical_json_file_of_the_wrong_shape_is_rejected_as_a_push_would_be(
    client: Client, admin_auth: str, django_capture_on_commit_callbacks: Any
) -> None:
    feed = FeedFactory()
    with django_capture_on_commit_callbacks(execute=True):
        listed = upload(client, feed.slug, orjson.dumps([event(1)]), admin_auth, name="a.json").json()
        extra = upload(client, feed.slug, orjson.dumps({"events": [event(1)], "x": 1}), admin_auth, name="b").json()
        empty = upload(client, feed.slug, b'{"events": []}', admin_auth, name="c.json").json()
    for data in (listed, extra, empty):
        record = IngestFile.objects.get(id=data["file_id"])
        assert record.status == FileStatus.REJECTED
        assert "want one event object" in record.error
    assert RawMessage.objects.count() == 0
