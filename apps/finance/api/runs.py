"""ERP snapshot run endpoints (http-api.md "ERP snapshot runs"). All need `view_finance`.

* `POST /api/v1/reconciliation/runs/` (multipart: `file`, optional `from` / `until` RFC 3339) →
  201 `{"run_id"}`; the run is processed after the commit (in the background with a broker).
  An absent or empty file, or a malformed time, is a 400 naming the field; a file over
  `MAX_UPLOAD_BYTES` a 413. A file that is not UTF-8 or lacks a header column is accepted and
  its run fails with the reason (`status: failed`, `failure`).
* `GET .../runs/` the runs, newest first (paginated, without errors and findings);
* `GET .../runs/<id>/` the contract's shape: `findings` holds the first `FINDINGS_INLINE`
  findings, `errors` the stored errors (at most 1,000); the extensions `findings_count`,
  `error_count`, `filename`, `created_at`, `finished_at`, `rows_done`, `failure` follow;
* `GET .../runs/<id>/findings/` all findings, paginated (`?rule=`, `?order=`);
* `GET .../runs/<id>/report.csv` the report (services.snapshots.snapshot_report_rows); 409 while
  the run is running."""

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import HasCapability
from apps.common.drf import PageNumberPagination
from apps.common.schema import paginated
from apps.common.time import parse_iso

from ..choices import RunStatus
from ..models import SnapshotFinding, SnapshotRun
from ..services.snapshots import (
    MAX_UPLOAD_BYTES,
    RULES,
    snapshot_findings,
    snapshot_report_rows,
    snapshot_run_create,
    snapshot_run_get,
    snapshot_run_list,
)

FINANCE = [HasCapability.of("view_finance")]
FINDINGS_INLINE = 100
_when = serializers.DateTimeField()


class Rfc3339Field(serializers.DateTimeField):
    """An RFC 3339 time: an offset (or Z) is required, unlike DRF's ISO 8601 parsing."""

    def to_internal_value(self, value: Any) -> datetime:
        try:
            return parse_iso(str(value))
        except ValueError as exc:
            raise ValidationError(
                f"not an RFC 3339 time with an offset (e.g. 2026-11-01T00:00:00Z): {value!r}"
            ) from exc


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class UploadField(serializers.FileField):
    """A file part of a multipart body (drf-spectacular would describe a FileField as a URI)."""


# `from` is a keyword: the serializers are built with type(). The window's fields are validated
# apart from the file (which the view checks itself, for the 413 and the empty-file message).
_WINDOW = {
    "from": Rfc3339Field(required=False, help_text="missing_in_snapshot: orders created at or after this time"),
    "until": Rfc3339Field(required=False, help_text="missing_in_snapshot: orders created before this time"),
}
RunWindowSerializer = type("RunWindowSerializer", (serializers.Serializer,), dict(_WINDOW))
RunUploadSerializer = type(
    "RunUploadSerializer",
    (serializers.Serializer,),
    {
        "file": UploadField(help_text="the ERP export: CSV, UTF-8, header order,status,invoice,amount,…"),
        **{name: Rfc3339Field(required=False, help_text=field.help_text) for name, field in _WINDOW.items()},
    },
)


class RunCreatedSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()


class RunErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="the row's number in the file (the header is row 1)")
    error = serializers.CharField()


class SnapshotFindingSerializer(serializers.Serializer):
    order = serializers.CharField()
    rule = serializers.ChoiceField(choices=list(RULES))
    detail = serializers.CharField()


class RunSummarySerializer(serializers.Serializer):
    """A run in the list (without errors and findings)."""

    run_id = serializers.IntegerField()
    # Not an enum here: one component with the run's statuses keeps the enum's name RunStatusEnum.
    status = serializers.CharField(help_text="running, done or failed")
    rows = serializers.IntegerField()
    orders = serializers.IntegerField()
    matched = serializers.IntegerField()
    mismatched = serializers.IntegerField()
    missing_in_tower = serializers.IntegerField()
    missing_in_snapshot = serializers.IntegerField(allow_null=True, help_text="null: no from / until given")
    error_count = serializers.IntegerField()
    filename = serializers.CharField()
    uploaded_by = serializers.CharField(allow_null=True)
    window_from = serializers.DateTimeField(allow_null=True)
    window_until = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    rows_done = serializers.IntegerField()
    failure = serializers.CharField()


class RunSerializer(serializers.Serializer):
    """http-api.md "ERP snapshot runs"; the fields after `findings` are extensions."""

    run_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    rows = serializers.IntegerField()
    orders = serializers.IntegerField()
    matched = serializers.IntegerField()
    mismatched = serializers.IntegerField()
    missing_in_tower = serializers.IntegerField()
    missing_in_snapshot = serializers.IntegerField(allow_null=True, help_text="null: no from / until given")
    errors = RunErrorSerializer(  # type: ignore[assignment]  # a field named like Serializer.errors: schema only
        many=True, help_text="the rows left out (the first 1,000; error_count counts all)"
    )
    findings = SnapshotFindingSerializer(many=True, help_text=f"the first {FINDINGS_INLINE} (all: findings/)")
    findings_count = serializers.IntegerField()
    error_count = serializers.IntegerField()
    filename = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    rows_done = serializers.IntegerField(help_text="progress while running (of rows)")
    failure = serializers.CharField(help_text="why the whole run failed ('' unless failed)")


def _time(value: datetime | None) -> str | None:
    return None if value is None else str(_when.to_representation(value))


def run_summary(run: SnapshotRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "status": run.status,
        "rows": run.rows,
        "orders": run.orders,
        "matched": run.matched,
        "mismatched": run.mismatched,
        "missing_in_tower": run.missing_in_tower,
        "missing_in_snapshot": run.missing_in_snapshot,
        "error_count": run.error_count,
        "filename": run.filename,
        "uploaded_by": run.uploaded_by.get_username() if run.uploaded_by else None,
        "window_from": _time(run.window_from),
        "window_until": _time(run.window_until),
        "created_at": _time(run.created_at),
        "finished_at": _time(run.finished_at),
        "rows_done": run.rows_done,
        "failure": run.failure,
    }


def finding_json(finding: Any) -> dict[str, str]:
    return {"order": finding.order_key, "rule": finding.rule, "detail": finding.detail}


CONTRACT_COUNTS = ("run_id", "status", "rows", "orders", "matched", "mismatched", "missing_in_tower")


def run_json(run: SnapshotRun) -> dict[str, Any]:
    """GET /api/v1/reconciliation/runs/<id>/ (also `reconcile_snapshot --json`): the contract's
    keys in its order, then the extensions (run_summary's and findings_count)."""
    findings = snapshot_findings(run.id)
    summary = run_summary(run)
    head = {k: summary.pop(k) for k in (*CONTRACT_COUNTS, "missing_in_snapshot")}
    return {
        **head,
        "errors": [{"row": e["row"], "error": e["error"]} for e in run.errors],
        "findings": [finding_json(f) for f in findings[:FINDINGS_INLINE]],
        "findings_count": findings.count(),
        **summary,
    }


def _run(run_id: int) -> SnapshotRun:
    run = snapshot_run_get(run_id)
    if run is None:
        raise NotFound(f"no snapshot run {run_id}")
    return run


class RunListApi(APIView):
    permission_classes = FINANCE
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="v1_reconciliation_runs_list", responses={200: paginated(RunSummarySerializer)})
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page: list[SnapshotRun] | None = paginator.paginate_queryset(snapshot_run_list(), request, view=self)
        return paginator.get_paginated_response([run_summary(r) for r in page or []])

    @extend_schema(
        request={"multipart/form-data": RunUploadSerializer},
        responses={
            201: RunCreatedSerializer,
            400: OpenApiResponse(description="no file, an empty file, or a malformed from / until"),
            413: OpenApiResponse(description=f"a file over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"),
        },
    )
    def post(self, request: Request) -> Response:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > MAX_UPLOAD_BYTES + 64 * 1024:
            return _too_large()
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["required: the ERP export as a multipart file field named 'file'"]})
        if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
            return _too_large()
        if not upload.size:
            raise ValidationError({"file": ["the file is empty: upload the ERP export (CSV with a header row)"]})
        data: Any = request.data
        fields = RunWindowSerializer(data={k: data[k] for k in ("from", "until") if data.get(k)})
        fields.is_valid(raise_exception=True)
        window_from, window_until = fields.validated_data.get("from"), fields.validated_data.get("until")
        if window_from and window_until and window_until <= window_from:
            raise ValidationError({"until": ["must be after from"]})
        run = snapshot_run_create(
            body=upload.read(),
            filename=upload.name or "",
            uploaded_by=request.user if isinstance(request.user, User) else None,
            window_from=window_from,
            window_until=window_until,
        )
        return Response({"run_id": run.id}, status=status.HTTP_201_CREATED)


def _too_large() -> Response:
    limit = MAX_UPLOAD_BYTES // (1024 * 1024)
    return Response({"detail": f"file too large: at most {limit} MB"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


class RunDetailApi(APIView):
    permission_classes = FINANCE

    @extend_schema(responses={200: RunSerializer})
    def get(self, request: Request, run_id: int) -> Response:
        return Response(run_json(_run(run_id)))


class RunFindingsApi(APIView):
    permission_classes = FINANCE

    @extend_schema(
        parameters=[
            OpenApiParameter("rule", str, enum=list(RULES), description="only this rule's findings"),
            OpenApiParameter("order", str, description="only this order's findings"),
        ],
        responses={200: paginated(SnapshotFindingSerializer)},
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = _run(run_id)
        rule = request.query_params.get("rule") or None
        if rule is not None and rule not in RULES:
            raise ValidationError({"rule": [f"one of {', '.join(RULES)}"]})
        findings = snapshot_findings(run.id, rule=rule, order=request.query_params.get("order") or None)
        paginator = PageNumberPagination()
        page: list[SnapshotFinding] | None = paginator.paginate_queryset(findings, request, view=self)
        return paginator.get_paginated_response([finding_json(f) for f in page or []])


class _Echo:
    def write(self, value: str) -> str:
        return value


def report_response(run: SnapshotRun) -> StreamingHttpResponse:
    """The run's report as a CSV download (the API's and the page's)."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        for row in snapshot_report_rows(run):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="snapshot-run-{run.id}-report.csv"'
    return response


class CsvRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; an error body is its detail as text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        return f"{detail}\n".encode()


class RunReportApi(APIView):
    permission_classes = FINANCE
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="order,result,rule,detail"),
            409: OpenApiResponse(description="the run is still running"),
        }
    )
    def get(self, request: Request, run_id: int) -> Any:
        run = _run(run_id)
        if run.status == RunStatus.RUNNING:
            return Response({"detail": "the run is still running: try again when it is done"}, status=409)
        return report_response(run)
