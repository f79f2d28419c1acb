"""`/api/v1/sla-policies/` (http-api.md "Exceptions and SLA").

Reading needs `lookup_orders`; creating or changing needs `manage_sla_policies`. Writes go
through the services (validated, audited; evaluated over the open orders by a task queued on
commit, whose progress the answer's `evaluation` tells)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import HasCapability
from apps.common.drf import PageNumberPagination
from apps.common.schema import paginated

from .. import services
from ..models import SlaPolicy
from ..selectors import sla_policy_get, sla_policy_list
from ..services.open_orders import evaluation_progress
from .serializers import SlaPolicySerializer


def _permissions(request: Request) -> list[BasePermission]:
    capability = "lookup_orders" if request.method in ("GET", "HEAD", "OPTIONS") else "manage_sla_policies"
    return [HasCapability.of(capability)()]


def _bad_input(exc: ValueError) -> ValidationError:
    field, _, message = str(exc).partition(": ")
    return ValidationError({field: [message]} if message else [str(exc)])


class SlaPolicyListApi(APIView):
    def get_permissions(self) -> list[BasePermission]:
        return _permissions(self.request)

    @extend_schema(operation_id="v1_sla_policies_list", responses={200: paginated(SlaPolicySerializer)})
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(sla_policy_list(), request, view=self)
        return paginator.get_paginated_response(SlaPolicySerializer(page, many=True).data)

    @extend_schema(request=SlaPolicySerializer, responses={201: SlaPolicySerializer})
    def post(self, request: Request) -> Response:
        body = SlaPolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            policy = services.sla_policy_create(actor=request.user, **_fields(body.validated_data))
        except ValueError as exc:
            raise _bad_input(exc) from exc
        return Response(_with_evaluation(policy), status=status.HTTP_201_CREATED)


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = dict(data)
    if "applies_to" in fields:
        fields["applies_to"] = dict(fields["applies_to"])
    if "deadline" in fields:
        fields["deadline"] = fields["deadline"] or ""
    return fields


def _with_evaluation(policy: SlaPolicy) -> dict[str, Any]:
    """The policy, and how far the evaluation over the open orders got after its last save:
    `{"state": queued|running|done|not_queued|stopped, "orders_total", "orders_evaluated"}`, or
    null when none is known (extension)."""
    progress = evaluation_progress(policy_id=policy.id)
    return {**SlaPolicySerializer(policy).data, "evaluation": progress.as_dict() if progress else None}


def _policy(policy_id: int) -> SlaPolicy:
    policy = sla_policy_get(policy_id=policy_id)
    if policy is None:
        raise NotFound(f"no SLA policy {policy_id}")
    return policy


class SlaPolicyDetailApi(APIView):
    """`GET|PATCH /api/v1/sla-policies/<id>/` (extension). Switching between `within` and
    `deadline` means sending both keys, one of them null."""

    def get_permissions(self) -> list[BasePermission]:
        return _permissions(self.request)

    @extend_schema(responses={200: SlaPolicySerializer})
    def get(self, request: Request, policy_id: int) -> Response:
        return Response(_with_evaluation(_policy(policy_id)))

    @extend_schema(request=SlaPolicySerializer, responses={200: SlaPolicySerializer})
    def patch(self, request: Request, policy_id: int) -> Response:
        policy = _policy(policy_id)
        body = SlaPolicySerializer(policy, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            policy = services.sla_policy_update(policy=policy, actor=request.user, **_fields(body.validated_data))
        except ValueError as exc:
            raise _bad_input(exc) from exc
        return Response(_with_evaluation(policy))
