from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import HasCapability
from apps.exceptions.selectors import open_exception_count
from apps.finance.selectors import order_hold_summary

from ..selectors import order_get, search, timeline, unmatched_events

LOOKUP = [HasCapability.of("lookup_orders")]


class SearchApi(APIView):
    """`GET /api/v1/search/?q=<any id>` — every kind of id, aliases included."""

    permission_classes = LOOKUP

    @extend_schema(parameters=[OpenApiParameter("q", str, required=True)], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        hits = search(q=request.query_params.get("q", ""))
        return Response({"results": [{"kind": h.kind, "id": h.id, "orders": h.orders} for h in hits]})


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
    """`GET /api/v1/orders/<order id>/timeline/` — every event of the order, each with `via`."""

    permission_classes = LOOKUP

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, order_key: str) -> Response:
        order = order_get(order_key=order_key)
        if order is None:
            raise NotFound(f"no order {order_key!r}")
        return Response({"order": order.order_key, "events": timeline(order=order)})


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
