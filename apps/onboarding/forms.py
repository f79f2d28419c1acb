"""The wizard's forms. They parse and check input; the services decide (and re-check) what a
step may save, so a form error and a service error end up in the same place on the page."""

import json
import re
from typing import Any

from django import forms

from apps.events.taxonomy import EVENT_TYPES, System
from apps.feeds.choices import FeedFormat, FeedTransport

from .guide import FORMAT_HELP, TRANSPORT_HELP
from .mapping_editor import PICK_FIELDS, TIME_FORMATS, Picks, parse_code_lines
from .services import FeedPlan

MAX_SAMPLE_UPLOAD = 5 * 1024 * 1024
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


class PartnerForm(forms.Form):
    existing = forms.ChoiceField(
        required=False,
        label="Existing partner",
        help_text="A partner the control tower already has feeds from (a second system, a new format).",
    )
    new_name = forms.CharField(
        required=False,
        max_length=200,
        label="Or a new partner",
        help_text="The company's name as your teams know it, e.g. ACME Logistics.",
    )

    def __init__(self, *args: Any, partners: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        existing = self.fields["existing"]
        assert isinstance(existing, forms.ChoiceField)
        existing.choices = [("", "— a new partner —"), *((p, p) for p in partners)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        existing, new = data.get("existing") or "", (data.get("new_name") or "").strip()
        if existing and new:
            raise forms.ValidationError("Choose an existing partner or type a new name, not both.")
        if not existing and not new:
            raise forms.ValidationError("Choose an existing partner or type the new partner's name.")
        data["partner_name"] = existing or new
        return data


class FeedForm(forms.Form):
    slug = forms.SlugField(
        max_length=100,
        help_text="The feed's name in URLs and logs, for good: the partner posts to /api/v1/ingest/<slug>/. "
        "E.g. acme-wms.",
    )
    system = forms.ChoiceField(
        choices=System.choices,
        widget=forms.RadioSelect,
        help_text="Which of the order's systems this partner reports for: it decides where its events show.",
    )
    format = forms.ChoiceField(choices=FeedFormat.choices, widget=forms.RadioSelect)
    transport = forms.ChoiceField(choices=FeedTransport.choices, widget=forms.RadioSelect, initial=FeedTransport.PUSH)
    timezone = forms.CharField(
        max_length=64,
        initial="UTC",
        label="Time zone",
        help_text="IANA zone in which the partner's times without an offset are read (an X12 date, a local "
        "export), e.g. Europe/Berlin. Times sent with an offset keep it.",
    )
    require_signature = forms.BooleanField(
        required=False,
        label="Require a signature",
        help_text="Every post must carry X-CT-Signature (HMAC-SHA256 with the secret shown on the next step).",
    )
    poll_url = forms.CharField(
        required=False,
        max_length=1000,
        label="URL to poll",
        help_text="Poll only: the partner's URL the control tower GETs, e.g. https://api.partner.example/events.",
    )
    poll_interval_seconds = forms.IntegerField(
        required=False, initial=60, min_value=10, max_value=86_400, label="Every (seconds)"
    )
    poll_headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        label="Headers",
        help_text="Poll only: one 'Name: value' a line, sent with every GET — the partner's authentication, "
        "e.g. 'Authorization: Bearer …', 'Authorization: Basic …' or 'X-Api-Key: …'.",
    )

    def clean_poll_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, line in enumerate((self.cleaned_data.get("poll_headers") or "").splitlines(), 1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            name = name.strip()
            if not sep or not _HEADER_NAME.fullmatch(name) or not value.strip():
                raise forms.ValidationError(f"Line {number}: want 'Name: value'.")
            headers[name] = value.strip()
        return headers

    def plan(self) -> FeedPlan:
        data = self.cleaned_data
        return FeedPlan(
            slug=data["slug"],
            system=data["system"],
            format=data["format"],
            transport=data["transport"],
            timezone=data["timezone"].strip(),
            require_signature=bool(data.get("require_signature")),
            poll_url=(data.get("poll_url") or "").strip(),
            poll_interval_seconds=data.get("poll_interval_seconds") or 60,
            poll_headers=data.get("poll_headers") or {},
        )

    def format_options(self) -> list[dict[str, Any]]:
        """The formats with what the partner sends, for the template's radio list."""
        return _options(self, "format", FeedFormat.choices, FORMAT_HELP)

    def transport_options(self) -> list[dict[str, Any]]:
        return _options(self, "transport", FeedTransport.choices, TRANSPORT_HELP)


def _options(form: forms.Form, name: str, choices: list[tuple[str, str]], help: dict[str, str]) -> list[dict[str, Any]]:
    current = form[name].value()
    return [
        {"value": value, "label": label, "help": help.get(value, ""), "checked": value == current}
        for value, label in choices
    ]


class CodeTableForm(forms.Form):
    table = forms.CharField(widget=forms.HiddenInput)
    entries = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        label="This feed's codes",
        help_text="One 'CODE = canonical.type' a line; '= ignore' drops the record, '= -' removes a standard "
        "code (it is then rejected). Saving makes a new version of the table.",
    )
    note = forms.CharField(required=False, max_length=500, label="Why (kept with the version)")

    def clean_entries(self) -> dict[str, str | None]:
        entries, errors = parse_code_lines(self.cleaned_data.get("entries") or "", allow_remove=True)
        if errors:
            raise forms.ValidationError(errors)
        return entries


class MappingJsonForm(forms.Form):
    mapping = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "mono"}),
        label="Mapping (JSON)",
        help_text="The whole mapping; see docs/onboarding.md and the custom-json reference for every key.",
    )

    def clean_mapping(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["mapping"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Want a JSON object.")
        return value


def picks_from(data: Any) -> tuple[Picks, list[str]]:
    """The mapping editor's POST → picks, and the errors of its code lines."""
    codes, errors = parse_code_lines(str(data.get("type_codes", "")), allow_remove=False)
    type_const = str(data.get("type_const", "")).strip()
    picks = Picks(
        events=str(data.get("events", "")).strip() or "$",
        paths={name: str(data.get(f"path:{name}", "")).strip() for name, _ in PICK_FIELDS},
        occurred_at=str(data.get("occurred_at", "")).strip(),
        occurred_format=str(data.get("occurred_format", "iso")).strip() or "iso",
        occurred_timezone=str(data.get("occurred_timezone", "")).strip(),
        type_path=str(data.get("type_path", "")).strip(),
        type_const=type_const if type_const in EVENT_TYPES else "",
        type_codes={code: str(value) for code, value in codes.items() if value is not None},
    )
    return picks, errors


TIME_FORMAT_CHOICES = TIME_FORMATS
EVENT_TYPE_CHOICES = sorted(EVENT_TYPES)


class DryRunForm(forms.Form):
    sample = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "mono"}),
        label="Paste a sample",
        help_text="What the partner would send, exactly as it would send it (one body).",
    )
    file = forms.FileField(required=False, label="Or upload a sample file")

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size and upload.size > MAX_SAMPLE_UPLOAD:
            raise forms.ValidationError("The file is over 5 MB: dry-run a part of it.")
        return upload

    def body(self) -> tuple[bytes, str]:
        """The sample's bytes and its name (the file wins over the text)."""
        upload = self.cleaned_data.get("file")
        if upload is not None:
            return b"".join(upload.chunks()), upload.name or "upload"
        return (self.cleaned_data.get("sample") or "").encode(), ""
