"""`/api/v1/invoice-holds/…` and `/api/v1/orders/<id>/reconciliation/` (http-api.md
"Reconciliation and invoice holds").

Reading holds needs `view_finance`; releasing or placing one needs `release_invoice_holds`
(finance, admin), and is audited. An order's reconciliation is readable by whoever may look
the order up. A release of a hold that is no longer held is a 409."""

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import HasCapability
from apps.common.time import now
from apps.correlation.selectors import order_get

from ..items import hold_item
from ..models import InvoiceHold
from ..selectors import HoldFilters, age_bucket, hold_get, hold_history, hold_list, order_reconciliation
from ..services.holds import HoldConflict, hold_place, hold_release
from ..services.reconciliation import facts_read
from .serializers import (
    HoldActivitySerializer,
    HoldFilterSerializer,
    HoldSerializer,
    PlaceSerializer,
    ReconciliationSerializer,
    ReleaseSerializer,
)

VIEW = [HasCapability.of("view_finance")]
RELEASE = [HasCapability.of("release_invoice_holds")]
LOOKUP = [HasCapability.of("lookup_orders")]


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def hold_payload(hold: InvoiceHold) -> dict[str, Any]:
    return {**hold_item(hold), "age_bucket": age_bucket(hold.held_since, now())}


class _HoldSerializer(HoldSerializer):
    def to_representation(self, instance: InvoiceHold) -> dict[str, Any]:
        return hold_payload(instance)


class HoldListApi(generics.ListCreateAPIView):
    """`GET /api/v1/invoice-holds/?status=held&reason=&age=&customer=&currency=&order=&invoice=`
    — paginated; held ones oldest first. `POST` places a `disputed` hold by hand (extension)."""

    serializer_class = _HoldSerializer

    def get_permissions(self) -> list[Any]:
        return [p() for p in (RELEASE if self.request.method == "POST" else VIEW)]

    @extend_schema(parameters=[HoldFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        filters = HoldFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        order_id = None
        if data.get("order"):
            order = order_get(order_key=data["order"])
            order_id = order.order_id if order is not None else -1
        wanted = data.get("status")
        return hold_list(
            HoldFilters(
                status=None if wanted in (None, "all") else wanted,
                reason=data.get("reason"),
                age=data.get("age"),
                customer=data.get("customer"),
                currency=data.get("currency"),
                q=data.get("invoice"),
                order_id=order_id,
            )
        )

    @extend_schema(request=PlaceSerializer, responses={201: HoldSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = PlaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = order_get(order_key=body.validated_data["order"])
        if order is None:
            raise ValidationError({"order": [f"no order {body.validated_data['order']!r}"]})
        assert isinstance(request.user, User)
        try:
            hold = hold_place(
                facts=facts_read([order.order_id])[0],
                invoice_number=body.validated_data["invoice"].strip(),
                actor=request.user,
                reason=body.validated_data["reason"],
            )
        except HoldConflict as exc:
            raise Conflict(str(exc)) from exc
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field: [message]}) from exc
        return Response(hold_payload(hold), status=status.HTTP_201_CREATED)


def _hold(hold_id: int) -> InvoiceHold:
    hold = hold_get(hold_id=hold_id)
    if hold is None:
        raise NotFound(f"no invoice hold {hold_id}")
    return hold


class HoldDetailApi(APIView):
    """`GET /api/v1/invoice-holds/<id>/` — the hold with its history (extension)."""

    permission_classes = VIEW

    @extend_schema(responses={200: HoldSerializer})
    def get(self, request: Request, hold_id: int) -> Response:
        hold = _hold(hold_id)
        history = HoldActivitySerializer(hold_history(hold_id=hold.id), many=True).data
        return Response({**hold_payload(hold), "history": history})


class HoldReleaseApi(APIView):
    """`POST /api/v1/invoice-holds/<id>/release/` `{"reason": "…"}` — finance or admin; audited."""

    permission_classes = RELEASE

    @extend_schema(request=ReleaseSerializer, responses={200: HoldSerializer})
    def post(self, request: Request, hold_id: int) -> Response:
        hold = _hold(hold_id)
        body = ReleaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assert isinstance(request.user, User)
        try:
            hold = hold_release(hold=hold, actor=request.user, reason=body.validated_data["reason"])
        except HoldConflict as exc:
            raise Conflict(str(exc)) from exc
        except ValueError as exc:
            raise ValidationError({"reason": [str(exc).partition(": ")[2]]}) from exc
        return Response(hold_payload(hold))


class OrderReconciliationApi(APIView):
    """`GET /api/v1/orders/<id>/reconciliation/` — matched, mismatched or pending, as of now,
    with one finding per difference naming its rule."""

    permission_classes = LOOKUP

    @extend_schema(responses={200: ReconciliationSerializer})
    def get(self, request: Request, order_key: str) -> Response:
        order = order_get(order_key=order_key)
        if order is None:
            raise NotFound(f"no order {order_key!r}")
        _, verdict = order_reconciliation(order_id=order.order_id)
        if verdict is None:
            raise NotFound(f"no order {order_key!r}")
        return Response(
            {"order": order.order_key, "status": verdict.status, "findings": [f.as_dict() for f in verdict.findings]}
        )
