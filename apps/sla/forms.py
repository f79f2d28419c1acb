"""The policy form of the SLA pages. It only parses and checks input; the services decide (and
re-check) what a valid policy is, so the API and the pages accept the same policies."""

from datetime import timedelta
from typing import Any

from django import forms

from apps.events.taxonomy import EventType
from apps.exceptions.choices import Queue, Severity
from apps.feeds.models import Partner

from .choices import Deadline
from .durations import duration_iso, duration_parse
from .models import SlaPolicy

# The taxonomy's own names (apps/events/taxonomy.py): what partners send and the API takes.
EVENT_TYPES = [(value, value) for value in EventType.values]
WITHIN = "within"
RULE_CHOICES = [
    (WITHIN, "Within a duration after the start milestone"),
    (Deadline.PROMISED_BY, "By the order's promised-by time"),
]


class SlaPolicyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Unique; it is the code of the breach exceptions, e.g. pick-within-4h.",
    )
    start = forms.ChoiceField(
        choices=EVENT_TYPES,
        help_text="The clock starts at the earliest event of this type on the order's timeline.",
    )
    stop = forms.MultipleChoiceField(
        choices=EVENT_TYPES,
        widget=forms.CheckboxSelectMultiple,
        help_text="The first event of any of these types stops the clock, in whatever order the events arrive.",
    )
    rule = forms.ChoiceField(choices=RULE_CHOICES, widget=forms.RadioSelect, initial=WITHIN, label="Due")
    within = forms.CharField(
        required=False,
        label="Duration",
        help_text='ISO-8601 duration: "PT4H" is 4 hours, "PT30M" 30 minutes, "P1DT12H" a day and a half.',
    )
    service_level = forms.CharField(
        max_length=50, required=False, help_text="Only orders with this service level (as the ERP sends it)."
    )
    customer = forms.CharField(max_length=200, required=False, help_text="Only this customer's orders.")
    partner = forms.ChoiceField(
        required=False, help_text="Only orders with at least one event from this partner's feeds."
    )
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    queue = forms.ChoiceField(choices=Queue.choices, initial=Queue.OPS, help_text="Where the breaches are worked.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = list(Partner.objects.order_by("name").values_list("name", flat=True))
        current = self.initial.get("partner")
        if current and current not in names:
            names.append(current)  # a partner since removed still shows as it is
        partner = self.fields["partner"]
        assert isinstance(partner, forms.ChoiceField)
        partner.choices = [("", "Any partner"), *((n, n) for n in names)]

    def clean_within(self) -> timedelta | None:
        text = self.cleaned_data.get("within", "").strip()
        if not text:
            return None
        try:
            return duration_parse(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("rule") == WITHIN and data.get("within") is None and "within" not in self.errors:
            self.add_error("within", 'Give a duration such as "PT4H", or choose the promised-by time.')
        return data

    def policy_fields(self) -> dict[str, Any]:
        """The service's keyword arguments."""
        data = self.cleaned_data
        by_promise = data["rule"] == Deadline.PROMISED_BY
        return {
            "name": data["name"].strip(),
            "start": data["start"],
            "stop": list(data["stop"]),
            "within": None if by_promise else data["within"],
            "deadline": Deadline.PROMISED_BY if by_promise else "",
            "applies_to": {k: data[k] for k in ("service_level", "customer", "partner") if data.get(k)},
            "severity": data["severity"],
            "queue": data["queue"],
        }


def initial_of(policy: SlaPolicy) -> dict[str, Any]:
    rules = policy.applies_to or {}
    return {
        "name": policy.name,
        "start": policy.start,
        "stop": list(policy.stop),
        "rule": WITHIN if policy.within is not None else policy.deadline,
        "within": duration_iso(policy.within) if policy.within is not None else "",
        "service_level": rules.get("service_level", ""),
        "customer": rules.get("customer", ""),
        "partner": rules.get("partner", ""),
        "severity": policy.severity,
        "queue": policy.queue,
    }
