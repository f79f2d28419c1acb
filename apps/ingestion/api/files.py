"""File intake over the API (docs/api.md "Files"): upload (multipart), the file's progress
and outcome, and the EDI acknowledgements of its interchanges and of pushed messages."""

from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from apps.accounts.authentication import ApiTokenAuthentication
from apps.accounts.permissions import has_capability
from apps.feeds.authentication import FeedTokenAuthentication
from apps.feeds.models import Feed
from apps.feeds.services import IngestRefused, rate_limit_check

from ..feed_formats import feed_context
from ..files import FileRefused, file_receive, max_upload_bytes
from ..formats import FORMATS, UnreadableBody
from ..models import IngestFile
from ..selectors import file_get, file_progress, file_rejections, message_get
from ..uploads import declared_too_large

ACK_CONTENT_TYPES = {"997": "application/edi-x12", "CONTRL": "application/edifact"}


def _retry(exc: IngestRefused) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}


def _may(request: Request, feed: Feed, capability: str) -> bool:
    """A feed's own token, or a user with the capability."""
    if isinstance(request.auth, Feed):
        return bool(request.auth.pk == feed.pk)
    return has_capability(request.user, capability)


def file_data(request: Request, record: IngestFile) -> dict[str, Any]:
    progress = file_progress(file_id=record.id)
    return {
        "file_id": str(record.id),
        "feed": record.feed.slug,
        "name": record.name,
        "size": record.size,
        "sha256": record.sha256,
        "status": record.status,
        "received_at": record.received_at.isoformat(),
        "split_at": record.split_at.isoformat() if record.split_at else None,
        "bytes_read": record.bytes_read,
        "parts": record.parts,
        "events": record.events,
        "error": record.error or None,
        "envelope_errors": record.errors,
        "messages": progress,
        "rejected": file_rejections(file_id=record.id),
        "acknowledgements": [
            {
                "kind": ack.kind,
                "interchange": ack.interchange,
                "accepted": ack.accepted,
                "errors": ack.errors,
                "url": reverse("api-file-ack", args=[record.id, ack.position], request=request),
            }
            for ack in record.acknowledgements.defer("body")
        ],
    }


class FileUploadApi(APIView):
    """`POST /api/v1/feeds/<slug>/files/` (multipart, field `file`) — a file of any size in the
    feed's format, kept and split into messages of at most 1,000 events. The feed's own token or
    an admin (`manage_feeds`). 202 with the file's URL; the same bytes again: 200, the same file."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication, FeedTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
                "required": ["file"],
            }
        },
        responses={
            202: OpenApiResponse(description="stored; being split (see the file's url)"),
            200: OpenApiResponse(description="the same file had been uploaded to this feed before"),
            400: OpenApiResponse(description="no `file` field, or an empty file"),
            403: OpenApiResponse(description="not this feed's token, not an admin, or the feed is paused"),
            413: OpenApiResponse(description="over INGEST_FILE_MAX_BYTES"),
            415: OpenApiResponse(description="not multipart/form-data"),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        feed = Feed.objects.filter(slug=slug).first()
        if feed is None or not _may(request, feed, "manage_feeds"):
            if feed is not None and not isinstance(request.auth, Feed) and has_capability(request.user, "view_feeds"):
                raise PermissionDenied("uploading files needs the admin role")
            raise NotFound(f"no feed {slug!r}")
        if feed.is_paused:
            raise PermissionDenied(f"feed {slug} is paused")
        if isinstance(request.auth, Feed):
            try:
                rate_limit_check(feed=feed)
            except IngestRefused as exc:
                return Response({"detail": exc.detail}, status=exc.status, headers=_retry(exc))
            if feed.require_signature:
                # A multipart body carries no X-CT-Signature over its bytes: a signed feed's files
                # are uploaded by an admin (UI or user token), whose account is the proof.
                raise PermissionDenied(
                    f"feed {slug} requires signed posts; its files are uploaded by an admin (feed page or user token)"
                )
        limit = max_upload_bytes(feed.format)
        if declared_too_large(request.META, limit):
            return Response({"detail": f"file larger than {limit} bytes for a {feed.format} feed"}, status=413)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "a multipart field `file` is required"})
        actor = None if isinstance(request.auth, Feed) else request.user
        try:
            received = file_receive(feed=feed, chunks=upload.chunks(), name=upload.name or "upload", actor=actor)
        except FileRefused as exc:
            return Response({"detail": exc.detail}, status=exc.status)
        received.file.refresh_from_db()
        data = file_data(request, received.file) | {
            "url": reverse("api-file", args=[received.file.id], request=request),
            "duplicate": not received.created,
        }
        return Response(data, status=status.HTTP_202_ACCEPTED if received.created else status.HTTP_200_OK)


class FileApi(APIView):
    """`GET /api/v1/files/<uuid>/` — a file's progress and outcome: its messages by status, the
    events accepted, duplicated and rejected, envelope errors, acknowledgements."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication, FeedTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="no such file")})
    def get(self, request: Request, file_id: str) -> Response:
        record = file_get(file_id=file_id)
        if record is None or not _may(request, record.feed, "view_feeds"):
            raise NotFound("no such file")
        return Response(file_data(request, record))


class FileAckApi(APIView):
    """`GET /api/v1/files/<uuid>/acknowledgements/<n>/` — the n-th interchange's 997 / CONTRL,
    as the EDI document to send back to the partner."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication, FeedTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.STR, 404: OpenApiResponse(description="no such acknowledgement")})
    def get(self, request: Request, file_id: str, n: int) -> HttpResponse:
        record = file_get(file_id=file_id)
        ack = None if record is None else record.acknowledgements.filter(position=n).first()
        if record is None or ack is None or not _may(request, record.feed, "view_feeds"):
            raise NotFound("no such acknowledgement")
        return ack_document(ack.kind, bytes(ack.body), f"{record.name}.{n}.{ack.kind.lower()}")


class MessageAckApi(APIView):
    """`GET /api/v1/messages/<uuid>/acknowledgement/` — the 997 / CONTRL of a pushed X12 or
    EDIFACT message (one per interchange in it, concatenated). A file's parts answer 404 naming
    the file, whose acknowledgements cover the whole interchange."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication, FeedTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.STR, 404: OpenApiResponse(description="none for this message")})
    def get(self, request: Request, message_id: str) -> HttpResponse:
        message = message_get(message_id=message_id)
        if message is None or not _may(request, message.feed, "view_feeds"):
            raise NotFound("no such message")
        if message.file_id is not None:
            raise NotFound(f"this message is part of file {message.file_id}: its acknowledgements are the file's")
        try:
            acks = FORMATS[message.feed.format].acknowledge(bytes(message.body), feed_context(message.feed))
        except UnreadableBody:
            acks = []
        if not acks:
            raise NotFound(f"no acknowledgement: the {message.feed.format} format has none, or nothing was readable")
        return ack_document(acks[0].kind, b"".join(a.body for a in acks), f"{message.id}.{acks[0].kind.lower()}")


def ack_document(kind: str, body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=ACK_CONTENT_TYPES.get(kind, "text/plain"))
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    return response
