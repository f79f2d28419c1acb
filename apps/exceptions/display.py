"""Shaping cases for the queue page: plain strings for the templates, no queries.

Fifty rows through template lookups, `{% url %}` tags and includes cost more than the queries
behind them (bench queue); one pass of Python here keeps the results fragment cheap enough to
re-fetch on every live message."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.urls import reverse

from apps.common.time import duration_text, parse_iso
from apps.correlation.models import OrderProjection

from .choices import ActivityAction, ExceptionKind, Queue
from .models import ExceptionActivity, ExceptionCase
from .services.bulk import BulkResult

QUEUE_LABELS: dict[str, str] = {str(q): str(q.label) for q in Queue}
KIND_LABELS: dict[str, str] = {str(k): str(k.label) for k in ExceptionKind}


def age_text(delta: timedelta) -> str:
    """How long a case has been open; a clock skew never shows a negative age."""
    return duration_text(max(delta, timedelta(0)))


def count_text(n: int, capped: bool) -> str:
    return f"{n:,}+" if capped else f"{n:,}"


_ORDER_URL_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in a <path:> argument


def queue_rows(cases: list[ExceptionCase], at: datetime) -> list[dict[str, Any]]:
    """The table's rows, one dict of strings each."""
    case_url = reverse("exception-detail", args=[0]).removesuffix("0/")
    order_url = reverse("order-detail", args=["_"]).removesuffix("_/")
    search_url = reverse("search")
    rows = []
    for case in cases:
        order = case.order
        projection: OrderProjection | None = getattr(order, "projection", None) if order is not None else None
        subject_kind, _, subject_id = case.subject.partition(":")
        status: str = case.current_status  # type: ignore[attr-defined]
        stage = projection.stage if projection is not None else ""
        rows.append(
            {
                "id": case.id,
                "url": f"{case_url}{case.id}/",
                "severity": case.severity,
                "code": case.code,
                "kind": KIND_LABELS.get(case.kind, case.kind),
                "source_type": case.source_type,
                "queue": QUEUE_LABELS.get(case.queue, case.queue),
                "order_key": order.value if order is not None else "",
                "order_url": f"{order_url}{quote(order.value, safe=_ORDER_URL_SAFE)}/" if order is not None else "",
                "subject_kind": subject_kind,
                "subject_id": subject_id,
                "search_url": f"{search_url}?{urlencode({'q': subject_id})}",
                "customer": projection.customer if projection is not None else "",
                "stage": stage,
                "stage_label": stage.replace("_", " ") if stage else "no stage yet",
                "status": status,
                "snoozed_until": f"{case.snoozed_until:%m-%d %H:%M}"
                if status == "snoozed" and case.snoozed_until
                else "",
                "assignee": case.assignee.get_username() if case.assignee is not None else "",
                "age": age_text(at - case.opened_at),
                "opened": f"{case.opened_at.astimezone(UTC):%Y-%m-%d %H:%M}",
                "occurrences": case.occurrences,
                "last_seen": f"{case.last_seen_at.astimezone(UTC):%m-%d %H:%M}",
            }
        )
    return rows


def activity_rows(activity: list[ExceptionActivity]) -> list[dict[str, Any]]:
    """The case's history in words, newest first."""
    labels = dict(ActivityAction.choices)
    rows = []
    for entry in reversed(activity):
        detail = entry.detail or {}
        text = ""
        if entry.action == ActivityAction.ASSIGNED:
            text = f"to {detail['assignee']}" if detail.get("assignee") else "unassigned"
        elif entry.action == ActivityAction.SNOOZED and detail.get("until"):
            text = f"until {_utc_text(detail['until'])}"
        elif entry.action == ActivityAction.RESOLVED:
            text = str(detail.get("resolution", ""))
        elif entry.action == ActivityAction.COMMENTED:
            text = str(detail.get("text", ""))
        elif entry.action == ActivityAction.OPENED and detail.get("policy"):
            text = f"SLA {detail['policy']} due {_utc_text(str(detail.get('due_at', '')))}"
        elif entry.action == ActivityAction.AUTO_RESOLVED:
            text = "the partner reported it cleared" + (" (reported late)" if detail.get("late") else "")
        elif entry.action == ActivityAction.REOPENED:
            text = "it happened again after it was resolved"
        rows.append(
            {
                "at": entry.at,
                "actor": entry.actor.get_username() if entry.actor else "system",
                "action": entry.action,
                "label": labels.get(entry.action, entry.action),
                "text": text,
            }
        )
    return rows


def _utc_text(value: str) -> str:
    try:
        return parse_iso(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return value


def conflict_text(action: str, case: ExceptionCase) -> str:
    """Why the action was refused, from the case as it is now."""
    status = case.current_status  # type: ignore[attr-defined]
    return (
        f"Could not {action} it: it is {status} now. Someone else, or the partner's own event, changed it "
        "first; below is the exception as it is now."
    )


def bulk_summary(result: BulkResult) -> dict[str, Any]:
    verb = {"assign": "assigned", "acknowledge": "acknowledged", "snooze": "snoozed", "resolve": "resolved"}
    done = len(result.done)
    parts = [f"{done} exception{'s' if done != 1 else ''} {verb.get(result.action, result.action)}"]
    if result.conflicts:
        parts.append(f"{len(result.conflicts)} not changed")
    if result.missing:
        parts.append(f"{len(result.missing)} no longer exist")
    return {"text": "; ".join(parts) + ".", "conflicts": sorted(result.conflicts.items())}
