"""ERP snapshot run pages (http-api.md "ERP snapshot runs", the same services as the API).

`/finance/runs/` is the upload form and the history of runs; a POST creates a run and goes to
its page. `/finance/runs/<id>/` shows the counts, the rows left out and the findings (filtered by
rule, paginated); while the run is running its live part re-fetches itself every 2 s (htmx) until
the run is done. `/finance/runs/<id>/report.csv` is the report. All need `view_finance`."""

from datetime import UTC, datetime
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from apps.common.time import parse_iso

from .api.runs import report_response
from .choices import RunStatus
from .models import SnapshotRun
from .services.snapshots import (
    MAX_UPLOAD_BYTES,
    RULES,
    snapshot_findings,
    snapshot_run_create,
    snapshot_run_get,
    snapshot_run_list,
)

PER_PAGE = 50
RULE_LABELS = {
    "status": "Status",
    "invoice": "Invoice",
    "amount": "Amount",
    "quantity": "Quantity",
    "missing_in_tower": "Missing in the control tower",
    "missing_in_snapshot": "Missing in the snapshot",
}


def _window_time(raw: str, field: str) -> datetime | None:
    """RFC 3339, or a browser's datetime-local value (no offset), read as UTC."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return parse_iso(raw, field=field)
    except ValueError:
        pass
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{field}: not a time: {raw!r} (e.g. 2026-11-01T00:00:00Z)") from None
    return naive.replace(tzinfo=UTC) if naive.tzinfo is None else naive


def _upload(request: HttpRequest) -> SnapshotRun | None:
    """Create a run from the posted form, or flash why not."""
    upload = request.FILES.get("file")
    if upload is None:
        flash.error(request, "Choose the ERP export (a CSV file) to upload.")
        return None
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        flash.error(request, f"{upload.name} is too large: at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        return None
    if not upload.size:
        flash.error(request, f"{upload.name} is empty: upload the ERP export (CSV with a header row).")
        return None
    try:
        window_from = _window_time(request.POST.get("from", ""), "from")
        window_until = _window_time(request.POST.get("until", ""), "until")
    except ValueError as exc:
        flash.error(request, str(exc))
        return None
    if window_from and window_until and window_until <= window_from:
        flash.error(request, "until: must be after from.")
        return None
    user = request.user if isinstance(request.user, User) else None
    return snapshot_run_create(
        body=upload.read(),
        filename=upload.name or "",
        uploaded_by=user,
        window_from=window_from,
        window_until=window_until,
    )


@login_required
@permission_required("accounts.view_finance", raise_exception=True)
def run_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        run = _upload(request)
        if run is None:
            return redirect("finance-runs")
        flash.success(request, f"Run {run.id} started: {run.filename or 'the file'} is being compared.")
        return redirect("finance-run-detail", run_id=run.id)
    page = Paginator(snapshot_run_list(), PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
    return render(request, "finance/runs.html", context)


def _live_context(request: HttpRequest, run: SnapshotRun) -> dict[str, Any]:
    rule = request.GET.get("rule") or ""
    if rule not in RULES:
        rule = ""
    findings = snapshot_findings(run.id, rule=rule or None)
    page = Paginator(findings, PER_PAGE).get_page(request.GET.get("page"))
    by_rule = dict(snapshot_findings(run.id).order_by().values_list("rule").annotate(n=Count("id")))
    running = run.status == RunStatus.RUNNING
    return {
        "run": run,
        "running": running,
        "percent": int(100 * run.rows_done / run.rows) if run.rows else 0,
        "page": page,
        "rule": rule,
        "rules": [(name, RULE_LABELS[name], by_rule.get(name, 0)) for name in RULES],
        "findings_total": sum(by_rule.values()),
        "errors_hidden": max(run.error_count - len(run.errors), 0),
        # Orders of findings that the control tower knows: their keys link to the order page.
        "known_rules": {"status", "invoice", "amount", "quantity", "missing_in_snapshot"},
    }


@login_required
@permission_required("accounts.view_finance", raise_exception=True)
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = snapshot_run_get(run_id)
    if run is None:
        raise Http404("no such snapshot run")
    context = _live_context(request, run)
    htmx = request.htmx  # type: ignore[attr-defined]
    template = "finance/run_detail.html"
    if htmx and not htmx.history_restore_request:
        template = "finance/_run_findings.html" if htmx.target == "run-findings" else "finance/_run_live.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@login_required
@permission_required("accounts.view_finance", raise_exception=True)
def run_report(request: HttpRequest, run_id: int) -> HttpResponseBase:
    run = snapshot_run_get(run_id)
    if run is None:
        raise Http404("no such snapshot run")
    if run.status == RunStatus.RUNNING:
        flash.info(request, f"Run {run.id} is still running: its report is ready when it is done.")
        return redirect("finance-run-detail", run_id=run.id)
    return report_response(run)
