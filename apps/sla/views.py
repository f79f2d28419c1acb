"""SLA policy pages. Everyone who looks up orders may read them (as the API's GET); creating,
changing and (de)activating needs `manage_sla_policies` (admins) and goes through the same
services as the API: validated, audited, applied to the orders open at that moment (by a task
after the save: the policy's page shows how far it got)."""

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.common.time import now

from .choices import ExpectationStatus
from .forms import SlaPolicyForm, initial_of
from .models import SlaPolicy
from .selectors import COUNT_WINDOW, policy_counts, policy_expectations, sla_policy_get, sla_policy_list
from .services import sla_policy_create, sla_policy_set_active, sla_policy_update
from .services.open_orders import evaluation_progress

PER_PAGE = 50


def _policy(policy_id: int) -> SlaPolicy:
    policy = sla_policy_get(policy_id=policy_id)
    if policy is None:
        raise Http404("no such SLA policy")
    return policy


@login_required
@permission_required("accounts.lookup_orders", raise_exception=True)
def policy_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(sla_policy_list(), PER_PAGE).get_page(request.GET.get("page"))
    counts = policy_counts(policy_ids=[p.id for p in page], at=now())
    rows = [{"policy": p, "counts": counts[p.id]} for p in page]
    return render(request, "sla/policy_list.html", {"page": page, "rows": rows, "window_days": COUNT_WINDOW.days})


@login_required
@permission_required("accounts.lookup_orders", raise_exception=True)
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = _policy(policy_id)
    status = request.GET.get("status") or None
    if status not in ExpectationStatus.values:
        status = None
    page = Paginator(policy_expectations(policy_id=policy.id, status=status), PER_PAGE).get_page(
        request.GET.get("page")
    )
    evaluation = evaluation_progress(policy_id=policy.id)
    if _htmx_target(request) == "sla-evaluation":
        return render(request, "sla/_evaluation.html", {"policy": policy, "evaluation": evaluation})
    context = {
        "policy": policy,
        "evaluation": evaluation,
        "counts": policy_counts(policy_ids=[policy.id], at=now())[policy.id],
        "window_days": COUNT_WINDOW.days,
        "page": page,
        "statuses": ExpectationStatus.choices,
        "status": status,
    }
    return render(request, "sla/policy_detail.html", context)


def _htmx_target(request: HttpRequest) -> str | None:
    htmx = getattr(request, "htmx", None)
    return htmx.target if htmx else None


def _save(request: HttpRequest, form: SlaPolicyForm, policy: SlaPolicy | None) -> SlaPolicy | None:
    """Run the service; its ValueError ("field: message") becomes a form error."""
    try:
        if policy is None:
            return sla_policy_create(actor=request.user, **form.policy_fields())
        return sla_policy_update(policy=policy, actor=request.user, **form.policy_fields())
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        form.add_error(field if message and field in form.fields else None, message or str(exc))
        return None


@login_required
@permission_required("accounts.manage_sla_policies", raise_exception=True)
def policy_create(request: HttpRequest) -> HttpResponse:
    form = SlaPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        policy = _save(request, form, None)
        if policy is not None:
            flash.success(request, f"Policy {policy.name} created; evaluating the open orders…")
            return redirect("sla-policy-detail", policy_id=policy.id)
    return _form_page(request, form, None)


@login_required
@permission_required("accounts.manage_sla_policies", raise_exception=True)
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = _policy(policy_id)
    form = SlaPolicyForm(request.POST or None, initial=initial_of(policy))
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, policy)
        if saved is not None:
            flash.success(request, f"Policy {saved.name} saved.")
            return redirect("sla-policy-detail", policy_id=saved.id)
        policy.refresh_from_db()
    return _form_page(request, form, policy)


def _form_page(request: HttpRequest, form: SlaPolicyForm, policy: SlaPolicy | None) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "policy": policy}
    return render(request, "sla/policy_form.html", context)


@login_required
@permission_required("accounts.manage_sla_policies", raise_exception=True)
@require_POST
def policy_set_active(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = _policy(policy_id)
    active = request.POST.get("active") == "1"
    if policy.active != active:
        sla_policy_set_active(policy=policy, active=active, actor=request.user)
        if active:
            flash.success(request, f"Policy {policy.name} is active again; evaluating the open orders…")
        else:
            flash.success(request, f"Policy {policy.name} deactivated; its running clocks were cancelled.")
    return redirect("sla-policy-detail", policy_id=policy.id)
