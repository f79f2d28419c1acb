"""A case as one list item: the shape of `GET /api/v1/exceptions/` and of the live
`exception.opened|updated` messages, built in one place so that the two cannot drift."""

from datetime import datetime

from django.utils import timezone

from apps.common.time import now
from apps.live.messages import ExceptionItem

from .choices import CaseStatus
from .models import ExceptionCase


def _iso(value: datetime | None) -> str | None:
    """As DRF writes times: ISO 8601 in the current time zone, UTC as `Z`."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def current_status(case: ExceptionCase) -> str:
    """The status shown: a snooze that has run out is open again. Uses the selectors'
    `current_status` annotation when the case was read through them."""
    annotated = getattr(case, "current_status", None)
    if annotated is not None:
        return str(annotated)
    if case.status == CaseStatus.SNOOZED and case.snoozed_until is not None and case.snoozed_until <= now():
        return CaseStatus.OPEN
    return case.status


def exception_item(case: ExceptionCase) -> ExceptionItem:
    """Reads `order` and `assignee`: select them with the case."""
    return ExceptionItem(
        id=case.id,
        kind=case.kind,
        code=case.code,
        severity=case.severity,
        status=current_status(case),
        queue=case.queue,
        order=case.order.value if case.order is not None else None,
        opened_at=_iso(case.opened_at) or "",
        last_seen_at=_iso(case.last_seen_at) or "",
        occurrences=case.occurrences,
        assignee=case.assignee.get_username() if case.assignee is not None else None,
        subject=case.subject,
        source_type=case.source_type,
        snoozed_until=_iso(case.snoozed_until),
        resolved_at=_iso(case.resolved_at),
        resolution=case.resolution,
    )
