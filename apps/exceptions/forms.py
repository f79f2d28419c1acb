"""Forms of the queue page: the filter bar (GET, so a view is a shareable URL), the actions on
one case and the bulk bar. They only parse and check input; the services do the work."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User

from apps.common.time import now

from .choices import CaseStatus, ExceptionKind, Queue, Severity
from .selectors import AGE_CHOICES, ASSIGNEE_ME, ExceptionFilters, assignable_users
from .services.bulk import BULK_ACTIONS

QUEUE_MINE = "mine"
QUEUE_ALL = "all"
# The page's status choices; "" is the default view: what still needs someone (snoozed cases
# come back by themselves when their time is up).
STATUS_NEEDS_ACTION = ""
STATUS_ANY = "any"
STATUS_CHOICES: tuple[tuple[str, str], ...] = (
    (STATUS_NEEDS_ACTION, "Needs action"),
    (CaseStatus.OPEN, "Open"),
    (CaseStatus.ACKNOWLEDGED, "Acknowledged"),
    (CaseStatus.SNOOZED, "Snoozed"),
    (CaseStatus.RESOLVED, "Resolved"),
    (STATUS_ANY, "Any status"),
)
QUEUE_TABS: tuple[tuple[str, str], ...] = (
    (QUEUE_MINE, "My queue"),
    (Queue.OPS, "Operations"),
    (Queue.CUSTOMER_SERVICE, "Customer service"),
    (Queue.FINANCE, "Finance"),
    (QUEUE_ALL, "All"),
)
SNOOZE_CHOICES: tuple[tuple[str, str], ...] = (
    ("1h", "for 1 hour"),
    ("4h", "for 4 hours"),
    ("24h", "for 24 hours"),
    ("3d", "for 3 days"),
    ("until", "until (UTC)…"),
)
_SNOOZE_DELTAS = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "24h": timedelta(hours=24),
    "3d": timedelta(days=3),
}


class QueueFilterForm(forms.Form):
    """The filter bar. Unknown or bad values fall back to "no filter" rather than an error page:
    a stale shared link still opens."""

    queue = forms.ChoiceField(choices=QUEUE_TABS, required=False)
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *ExceptionKind.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    assignee = forms.CharField(required=False, max_length=150)
    age = forms.ChoiceField(choices=[("", "Any age"), *AGE_CHOICES], required=False)
    customer = forms.CharField(required=False, max_length=200, strip=True)

    def __init__(self, data: Any, *, role_queue: str | None) -> None:
        super().__init__(data)
        self.role_queue = role_queue

    def value(self, name: str) -> str:
        """The cleaned value, or "" when it was missing or invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        if name in self.errors:
            return ""
        return str(self.cleaned_data.get(name) or "")

    @property
    def tab(self) -> str:
        return self.value("queue") or QUEUE_MINE

    def queue_of(self, tab: str) -> str | None:
        """The queue a tab shows (None: every queue)."""
        if tab == QUEUE_MINE:
            return self.role_queue
        return None if tab == QUEUE_ALL else tab

    def filters(self) -> ExceptionFilters:
        status = self.value("status")
        statuses: list[str] = (
            [CaseStatus.OPEN.value, CaseStatus.ACKNOWLEDGED.value]
            if status == STATUS_NEEDS_ACTION
            else []
            if status == STATUS_ANY
            else [status]
        )
        out: ExceptionFilters = {"status": statuses}
        queue = self.queue_of(self.tab)
        if queue:
            out["queue"] = queue
        for name in ("kind", "severity", "assignee", "age", "customer"):
            if self.value(name):
                out[name] = self.value(name)
        return out

    @property
    def narrowed(self) -> bool:
        """Any filter beyond the queue tab and the default status."""
        return any(self.value(n) for n in ("status", "kind", "severity", "assignee", "age", "customer"))


def resolve_assignee(value: str, *, actor: User) -> User | None:
    """`me`, the username of someone who may work the queues, or empty (unassign)."""
    value = value.strip()
    if not value:
        return None
    if value == ASSIGNEE_ME:
        return actor
    user = assignable_users().filter(username=value).first()
    if user is None:
        raise forms.ValidationError(f"{value} does not work the exception queues")
    return user


class AssignForm(forms.Form):
    assignee = forms.CharField(required=False, max_length=150, help_text="me, a username, or empty to unassign")

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def clean_assignee(self) -> User | None:
        return resolve_assignee(self.cleaned_data.get("assignee") or "", actor=self.actor)


def snooze_until(choice: str, until: datetime | None) -> datetime:
    """The end of a snooze from the form's choice; a typed time is read as UTC (the page shows UTC)."""
    if choice in _SNOOZE_DELTAS:
        return now() + _SNOOZE_DELTAS[choice]
    if until is None:
        raise forms.ValidationError("Give the time to snooze until (UTC).")
    aware = until.replace(tzinfo=UTC) if until.tzinfo is None else until
    if aware <= now():
        raise forms.ValidationError("The snooze must end in the future.")
    return aware


class SnoozeForm(forms.Form):
    snooze = forms.ChoiceField(choices=SNOOZE_CHOICES, initial="4h")
    until = forms.DateTimeField(
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "snooze" in data:
            try:
                data["until_at"] = snooze_until(data["snooze"], data.get("until"))
            except forms.ValidationError as exc:
                self.add_error("until", exc)
        return data


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was done, or why nothing needs doing: it stays on the case.",
    )


class CommentForm(forms.Form):
    text = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], error_messages={"required": "Select cases first."})
    # "assign-me": the bar's own button, whatever the assignee list says.
    action = forms.ChoiceField(choices=[(a, a) for a in (*BULK_ACTIONS, "assign-me")])
    assignee = forms.CharField(required=False, max_length=150)
    snooze = forms.ChoiceField(choices=SNOOZE_CHOICES, required=False)
    until = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    resolution = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        # Any integer id is accepted here; the service reports ids that name no case.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "assign-me":
            data["action"], data["assignee"] = "assign", ASSIGNEE_ME
        action = data.get("action")
        if action == "assign":
            try:
                data["assignee_user"] = resolve_assignee(data.get("assignee") or "", actor=self.actor)
            except forms.ValidationError as exc:
                self.add_error("assignee", exc)
        elif action == "snooze":
            try:
                data["until_at"] = snooze_until(data.get("snooze") or "", data.get("until"))
            except forms.ValidationError as exc:
                self.add_error("until", exc)
        elif action == "resolve" and not (data.get("resolution") or "").strip():
            self.add_error("resolution", "Say how these were resolved.")
        return data
