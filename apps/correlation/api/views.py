from typing import Any

from django.utils.encoding import escape_uri_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import HasCapability
from apps.exceptions.selectors import open_exception_count
from apps.finance.selectors import order_hold_summary

from ..selectors import (
    TIMELINE_LIMIT,
    TIMELINE_MAX_LIMIT,
    TimelineKey,
    order_get,
    search,
    timeline_window,
    unmatched_events,
)

LOOKUP = [HasCapability.of("lookup_orders")]


class SearchApi(APIView):
    """`GET /api/v1/search/?q=<any id>` — every kind of id, aliases included. Each hit lists at
    most SEARCH_ORDERS of its orders (`orders_page=` for the next ones) and `orders_total`."""

    permission_classes = LOOKUP

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("orders_page", {"type": "integer", "minimum": 1}),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        page = _positive_int(request, "orders_page", default=1)
        hits = search(q=request.query_params.get("q", ""), orders_page=page)
        return Response(
            {
                "results": [
                    {"kind": h.kind, "id": h.id, "orders": h.orders, "orders_total": h.orders_total} for h in hits
                ]
            }
        )


def _positive_int(request: Request, name: str, *, default: int, most: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1 or (most is not None and int(raw) > most):
        bound = f" up to {most}" if most is not None else ""
        raise ValidationError({name: [f"a whole number from 1{bound}"]})
    return int(raw)


def order_payload(order: Any) -> dict[str, Any]:
    return {
        "order": order.order_key,
        "stage": order.stage or None,
        "partial": order.partial,
        "customer": order.customer or None,
        "service_level": order.service_level or None,
        "promised_by": order.promised_by,
        "eta": order.eta,
        "eta_feed": order.eta_feed or None,
        "systems": order.systems,
        "shipments": order.shipments,
        "warehouse_tasks": order.warehouse_tasks,
        "aliases": order.aliases,
        "pod": order.pod,
        "on_hold": order.on_hold,
        "open_exceptions": open_exception_count(order_id=order.order_id),
        "invoice_hold": order_hold_summary(order_id=order.order_id),
        "event_count": order.event_count,
        "last_event_at": order.last_event_at,
    }


class OrderApi(APIView):
    """`GET /api/v1/orders/<order id>/` — where the order really is, and what each system says."""

    permission_classes = LOOKUP

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, order_key: str) -> Response:
        order = order_get(order_key=order_key)
        if order is None:
            raise NotFound(f"no order {order_key!r}")
        return Response(order_payload(order))


class TimelineApi(APIView):
    """`GET /api/v1/orders/<order id>/timeline/` — the order's events, each with `via`, oldest
    first, `limit` at a time (default TIMELINE_LIMIT); `next` is the URL of the following ones
    (with `after=<cursor>`), null at the end."""

    permission_classes = LOOKUP

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": TIMELINE_MAX_LIMIT}),
            OpenApiParameter("after", str),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, order_key: str) -> Response:
        limit = _positive_int(request, "limit", default=TIMELINE_LIMIT, most=TIMELINE_MAX_LIMIT)
        after = None
        if request.query_params.get("after"):
            try:
                after = TimelineKey.decode(request.query_params["after"])
            except ValueError as exc:
                raise ValidationError({"after": [str(exc)]}) from exc
        order = order_get(order_key=order_key)
        if order is None:
            raise NotFound(f"no order {order_key!r}")
        window = timeline_window(order=order, limit=limit, after=after)
        following = None
        if window.newer is not None:
            query = request.query_params.copy()
            query["after"] = window.newer.encode()
            # request.path is decoded: an order id's "?", "#" or "%" must be escaped again.
            following = request.build_absolute_uri(f"{escape_uri_path(request.path)}?{query.urlencode()}")
        return Response({"order": order.order_key, "events": window.events, "next": following})


class UnmatchedEventSerializer(serializers.Serializer):
    event_id = serializers.CharField(source="event_key")
    type = serializers.CharField()
    feed = serializers.CharField(source="feed.slug")
    system = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    refs = serializers.JSONField()


class UnmatchedEventListApi(generics.ListAPIView):
    """`GET /api/v1/unmatched-events/` — events not (yet) on any order's timeline (extension)."""

    permission_classes = LOOKUP
    serializer_class = UnmatchedEventSerializer

    def get_queryset(self) -> Any:
        return unmatched_events()
