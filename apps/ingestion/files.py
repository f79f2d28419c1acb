"""File intake: a partner's file (uploaded in the UI, POSTed as multipart, or given to
`manage.py ingest_file`) kept byte for byte, then split by its feed's format into messages of
at most INGEST_MAX_EVENTS events, each processed by the pipeline like a pushed body.

Memory stays bounded whatever the file's size: the upload is streamed to disk while it is
hashed, and the split reads it back in INGEST_FILE_CHUNK_BYTES chunks through the adapter's
streaming `split` (X12, EDIFACT, CSV and EPCIS XML stream; the JSON formats read the file
whole). Parts are written a few at a time, each flush its own transaction, so the file page
shows progress and a split that dies half way resumes where it was: UNIQUE(file, file_part)
keeps every part once, and the split is deterministic."""

import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F

from apps.accounts.services import audit_record
from apps.common.time import now
from apps.feeds.models import Feed

from . import queue
from .choices import FileStatus, MessageStatus
from .feed_formats import feed_context
from .formats import FORMATS, SplitReport, UnreadableBody
from .models import FileAcknowledgement, IngestFile, RawMessage

logger = logging.getLogger(__name__)

SPLIT_TASK = "ingestion.split_file"
FLUSH_PARTS = 20  # parts written per transaction (progress granularity: at most 20,000 events)
SPLIT_ABANDONED_AFTER = timedelta(minutes=15)  # a split with no progress this long: its worker died
MAX_SPLIT_ATTEMPTS = 3
MAX_FILE_ERRORS = 1000


class SplitTakenOver(Exception):
    """This split stopped beating long enough for another worker to take the file over."""


class FileRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Received:
    file: IngestFile
    created: bool  # False: the same file (same bytes) had been uploaded to this feed before


def file_receive(
    *, feed: Feed, chunks: Iterable[bytes], name: str, actor: object = None, enqueue: bool = True
) -> Received:
    """Stream the file to storage while hashing it; the same bytes uploaded again to the same
    feed are the same file (UNIQUE(feed, sha256)). Queues the split after commit. Raises
    FileRefused(413) past INGEST_FILE_MAX_BYTES, (400) when empty."""
    adapter = FORMATS[feed.format]
    limit = settings.INGEST_FILE_MAX_BYTES if adapter.streams_files else settings.INGEST_FILE_MAX_WHOLE_BYTES
    file_id = uuid.uuid4()
    relative = f"ingest-files/{feed.pk}/{file_id}"
    path = default_storage.path(relative)
    digest, size = hashlib.sha256(), 0
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise FileRefused(413, _too_large(feed.format, limit, adapter.streams_files))
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise FileRefused(400, "the file is empty")
        sha = digest.hexdigest()
        existing = IngestFile.objects.filter(feed=feed, sha256=sha).first()
        if existing is not None:
            os.remove(path)
            return Received(existing, False)
        try:
            with transaction.atomic():
                record = IngestFile.objects.create(
                    id=file_id,
                    feed=feed,
                    name=(os.path.basename(name) or "upload")[:255],
                    content=relative,
                    content_type=FORMATS[feed.format].content_types[0],
                    size=size,
                    sha256=sha,
                    received_at=now(),
                    uploaded_by=actor if isinstance(actor, get_user_model()) else None,
                )
                audit_record(
                    actor=actor,
                    action="file.uploaded",
                    target=f"file:{record.id}",
                    detail={"feed": feed.slug, "name": record.name, "size": size},
                )
                if enqueue:
                    transaction.on_commit(lambda: _enqueue_split(record.id))
        except IntegrityError:  # the same file, uploaded twice at once: the other one won
            os.remove(path)
            return Received(IngestFile.objects.get(feed=feed, sha256=sha), False)
    except BaseException:
        if os.path.exists(path) and not IngestFile.objects.filter(id=file_id).exists():
            os.remove(path)
        raise
    return Received(record, True)


def _too_large(fmt: str, limit: int, streams: bool) -> str:
    if streams:
        return f"file larger than {limit} bytes, the largest file this control tower takes"
    return (
        f"file larger than {limit} bytes: {fmt} files are read whole (JSON/XML documents), so they may be at "
        "most that large; send several smaller files"
    )


def max_upload_bytes(fmt: str) -> int:
    """The largest file a feed of this format may upload (checked before reading the body)."""
    limit: int = settings.INGEST_FILE_MAX_BYTES if FORMATS[fmt].streams_files else settings.INGEST_FILE_MAX_WHOLE_BYTES
    return limit


def _enqueue_split(file_id: uuid.UUID) -> None:
    from celery import current_app

    try:
        current_app.signature(SPLIT_TASK, args=(str(file_id),)).apply_async(queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    except Exception:
        logger.warning("could not enqueue the file's split; the file sweep will", exc_info=True)


def _claim(file_id: uuid.UUID | str) -> datetime | None:
    """Compare-and-set: a received file, or one whose split shows no progress for
    SPLIT_ABANDONED_AFTER (every flush beats `split_started_at`), becomes splitting; each claim
    counts an attempt. Returns the claim's stamp (the owner's proof), None when not claimed."""
    at = now()
    fresh = IngestFile.objects.filter(id=file_id, status=FileStatus.RECEIVED)
    stale = IngestFile.objects.filter(
        id=file_id, status=FileStatus.SPLITTING, split_started_at__lt=at - SPLIT_ABANDONED_AFTER
    )
    claim = {"status": FileStatus.SPLITTING, "split_started_at": at, "attempts": F("attempts") + 1}
    return at if fresh.update(**claim) or stale.update(**claim) else None


def file_split(
    *, file_id: uuid.UUID | str, progress: Callable[[int, int], None] | None = None, enqueue: bool = True
) -> IngestFile | None:
    """Split a received file into messages (queued for the pipeline as they are written).
    Returns the file, or None when another worker has it. `progress(bytes_read, size)`."""
    claimed_at = _claim(file_id)
    if claimed_at is None:
        return None
    record = IngestFile.objects.select_related("feed").get(id=file_id)
    if record.attempts > MAX_SPLIT_ATTEMPTS:
        _finish(record, FileStatus.FAILED, error=f"the split failed {MAX_SPLIT_ATTEMPTS} times; see the worker logs")
        return record
    feed = record.feed
    adapter, ctx = FORMATS[feed.format], feed_context(feed)
    done = set(RawMessage.objects.filter(file=record).values_list("file_part", flat=True))
    report = SplitReport()
    state: dict[str, Any] = {"read": 0, "parts": 0, "events": 0, "acks": 0, "claim": claimed_at, "dropped_errors": 0}

    def chunks() -> Iterator[bytes]:
        with default_storage.open(str(record.content.name), "rb") as handle:
            while chunk := handle.read(settings.INGEST_FILE_CHUNK_BYTES):
                state["read"] += len(chunk)
                yield chunk

    pending: list[RawMessage] = []
    try:
        for part, body in enumerate(adapter.split(chunks(), ctx, max_events=settings.INGEST_MAX_EVENTS, report=report)):
            state["parts"] = part + 1
            known = report.counts[part] if len(report.counts) == part + 1 else None
            count, error = (known, "") if known is not None else _count(adapter, body, ctx)
            state["events"] += count
            if part not in done:
                pending.append(_part_message(record, part, body, count, error))
            if len(pending) >= FLUSH_PARTS:
                _flush(record, pending, state, enqueue, report)
                pending = []
                if progress:
                    progress(state["read"], record.size)
    except UnreadableBody as exc:
        _flush(record, pending, state, enqueue, report)
        _finish(
            record,
            FileStatus.REJECTED,
            error=str(exc),
            errors=_capped(report.errors, state["dropped_errors"]),
            claim=state["claim"],
        )
        logger.info("file rejected: %s", exc, extra={"file": str(record.id)})
        return record
    except SplitTakenOver:
        logger.warning("file split taken over by another worker", extra={"file": str(record.id)})
        return None
    except Exception:
        # Ours, not the partner's (storage, database): back to received for the heal sweep, up
        # to MAX_SPLIT_ATTEMPTS claims; the parts already written stay (UNIQUE(file, part)).
        IngestFile.objects.filter(id=record.id, status=FileStatus.SPLITTING, split_started_at=state["claim"]).update(
            status=FileStatus.RECEIVED
        )
        raise
    _flush(record, pending, state, enqueue, report)
    _finish(
        record,
        FileStatus.SPLIT,
        bytes_read=record.size,
        parts=state["parts"],
        events=state["events"],
        errors=_capped(report.errors, state["dropped_errors"]),
        claim=state["claim"],
    )
    if progress:
        progress(record.size, record.size)
    return record


def _finish(record: IngestFile, status: str, *, claim: datetime | None = None, **fields: Any) -> None:
    """Compare-and-set: only the split that still owns the claim finishes the file."""
    qs = IngestFile.objects.filter(id=record.id, status=FileStatus.SPLITTING)
    if claim is not None:
        qs = qs.filter(split_started_at=claim)
    qs.update(status=status, split_at=now(), **fields)
    record.refresh_from_db()


def _capped(errors: list[str], dropped: int) -> list[str]:
    """A broken file can hold an error per segment: keep the first ones and say how many more."""
    more = dropped + max(0, len(errors) - MAX_FILE_ERRORS)
    return errors[:MAX_FILE_ERRORS] + ([f"… and {more} more envelope errors"] if more else [])


def _count(adapter: Any, body: bytes, ctx: Any) -> tuple[int, str]:
    try:
        return adapter.count(body, ctx), ""
    except UnreadableBody as exc:
        return 0, str(exc)


def _part_message(record: IngestFile, part: int, body: bytes, count: int, error: str) -> RawMessage:
    received_at = now()
    return RawMessage(
        feed_id=record.feed_id,
        body=body,
        content_type=record.content_type,
        received_at=received_at,
        received_count=count,
        file=record,
        file_part=part,
        status=MessageStatus.REJECTED if error else MessageStatus.RECEIVED,
        processed_at=received_at if error else None,
        error=error,
    )


def _flush(
    record: IngestFile, pending: list[RawMessage], state: dict[str, Any], enqueue: bool, report: SplitReport
) -> None:
    """One transaction: the parts so far, the acknowledgements of the interchanges the split has
    passed (then dropped from memory), the progress."""
    acks = [
        FileAcknowledgement(
            file=record,
            position=state["acks"] + n,
            kind=a.kind,
            interchange=a.interchange[:35],
            accepted=a.accepted,
            errors=list(a.errors),
            body=a.body,
        )
        for n, a in enumerate(report.acknowledgements)
    ]
    del report.acknowledgements[:]  # the splitter keeps appending to this same list
    if len(report.errors) > MAX_FILE_ERRORS:  # bounded memory on a file of nothing but errors
        state["dropped_errors"] += len(report.errors) - MAX_FILE_ERRORS
        del report.errors[MAX_FILE_ERRORS:]
    beat = now()
    with transaction.atomic():
        # The heartbeat first: a split that stopped beating for SPLIT_ABANDONED_AFTER may have
        # been taken over by another worker, and then this one stops without writing.
        if not IngestFile.objects.filter(id=record.id, split_started_at=state["claim"]).update(
            bytes_read=state["read"], parts=state["parts"], events=state["events"], split_started_at=beat
        ):
            raise SplitTakenOver(str(record.id))
        if pending:
            RawMessage.objects.bulk_create(pending, ignore_conflicts=True)
        if acks:
            FileAcknowledgement.objects.bulk_create(acks, ignore_conflicts=True)
    state["claim"], state["acks"] = beat, state["acks"] + len(acks)
    if enqueue:  # after the commit (at once when no outer transaction holds this one)
        ids = [m.id for m in pending if m.status == MessageStatus.RECEIVED]
        transaction.on_commit(lambda: _enqueue_all(ids))


def _enqueue_all(ids: list[uuid.UUID]) -> None:
    for message_id in ids:
        queue.enqueue(message_id)


def files_heal() -> int:
    """Beat: queue the split of files left received (the broker was down at upload) or whose
    split was abandoned (its worker died). Returns how many were queued."""
    at = now()
    stuck = list(
        IngestFile.objects.filter(status=FileStatus.RECEIVED, received_at__lt=at - timedelta(minutes=1)).values_list(
            "id", flat=True
        )
    ) + list(
        IngestFile.objects.filter(
            status=FileStatus.SPLITTING, split_started_at__lt=at - SPLIT_ABANDONED_AFTER
        ).values_list("id", flat=True)
    )
    for file_id in stuck:
        _enqueue_split(file_id)
    return len(stuck)
