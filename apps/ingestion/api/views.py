from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import ApiTokenAuthentication
from apps.accounts.permissions import HasCapability, has_capability
from apps.common.logging import log_context
from apps.feeds.authentication import FeedTokenAuthentication
from apps.feeds.models import Feed
from apps.feeds.services import (
    SIGNATURE_HEADER,
    IngestRefused,
    feed_authenticate,
    rate_limit_check,
    signature_verify,
)

from ..dry_run import dry_run
from ..formats import FORMATS, UnreadableBody
from ..formats.base import TooManyEvents
from ..selectors import dead_letter_list, message_get, message_list
from ..services import message_receive
from .serializers import IngestAcceptedSerializer, MessageStatusSerializer


def _refused(exc: IngestRefused) -> Response:
    response = Response({"detail": exc.detail}, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="feed"'
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


class RawBodyParser(BaseParser):
    """Declares the accepted media types for the schema; the view reads request.body itself."""

    media_type = "*/*"


class IngestApi(APIView):
    """`POST /api/v1/ingest/<feed slug>/` — store the raw body, answer 202, process later."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            202: IngestAcceptedSerializer,
            400: OpenApiResponse(description="nothing could be read (kept as a rejected message)"),
            401: OpenApiResponse(description="bad or missing token or signature"),
            403: OpenApiResponse(description="feed paused, or another feed's token"),
            413: OpenApiResponse(description="body over the feed's size limit or over 1,000 events"),
            415: OpenApiResponse(description="content type not accepted by the feed's format"),
            429: OpenApiResponse(description="over the feed's rate limit; see Retry-After"),
        },
        description="Authorization: Bearer <feed token>; X-CT-Signature when the feed requires it.",
    )
    def post(self, request: Request, slug: str) -> Response:
        with log_context(feed=slug):
            try:
                feed = feed_authenticate(slug=slug, authorization=request.headers.get("Authorization", ""))
                rate_limit_check(feed=feed)
                self._check_size(request, feed)
                content_type = self._check_content_type(request, feed)
                body = request.body
                if len(body) > min(feed.max_body_bytes, settings.INGEST_MAX_BODY_BYTES):
                    raise IngestRefused(413, "body too large")
                signature_verify(feed=feed, header=request.headers.get(SIGNATURE_HEADER), body=body)
            except IngestRefused as exc:
                return _refused(exc)
            try:
                message = message_receive(feed=feed, body=body, content_type=content_type)
            except TooManyEvents as exc:
                return Response({"detail": str(exc)}, status=413)
            except UnreadableBody as exc:
                return Response({"detail": str(exc)}, status=400)
            return Response(IngestAcceptedSerializer(message).data, status=status.HTTP_202_ACCEPTED)

    def _check_size(self, request: Request, feed: Feed) -> None:
        limit = min(feed.max_body_bytes, settings.INGEST_MAX_BODY_BYTES)
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise IngestRefused(413, f"body of {declared} bytes; this feed takes at most {limit}")

    def _check_content_type(self, request: Request, feed: Feed) -> str:
        return content_type_check(request, feed)


def content_type_check(request: Request, feed: Feed) -> str:
    """The request's content type, when the feed's format takes it; else IngestRefused(415)."""
    content_type = request.headers.get("Content-Type", "")
    media = content_type.split(";")[0].strip().lower()
    accepted = FORMATS[feed.format].content_types
    if media not in accepted and not (media.endswith("+json") and "application/json" in accepted):
        raise IngestRefused(415, f"content type {media or 'missing'!r}; this feed takes {', '.join(accepted)}")
    return content_type


class FeedDryRunApi(APIView):
    """`POST /api/v1/feeds/<slug>/dry-run/` — the body as the partner would send it, in the feed's
    format and content type: the canonical events it would produce (each with the orders it would
    land on now), the rejections, and why nothing could be read. Stores nothing. Admins
    (`manage_feeds`)."""

    permission_classes = [HasCapability.of("manage_feeds")]
    parser_classes = [RawBodyParser]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(description='{"events": [...], "rejected": [...], "errors": [...]}'),
            404: OpenApiResponse(description="no such feed"),
            413: OpenApiResponse(description="body over 5 MB"),
            415: OpenApiResponse(description="content type not accepted by the feed's format"),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        feed = Feed.objects.filter(slug=slug).first()
        if feed is None:
            raise NotFound(f"no feed {slug!r}")
        try:
            content_type_check(request, feed)
        except IngestRefused as exc:
            return _refused(exc)
        body = request.body
        if len(body) > settings.INGEST_MAX_BODY_BYTES:
            return Response({"detail": "body too large"}, status=413)
        result = dry_run(feed=feed, body=body)
        return Response({"events": result.events, "rejected": result.rejected, "errors": result.errors})


class MessageStatusApi(APIView):
    """`GET /api/v1/messages/<uuid>/` — a user token (with lookup rights) or the feed's own token."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication, FeedTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MessageStatusSerializer})
    def get(self, request: Request, message_id: str) -> Response:
        message = message_get(message_id=message_id)
        if isinstance(request.auth, Feed):
            # A feed sees only its own messages, and cannot learn whether others exist.
            if message is None or message.feed_id != request.auth.pk:
                raise NotFound("no such message for this feed")
        else:
            if not has_capability(request.user, "lookup_orders"):
                raise PermissionDenied("your role may not read messages")
            if message is None:
                raise NotFound("no such message")
        return Response(MessageStatusSerializer(message).data)


class MessageListApi(generics.ListAPIView):
    """`GET /api/v1/messages/?feed=&status=` — newest first (extension)."""

    serializer_class = MessageStatusSerializer
    permission_classes = [HasCapability.of("view_feeds")]

    def get_queryset(self) -> Any:
        return message_list(
            feed_slug=self.request.query_params.get("feed"), status=self.request.query_params.get("status")
        )


class DeadLetterListApi(generics.ListAPIView):
    """`GET /api/v1/dead-letters/` — messages that failed after every retry (extension)."""

    serializer_class = MessageStatusSerializer
    permission_classes = [HasCapability.of("view_feeds")]

    def get_queryset(self) -> Any:
        return dead_letter_list()
