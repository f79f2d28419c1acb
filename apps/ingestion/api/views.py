import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from redis.exceptions import RedisError
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import ApiTokenAuthentication
from apps.accounts.permissions import HasCapability, RouteAccess, withheld_fields
from apps.common.logging import log_context
from apps.common.ratelimit import INGEST_TOKEN_PER_IP, client_ip
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

logger = logging.getLogger(__name__)

# A database outage (a restart, a failover) lasts seconds: the partner sends the body again then.
DATABASE_DOWN_RETRY_AFTER_S = 5


def _unless_cache_down[T](what: str, call: Callable[[], T]) -> T | None:
    """The throttles count in the cache (Redis). With Redis down a message can still be stored
    durably (PostgreSQL) and enqueued by the heal sweep once the broker is back, so intake stays
    open, unthrottled for the outage, rather than answering every partner a 500."""
    try:
        return call()
    except RedisError:
        logger.warning("%s not checked: the cache is unavailable", what, exc_info=True)
        return None


def _refused(exc: IngestRefused) -> Response:
    response = Response({"detail": exc.detail}, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="feed"'
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def _feed_authenticate_throttled(request: Request, slug: str) -> Feed:
    """feed_authenticate, behind the failed-token limit per client address (docs/api.md): an
    address that failed too often is refused (429) before its token is even looked at."""
    address = client_ip(request)
    wait = _unless_cache_down("failed-token limit", lambda: INGEST_TOKEN_PER_IP.retry_after(address))
    if wait is not None:
        raise IngestRefused(429, "too many failed feed tokens from this address; try again later", retry_after=wait)
    try:
        return feed_authenticate(slug=slug, authorization=request.headers.get("Authorization", ""))
    except IngestRefused as exc:
        # A wrong, expired or missing token; or a valid one sent to a feed that does not exist.
        if exc.status == 401 or not Feed.objects.filter(slug=slug).exists():
            _unless_cache_down("failed-token count", lambda: INGEST_TOKEN_PER_IP.fail(address))
        raise


class RawBodyParser(BaseParser):
    """Declares the accepted media types for the schema; the view reads request.body itself."""

    media_type = "*/*"


class IngestApi(APIView):
    """`POST /api/v1/ingest/<feed slug>/` — store the raw body, answer 202, process later."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []  # limited per feed instead, and per address on failed tokens
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
            429: OpenApiResponse(
                description="over the feed's rate limit, or too many failed tokens from this address; see Retry-After"
            ),
            503: OpenApiResponse(description="the database is unavailable: nothing stored; see Retry-After"),
        },
        description="Authorization: Bearer <feed token>; X-CT-Signature when the feed requires it.",
    )
    def post(self, request: Request, slug: str) -> Response:
        with log_context(feed=slug):
            try:
                return self._receive(request, slug)
            except (OperationalError, InterfaceError):
                # Nothing was stored (the message's INSERT commits or not): a clear "send it again"
                # rather than a 500 the partner cannot tell from a bug.
                logger.warning("ingest refused: the database is unavailable", exc_info=True)
                response = Response(
                    {"detail": "the database is unavailable; nothing was stored, send it again"},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE,
                )
                response["Retry-After"] = str(DATABASE_DOWN_RETRY_AFTER_S)
                return response

    def _receive(self, request: Request, slug: str) -> Response:
        try:
            feed = _feed_authenticate_throttled(request, slug)
            _unless_cache_down("rate limit", lambda: rate_limit_check(feed=feed))
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
    """`GET /api/v1/messages/<uuid>/` — a user token with `lookup_orders`, or the feed's own token
    (apps/accounts/access.py). The rejections and the error are a feed's detail: a user sees them
    with `view_feeds` (as on the message page), the feed's own token always."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication, FeedTokenAuthentication]
    permission_classes = [RouteAccess]

    @extend_schema(responses={200: MessageStatusSerializer})
    def get(self, request: Request, message_id: str) -> Response:
        message = message_get(message_id=message_id)
        if isinstance(request.auth, Feed):
            # A feed sees only its own messages, and cannot learn whether others exist.
            if message is None or message.feed_id != request.auth.pk:
                raise NotFound("no such message for this feed")
        elif message is None:
            raise NotFound("no such message")
        data = dict(MessageStatusSerializer(message).data)
        for name in withheld_fields(request):
            data.pop(name, None)
        return Response(data)


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
