"""`GET /api/v1/feeds/health/` and `GET /api/v1/feeds/<slug>/health/` — feed health as the
feeds overview and a feed's page show it (apps/ingestion/health.py; docs/feed-health.md).
Durations are in seconds, rates between 0 and 1. Capability `view_feeds`."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import HasCapability
from apps.common.time import now
from apps.feeds.models import Feed

from ..health import FeedHealth, HealthStatus, feed_health_list
from ..health_detail import future_dated_events, top_rejection_reasons

OBJECT = extend_schema_field(OpenApiTypes.OBJECT)
OBJECT_OR_NULL = extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
LIST_OF_OBJECTS = extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})


class CountsSerializer(serializers.Serializer):
    messages = serializers.IntegerField()
    accepted = serializers.IntegerField(help_text="events stored")
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="events rejected (a message nothing could be read from: its events)")
    unreadable = serializers.IntegerField(help_text="messages nothing could be read from")
    dead_letters = serializers.IntegerField(help_text="messages of the window that are now dead letters")
    reject_rate = serializers.FloatField(allow_null=True, help_text="rejected / (accepted + duplicates + rejected)")


class LagSerializer(serializers.Serializer):
    sampled = serializers.IntegerField(help_text="newest events of the window the percentiles are over")
    p50 = serializers.FloatField(allow_null=True, help_text="seconds, received_at - occurred_at")
    p95 = serializers.FloatField(allow_null=True, help_text="seconds")
    max_p95 = serializers.SerializerMethodField(help_text="seconds: above it the feed is lagging")

    def get_max_p95(self, lag: Any) -> float:
        return float(self.context["lag_max"].total_seconds())


class FeedHealthSerializer(serializers.Serializer):
    feed = serializers.CharField(source="feed.slug")
    partner = serializers.CharField(source="feed.partner.name")
    system = serializers.CharField(source="feed.system")
    format = serializers.CharField(source="feed.format")
    transport = serializers.CharField(source="feed.transport")
    status = serializers.ChoiceField(
        choices=HealthStatus.choices,
        help_text="the most serious that applies (paused, failing, silent, lagging, healthy)",
    )
    reasons = serializers.ListField(child=serializers.CharField(), help_text="every finding, most serious first")
    as_of = serializers.DateTimeField(source="at")
    paused_at = serializers.DateTimeField(source="feed.paused_at", allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)
    last_event = serializers.SerializerMethodField()
    silence = serializers.SerializerMethodField()
    last_24h = CountsSerializer(source="day")
    last_hour = CountsSerializer(source="hour")
    events_24h = serializers.IntegerField(help_text="canonical events stored in the last 24 h")
    dead_letters = serializers.IntegerField(
        help_text="dead letters waiting now, whenever received; counted up to 1,000 (1,000 means 1,000 or more)"
    )
    lag = serializers.SerializerMethodField()
    future_dated_24h = serializers.IntegerField(source="future_dated")
    future_tolerance = serializers.SerializerMethodField(help_text="seconds")
    poll = serializers.SerializerMethodField()

    @OBJECT_OR_NULL
    def get_last_event(self, h: FeedHealth) -> dict[str, Any] | None:
        e = h.last_event
        if e is None:
            return None
        return {"event_id": e.event_key, "type": e.type, "occurred_at": e.occurred_at, "received_at": e.received_at}

    @OBJECT
    def get_silence(self, h: FeedHealth) -> dict[str, Any]:
        s = h.silence
        return {
            "threshold": s.threshold.total_seconds(),
            "source": s.source,
            "gaps": s.gaps,
            "gap_p95": s.gap_p95.total_seconds() if s.gap_p95 is not None else None,
            "quiet_since": h.quiet_since,
            "quiet_for": h.silent_for.total_seconds(),
        }

    @OBJECT
    def get_lag(self, h: FeedHealth) -> Any:
        return LagSerializer(h.lag, context={"lag_max": h.lag_max}).data

    def get_future_tolerance(self, h: FeedHealth) -> float:
        return float(h.feed.future_tolerance.total_seconds())

    @OBJECT_OR_NULL
    def get_poll(self, h: FeedHealth) -> dict[str, Any] | None:
        p = h.poll
        if p is None:
            return None
        return {
            "consecutive_failures": p.consecutive_failures,
            "last_status": p.last_status,
            "last_error": p.last_error,
            "last_success_at": p.last_success_at,
            "last_polled_at": p.last_polled_at,
        }


class FeedHealthDetailSerializer(FeedHealthSerializer):
    events_per_hour = serializers.SerializerMethodField()
    top_rejection_reasons = serializers.SerializerMethodField()
    future_dated = serializers.SerializerMethodField()

    @LIST_OF_OBJECTS
    def get_events_per_hour(self, h: FeedHealth) -> list[dict[str, Any]]:
        return [{"hour": hour, "events": n} for hour, n in h.hourly]

    @LIST_OF_OBJECTS
    def get_top_rejection_reasons(self, h: FeedHealth) -> list[dict[str, Any]]:
        reasons, _ = top_rejection_reasons(feed=h.feed, at=h.at)
        return [
            {
                "reason": r.reason,
                "count": r.count,
                "example": r.example,
                "message_id": r.message_id,
                "event_id": r.event_id,
            }
            for r in reasons
        ]

    @OBJECT
    def get_future_dated(self, h: FeedHealth) -> dict[str, Any]:
        return {
            "count": h.future_dated,
            "latest": [
                {
                    "event_id": e.event_key,
                    "type": e.type,
                    "occurred_at": e.occurred_at,
                    "received_at": e.received_at,
                    "ahead": e.ahead.total_seconds(),
                    "due": e.due,
                    "message_id": e.message_id,
                }
                for e in future_dated_events(feed=h.feed, at=h.at)
            ],
        }


STATUS_PARAM = OpenApiParameter(
    "status", OpenApiTypes.STR, enum=HealthStatus.values, description="only the feeds in this status"
)


class FeedHealthListApi(generics.ListAPIView):
    """Every feed's health, the most serious status first, then by slug; paginated."""

    serializer_class = FeedHealthSerializer
    permission_classes = [HasCapability.of("view_feeds")]

    @extend_schema(parameters=[STATUS_PARAM])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Feed.objects.none()  # generating the schema must not compute every feed's health
        status = self.request.query_params.get("status")
        if status and status not in HealthStatus.values:
            raise ValidationError({"status": f"one of {', '.join(HealthStatus.values)}"})
        order = {s: i for i, s in enumerate(HealthStatus.values)}
        rows = [row for row in feed_health_list(at=now()) if not status or row.status == status]
        return sorted(rows, key=lambda row: order[row.status])


class FeedHealthApi(APIView):
    """One feed's health, with its events per hour, top rejection reasons and future-dated events."""

    permission_classes = [HasCapability.of("view_feeds")]

    @extend_schema(responses={200: FeedHealthDetailSerializer})
    def get(self, request: Request, slug: str) -> Response:
        feed = Feed.objects.filter(slug=slug).first()
        if feed is None:
            raise NotFound(f"no feed {slug!r}")
        [health] = feed_health_list(at=now(), feeds=Feed.objects.filter(pk=feed.pk))
        return Response(FeedHealthDetailSerializer(health).data)
