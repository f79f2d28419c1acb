"""The finance screen (`/finance/`): held invoices with the amount at risk, why each is held and
what would release it, by age; totals per currency; a chart of amount held by reason and age;
CSV export; release by hand. Live: a `hold.changed` refreshes the list (htmx).

Reading needs `view_finance` (finance, admin); releasing or disputing needs
`release_invoice_holds` and goes through the same services as the API (audited)."""

import csv
from typing import Any
from urllib.parse import quote

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.common.time import now
from apps.correlation.selectors import order_get

from .choices import AGE_BUCKETS, HoldOutcome, HoldReason, HoldStatus
from .selectors import HoldFilters, age_bucket, hold_get, hold_list, hold_summary, reconciliation_counts
from .services.holds import HoldConflict, hold_place, hold_release
from .services.reconciliation import facts_read
from .services.snapshots import _cell as spreadsheet_safe

# 25 rows by default: the page and its live refresh stay under 100 ms with 50,000 holds (bench
# holds; 50 rows with a release form each were 100-103 ms at p95); 50 or 100 on request.
PER_PAGE = 25
PER_PAGE_CHOICES = (25, 50, 100)
ORDER_URL_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in a <path:> argument
REASON_LABELS = {str(k): str(v) for k, v in HoldReason.choices}
OUTCOME_LABELS = {str(k): str(v) for k, v in HoldOutcome.choices}
CSV_LIMIT = 200_000


def _filters(request: HttpRequest) -> HoldFilters:
    get = request.GET
    status = get.get("status", HoldStatus.HELD)
    reason = get.get("reason") or None
    age = get.get("age") or None
    return HoldFilters(
        status=status if status in HoldStatus.values else None,
        reason=reason if reason in HoldReason.values else None,
        age=age if age in {name for name, _, _ in AGE_BUCKETS} else None,
        customer=(get.get("customer") or "").strip() or None,
        currency=(get.get("currency") or "").strip().upper()[:3] or None,
        q=(get.get("q") or "").strip() or None,
    )


def _context(request: HttpRequest, filters: HoldFilters) -> dict[str, Any]:
    at = now()
    holds = hold_list(filters, at)
    summary = hold_summary(holds, filters.currency, at)
    per_page = (
        int(request.GET["per_page"]) if request.GET.get("per_page") in {str(n) for n in PER_PAGE_CHOICES} else PER_PAGE
    )
    paginator = Paginator(holds, per_page)
    paginator.count = summary.count  # the summary counted them already (bench holds)
    page = paginator.get_page(request.GET.get("page"))
    # URLs by prefix, not one reverse()/{% url %} per row: fifty rows of tags cost more than the
    # page's queries (bench holds).
    order_url = reverse("order-detail", args=["_"]).removesuffix("_/")
    release_url = reverse("finance-hold-release", args=[0]).removesuffix("0/release/")
    released = filters.status == HoldStatus.RELEASED
    rows = [
        {
            "hold": h,
            "age": age_bucket(h.held_since, at),
            "days": max((at - h.held_since).days, 0),
            "order_url": f"{order_url}{quote(h.order_key, safe=ORDER_URL_SAFE)}/",
            "release_url": f"{release_url}{h.id}/release/",
            # Plain strings: template filters (floatformat, date) per row were most of the render.
            "amount": "" if h.amount is None else f"{h.amount:,.2f} {h.currency}",
            "reason": REASON_LABELS.get(h.reason, h.reason),
            "outcome": OUTCOME_LABELS.get(h.outcome, "") if h.status == HoldStatus.RELEASED else "",
            "when": f"{(h.released_at if released and h.released_at else h.held_since):%Y-%m-%d %H:%M}",
            "released_by": h.released_by.username if h.released_by_id and h.released_by else "",
        }
        for h in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "page": page,
        "rows": rows,
        "totals": summary.totals,
        "chart": summary.chart,
        "filters": filters,
        "status_value": filters.status or "all",
        "reasons": HoldReason.choices,
        "ages": [name for name, _, _ in AGE_BUCKETS],
        "per_page": per_page,
        "per_page_choices": PER_PAGE_CHOICES,
        "query": query.urlencode(),
        "recon": reconciliation_counts(),
        "results_url": reverse("finance-holds"),
    }


@login_required
@permission_required("accounts.view_finance", raise_exception=True)
def holds_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    filters = _filters(request)
    if request.GET.get("format") == "csv":
        return _csv(filters)
    context = _context(request, filters)
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "finance-results" and not htmx.history_restore_request:
        return render(request, "finance/_holds_results.html", context)
    return render(request, "finance/holds.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(filters: HoldFilters) -> StreamingHttpResponse:
    at = now()
    writer = csv.writer(_Echo())
    header = [
        "invoice",
        "order",
        "customer",
        "status",
        "reason",
        "amount",
        "currency",
        "held_since",
        "age_bucket",
        "release_hint",
    ]
    header += ["released_at", "outcome", "posted_while_held"]

    def line(h: Any) -> list[str]:
        amount = "" if h.amount is None else f"{h.amount:.2f}"
        released = h.released_at.isoformat() if h.released_at else ""
        safe = spreadsheet_safe  # partner data (a customer named "=HYPERLINK(…)") is text, not a formula
        return [
            *(safe(h.invoice), safe(h.order_key), safe(h.customer), h.status, h.reason, amount, h.currency),
            *(h.held_since.isoformat(), age_bucket(h.held_since, at), safe(h.release_hint), released, h.outcome),
            "yes" if h.posted_while_held_at else "",
        ]

    def rows() -> Any:
        yield writer.writerow(header)
        for h in hold_list(filters, at)[:CSV_LIMIT].iterator(chunk_size=2000):
            yield writer.writerow(line(h))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="invoice-holds-{at:%Y%m%d-%H%M}.csv"'
    return response


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@login_required
@require_POST
@permission_required("accounts.release_invoice_holds", raise_exception=True)
def hold_release_view(request: HttpRequest, hold_id: int) -> HttpResponse:
    hold = hold_get(hold_id=hold_id)
    if hold is None:
        raise Http404("no such hold")
    assert isinstance(request.user, User)
    try:
        hold_release(hold=hold, actor=request.user, reason=request.POST.get("reason", ""))
    except HoldConflict as exc:
        flash.warning(request, str(exc))
    except ValueError as exc:
        flash.error(request, f"Not released: {str(exc).partition(': ')[2]}.")
    else:
        flash.success(request, f"Invoice {hold.invoice} released.")
    return redirect(_back(request, reverse("finance-holds")))


@login_required
@require_POST
@permission_required("accounts.release_invoice_holds", raise_exception=True)
def hold_place_view(request: HttpRequest, order_key: str) -> HttpResponse:
    order = order_get(order_key=order_key)
    if order is None:
        raise Http404("no such order")
    assert isinstance(request.user, User)
    invoice = request.POST.get("invoice", "").strip()
    try:
        hold_place(
            facts=facts_read([order.order_id])[0],
            invoice_number=invoice,
            actor=request.user,
            reason=request.POST.get("reason", ""),
        )
    except HoldConflict as exc:
        flash.warning(request, str(exc))
    except ValueError as exc:
        flash.error(request, f"Not placed on hold: {str(exc).partition(': ')[2]}.")
    else:
        flash.success(request, f"Invoice {invoice} is on hold (disputed).")
    return redirect(_back(request, reverse("order-detail", args=[order.order_key])))
