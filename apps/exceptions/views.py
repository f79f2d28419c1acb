"""The exception queue page: everything that needs a person, once, worst first.

`/exceptions/` is the filter bar, the results (tabs, table, pager) and a detail panel. htmx swaps
the results (`#queue-results`) when a filter changes, a page is turned or a live message says
something changed, and the panel (`#case-panel`) when a row is opened. Every URL also renders a
whole page, so a view can be shared and works without JavaScript.

Actions are POSTs that call the services (compare-and-set, history, audit). A refusal (the case
was resolved by someone else meanwhile, a bad input) is shown in place, never as an error page;
after a change the response tells the page (`HX-Trigger: queue:changed`) to re-fetch the results."""

import json
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.common.time import now

from .choices import ExceptionKind, Severity
from .display import (
    KIND_LABELS,
    QUEUE_LABELS,
    activity_rows,
    age_text,
    bulk_summary,
    conflict_text,
    count_text,
    queue_rows,
)
from .forms import (
    QUEUE_ALL,
    QUEUE_MINE,
    QUEUE_TABS,
    SNOOZE_CHOICES,
    STATUS_CHOICES,
    AssignForm,
    BulkForm,
    CommentForm,
    QueueFilterForm,
    ResolveForm,
    SnoozeForm,
)
from .models import ExceptionCase
from .selectors import (
    AGE_CHOICES,
    ASSIGNEE_ME,
    ASSIGNEE_NONE,
    assignable_users,
    exception_activity,
    exception_get,
    exception_list,
    exception_order_context,
    exception_queue_counts,
    queue_default,
)
from .services import (
    CaseConflict,
    exception_acknowledge,
    exception_assign,
    exception_comment,
    exception_resolve,
    exception_snooze,
)
from .services.bulk import BulkResult, exceptions_bulk

WORK = "accounts.work_exceptions"
PAGE_SIZE = 50
RESULTS_ID = "queue-results"
ACTIONS: tuple[str, ...] = ("assign", "acknowledge", "snooze", "resolve", "comment")
ACTION_DONE: dict[str, str] = {
    "assign": "Assigned",
    "acknowledge": "Acknowledged",
    "snooze": "Snoozed",
    "resolve": "Resolved",
    "comment": "Comment added",
}


class _CountedPaginator(Paginator):
    """A paginator told its count: the tab counts already hold it, so no second COUNT(*)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required ran first
    return request.user


def _htmx(request: HttpRequest) -> Any:
    return request.htmx  # type: ignore[attr-defined]


def _fragment_for(request: HttpRequest, target: str) -> bool:
    """An htmx request for one part of the page (a history restore needs the whole page)."""
    htmx = _htmx(request)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


# --- the queue ------------------------------------------------------------------------------


@login_required
@permission_required(WORK, raise_exception=True)
@require_GET
def exception_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = QueueFilterForm(request.GET, role_queue=queue_default(user=user))
    context = _results_context(request, form, user)
    if _fragment_for(request, RESULTS_ID):
        context["oob_counts"] = True  # the tab counts live in the filter bar, outside the swap
        response = render(request, "exceptions/_results.html", context)
    else:
        context.update(
            form=form,
            status_choices=STATUS_CHOICES,
            kind_choices=ExceptionKind.choices,
            severity_choices=Severity.choices,
            age_choices=AGE_CHOICES,
            snooze_choices=SNOOZE_CHOICES,
            workers=list(assignable_users()),
            assignee_me=ASSIGNEE_ME,
            assignee_none=ASSIGNEE_NONE,
        )
        response = render(request, "exceptions/queue.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _results_context(request: HttpRequest, form: QueueFilterForm, user: User) -> dict[str, Any]:
    filters = form.filters()
    counts = exception_queue_counts(filters=filters, viewer=user)
    tab = form.tab
    queue = form.queue_of(tab)
    total, total_capped = counts.of(queue)
    page: Page[ExceptionCase] = _CountedPaginator(
        exception_list(filters=filters, viewer=user), PAGE_SIZE, count=total
    ).get_page(request.GET.get("page"))
    at = now()
    tabs = [
        {
            "value": value,
            "label": label,
            "count": count_text(*counts.of(form.queue_of(value))),
            "note": QUEUE_LABELS.get(form.role_queue or "", "every queue") if value == QUEUE_MINE else "",
        }
        for value, label in QUEUE_TABS
    ]
    return {
        "page": page,
        "total": total,
        "total_text": count_text(total, total_capped),
        "rows": queue_rows(list(page.object_list), at),
        "tab": tab,
        "tabs": tabs,
        "queue": queue,
        "queue_label": QUEUE_LABELS.get(queue or "", "all queues"),
        "narrowed": form.narrowed,
        "current": {name: form.value(name) for name in ("status", "kind", "severity", "assignee", "age", "customer")},
        "results_url": request.get_full_path(),
        "kind_labels": KIND_LABELS,
        "now": at,
        "is_all": tab == QUEUE_ALL,
    }


# --- one case -------------------------------------------------------------------------------


def _case_or_404(case_id: int) -> ExceptionCase:
    case = exception_get(case_id=case_id)
    if case is None:
        raise Http404("no such exception")
    return case


def _panel_context(request: HttpRequest, case: ExceptionCase, **extra: Any) -> dict[str, Any]:
    at = now()
    context: dict[str, Any] = {
        "case": case,
        "kind_label": KIND_LABELS.get(case.kind, case.kind),
        "queue_label": QUEUE_LABELS.get(case.queue, case.queue),
        "age": age_text(at - case.opened_at),
        "activity": activity_rows(list(exception_activity(case=case))),
        "around": exception_order_context(case=case),
        "subject_id": case.subject.partition(":")[2],
        "workers": list(assignable_users()),
        "snooze_choices": SNOOZE_CHOICES,
        "resolved": case.current_status == "resolved",  # type: ignore[attr-defined]
        "forms": {
            "assign": AssignForm(actor=_user(request)),
            "snooze": SnoozeForm(),
            "resolve": ResolveForm(),
            "comment": CommentForm(),
        },
        "now": at,
    }
    context.update(extra)
    return context


@login_required
@permission_required(WORK, raise_exception=True)
@require_GET
def exception_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_or_404(case_id)
    context = _panel_context(request, case)
    htmx = _htmx(request)
    if htmx and not htmx.history_restore_request:
        response = render(request, "exceptions/_panel.html", context)
    else:
        response = render(request, "exceptions/case_detail.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _act(action: str, case: ExceptionCase, data: QueryDict, actor: User) -> tuple[bool, dict[str, Any]]:
    """Run one action; (done, the bound form) — errors are on the form."""
    form: Any
    if action == "assign":
        form = AssignForm(data, actor=actor)
    elif action == "snooze":
        form = SnoozeForm(data)
    elif action == "resolve":
        form = ResolveForm(data)
    elif action == "comment":
        form = CommentForm(data)
    else:
        form = None
    if form is not None and not form.is_valid():
        return False, {"form": form}
    try:
        if action == "assign":
            exception_assign(case=case, assignee=form.cleaned_data["assignee"], actor=actor)
        elif action == "acknowledge":
            exception_acknowledge(case=case, actor=actor)
        elif action == "snooze":
            exception_snooze(case=case, until=form.cleaned_data["until_at"], actor=actor)
        elif action == "resolve":
            exception_resolve(case=case, resolution=form.cleaned_data["resolution"], actor=actor)
        else:
            exception_comment(case=case, text=form.cleaned_data["text"], actor=actor)
    except CaseConflict:
        return False, {"form": form, "conflict": True}
    except ValueError as exc:
        return False, {"form": form, "error": str(exc).partition(": ")[2] or str(exc)}
    return True, {}


@login_required
@permission_required(WORK, raise_exception=True)
@require_POST
def exception_action(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("no such action")
    actor = _user(request)
    case = _case_or_404(case_id)
    done, outcome = _act(action, case, request.POST, actor)
    fresh = _case_or_404(case_id)
    if outcome.get("conflict"):
        outcome["conflict"] = conflict_text(action, fresh)
    if _htmx(request):
        extra: dict[str, Any] = {"notice": ACTION_DONE[action]} if done else {"failed_action": action, **outcome}
        context = _panel_context(request, fresh, **extra)
        if not done and outcome.get("form") is not None:
            context["forms"][action] = outcome["form"]  # keep what was typed, with its errors
        response = render(request, "exceptions/_panel.html", context)
        if done or "conflict" in outcome:
            response["HX-Trigger"] = json.dumps({"queue:changed": {"ids": [case_id], "action": action}})
        return response
    # Without JavaScript: back to where the form was, with the outcome as a message.
    if done:
        flash.success(request, f"{ACTION_DONE[action]}: exception {case_id}.")
    else:
        flash.error(request, outcome.get("conflict") or outcome.get("error") or _form_errors(outcome.get("form")))
    return redirect(_next_url(request, reverse("exception-detail", args=[case_id])))


def _form_errors(form: Any) -> str:
    if form is None:
        return "Not done."
    return "; ".join(f"{message}" for errors in form.errors.values() for message in errors) or "Not done."


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


# --- bulk -----------------------------------------------------------------------------------


@login_required
@permission_required(WORK, raise_exception=True)
@require_POST
def exception_bulk(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    form = BulkForm(request.POST, actor=actor)
    result: BulkResult | None = None
    error = ""
    if form.is_valid():
        try:
            result = exceptions_bulk(
                case_ids=form.cleaned_data["ids"],
                action=form.cleaned_data["action"],
                actor=actor,
                assignee=form.cleaned_data.get("assignee_user"),
                until=form.cleaned_data.get("until_at"),
                resolution=form.cleaned_data.get("resolution") or "",
            )
        except ValueError as exc:
            error = str(exc).partition(": ")[2] or str(exc)
    else:
        error = _form_errors(form)
    summary = bulk_summary(result) if result else None
    if _htmx(request):
        response = render(
            request, "exceptions/_bulk_result.html", {"result": result, "summary": summary, "error": error}
        )
        if result is not None:
            response["HX-Trigger"] = json.dumps(
                {"queue:changed": {"ids": result.done, "conflicts": list(result.conflicts), "action": result.action}}
            )
        return response
    if summary:
        (flash.success if not result or not result.conflicts else flash.warning)(request, summary["text"])
    else:
        flash.error(request, error)
    return redirect(_next_url(request, reverse("exception-queue")))
