"""`/api/v1/exceptions/…` (http-api.md "Exceptions and SLA").

Reading the queues and acting on a case both need `work_exceptions`, as on the queue page: the
route table of apps/accounts/access.py decides (`RouteAccess`). Bad input is a 400 with the
field's message; an action the case's state does not allow (it is resolved, or was resolved
meanwhile) is a 409. Every action answers with the case."""

import abc
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import RouteAccess
from apps.common.time import parse_iso

from .. import services
from ..models import ExceptionCase
from ..selectors import assignable_users, exception_activity, exception_get, exception_list
from .serializers import (
    ActivitySerializer,
    AssignSerializer,
    CommentSerializer,
    ExceptionSerializer,
    FilterSerializer,
    ResolveSerializer,
    SnoozeSerializer,
)

ROUTE_ACCESS = [RouteAccess]


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ExceptionListApi(generics.ListAPIView):
    """`GET /api/v1/exceptions/?status=open&kind=&queue=&order=&severity=&assignee=&age=&customer=`
    — paginated, most severe first, then most recently seen."""

    permission_classes = ROUTE_ACCESS
    serializer_class = ExceptionSerializer

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        filters = FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        user = self.request.user
        return exception_list(filters=filters.validated_data, viewer=user if isinstance(user, User) else None)


def _case(case_id: int) -> ExceptionCase:
    case = exception_get(case_id=case_id)
    if case is None:
        raise NotFound(f"no exception {case_id}")
    return case


class ExceptionDetailApi(APIView):
    """`GET /api/v1/exceptions/<id>/` — the case with its history (extension)."""

    permission_classes = ROUTE_ACCESS

    @extend_schema(responses={200: ExceptionSerializer})
    def get(self, request: Request, case_id: int) -> Response:
        case = _case(case_id)
        data = dict(ExceptionSerializer(case).data)
        data["activity"] = ActivitySerializer(exception_activity(case=case), many=True).data
        return Response(data)


class _ActionApi(APIView, abc.ABC):
    """Parse the body, call one service, answer with the case as it is now."""

    permission_classes = ROUTE_ACCESS
    input_serializer: type[serializers.Serializer] | None = None

    @abc.abstractmethod
    def act(self, case: ExceptionCase, data: dict[str, Any], actor: User) -> None:
        """The one service call of this action."""

    def post(self, request: Request, case_id: int) -> Response:
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            body = self.input_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = dict(body.validated_data)
        case = _case(case_id)
        assert isinstance(request.user, User)
        try:
            self.act(case, data, request.user)
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field: [message]} if message else [str(exc)]) from exc
        except services.CaseConflict as exc:
            raise Conflict(str(exc)) from exc
        return Response(ExceptionSerializer(_case(case_id)).data)


@extend_schema(request=AssignSerializer, responses={200: ExceptionSerializer})
class ExceptionAssignApi(_ActionApi):
    input_serializer = AssignSerializer

    def act(self, case: ExceptionCase, data: dict[str, Any], actor: User) -> None:
        assignee = None
        if data["assignee"]:
            # The page's rule (forms.resolve_assignee): only someone who may work the queues.
            name = data["assignee"].strip()
            assignee = assignable_users().filter(username=name).first()
            if assignee is None:
                raise ValueError(f"assignee: {name!r} is no active user who works the exception queues")
        services.exception_assign(case=case, assignee=assignee, actor=actor)


@extend_schema(request=None, responses={200: ExceptionSerializer})
class ExceptionAcknowledgeApi(_ActionApi):
    def act(self, case: ExceptionCase, data: dict[str, Any], actor: User) -> None:
        services.exception_acknowledge(case=case, actor=actor)


@extend_schema(request=SnoozeSerializer, responses={200: ExceptionSerializer})
class ExceptionSnoozeApi(_ActionApi):
    input_serializer = SnoozeSerializer

    def act(self, case: ExceptionCase, data: dict[str, Any], actor: User) -> None:
        services.exception_snooze(case=case, until=parse_iso(data["until"], field="until"), actor=actor)


@extend_schema(request=ResolveSerializer, responses={200: ExceptionSerializer})
class ExceptionResolveApi(_ActionApi):
    input_serializer = ResolveSerializer

    def act(self, case: ExceptionCase, data: dict[str, Any], actor: User) -> None:
        services.exception_resolve(case=case, resolution=data["resolution"], actor=actor)


@extend_schema(request=CommentSerializer, responses={200: ExceptionSerializer})
class ExceptionCommentApi(_ActionApi):
    input_serializer = CommentSerializer

    def act(self, case: ExceptionCase, data: dict[str, Any], actor: User) -> None:
        services.exception_comment(case=case, text=data["text"], actor=actor)
