"""The wizard's mapping step: the feed's code tables (each override a new version) and, for a
custom-json feed, the mapping editor — paste a sample, see its field paths, pick one per
canonical field, save the mapping it builds (or edit the JSON itself).

POST `action`: `code_table`, `fields` (find the sample's paths; no save — htmx swaps
#mapping-editor), `save_picks`, `save_json`, `continue`."""

import json
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from apps.events.taxonomy import EVENT_TYPES
from apps.feeds.choices import FeedFormat
from apps.ingestion.formats import UnreadableBody
from apps.ingestion.formats.custom_json import mapping_errors

from .choices import Step
from .forms import CodeTableForm, MappingJsonForm, picks_from
from .mapping_editor import (
    PICK_FIELDS,
    TIME_FORMATS,
    Picks,
    build_mapping,
    code_lines,
    codes_at,
    picks_of,
    record_candidates,
    record_paths,
)
from .models import OnboardingDraft
from .selectors import code_tables
from .services import OnboardingError, draft_set_code_table, draft_set_mapping
from .views import _continue, draft_or_404, error_on, manage, not_yet, page


@login_required
@manage
def mapping(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = draft_or_404(draft_id)
    if (early := not_yet(draft, Step.MAPPING)) is not None:
        return early
    assert draft.feed is not None
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "continue":
        return _continue(request, draft, Step.MAPPING)
    table_form: CodeTableForm | None = None
    if action == "code_table":
        table_form = CodeTableForm(request.POST)
        if table_form.is_valid():
            try:
                row = draft_set_code_table(
                    draft=draft,
                    actor=request.user,
                    table=table_form.cleaned_data["table"],
                    entries=table_form.cleaned_data["entries"],
                    note=table_form.cleaned_data["note"],
                )
            except OnboardingError as exc:
                error_on(table_form, exc)
            else:
                flash.success(request, f"Code table {row.table} saved as this feed's version {row.version}.")
                return redirect("onboarding-mapping", draft_id=draft.pk)
    editor: dict[str, Any] = {}
    if draft.feed.format == FeedFormat.CUSTOM_JSON:
        editor, saved = _editor(request, draft, action)
        if saved:
            flash.success(request, "Mapping saved. Dry-run a sample to see what it makes.")
            return redirect("onboarding-mapping", draft_id=draft.pk)
    tables = code_tables(draft.feed)
    for table in tables:
        bound = table_form is not None and table_form.data.get("table") == table["name"]
        table["form"] = (
            table_form
            if bound
            else CodeTableForm(initial={"table": table["name"], "entries": code_lines(table["override"])})
        )
    return page(request, "onboarding/mapping.html", draft, Step.MAPPING, tables=tables, editor=editor)


def _editor(request: HttpRequest, draft: OnboardingDraft, action: str) -> tuple[dict[str, Any], bool]:
    """The mapping editor's context, and whether a save succeeded (then the view redirects)."""
    assert draft.feed is not None
    json_form = MappingJsonForm(
        request.POST if action == "save_json" else None,
        initial={"mapping": json.dumps(draft.feed.mapping, indent=2) if draft.feed.mapping else ""},
    )
    errors: list[str] = []
    if action in ("fields", "save_picks"):
        picks, errors = picks_from(request.POST)
        sample = request.POST.get("sample", "").encode()
    else:
        picks, sample = picks_of(draft.feed.mapping), bytes(draft.sample)
    built: dict[str, Any] | None = None
    if action == "save_picks" and not errors:
        built = build_mapping(picks)
        try:
            draft_set_mapping(draft=draft, actor=request.user, mapping=built, sample=sample)
        except OnboardingError as exc:
            errors.append(exc.message)
        else:
            return {}, True
    if action == "save_json" and json_form.is_valid():
        try:
            draft_set_mapping(draft=draft, actor=request.user, mapping=json_form.cleaned_data["mapping"])
        except OnboardingError as exc:
            error_on(json_form, exc)
        else:
            return {}, True
    context = _sample_context(sample, picks)
    current = draft.feed.mapping or {}
    context |= {
        "picks": picks,
        "errors": errors,
        "built": json.dumps(built, indent=2) if built is not None else "",
        "json_form": json_form,
        "has_mapping": bool(current),
        "mapping_errors": mapping_errors(current) if current else [],
        "time_formats": TIME_FORMATS,
        "event_types": sorted(EVENT_TYPES),
    }
    return context, False


def _sample_context(sample: bytes, picks: Picks) -> dict[str, Any]:
    """The sample's record places and field paths, each picker's options, and the codes found
    at the type's path (listed with what they map to, empty where nothing yet)."""
    sample_error, candidates, paths, codes = "", ["$"], [], []
    try:
        if sample.strip():
            candidates = record_candidates(sample)
            paths = record_paths(sample, picks.events)
            codes = codes_at(sample, picks.events, picks.type_path)
    except UnreadableBody as exc:
        sample_error = str(exc)
    if picks.events not in candidates:
        candidates.append(picks.events)
    type_codes = dict(picks.type_codes)
    for code in codes:
        type_codes.setdefault(code, "")
    return {
        "sample": sample.decode("utf-8", errors="replace"),
        "sample_error": sample_error,
        "candidates": candidates,
        "paths": paths,
        "pickers": [
            {
                "name": name,
                "help": help,
                "value": picks.paths.get(name, ""),
                "options": _options(paths, picks.paths.get(name, "")),
            }
            for name, help in PICK_FIELDS
        ],
        "occurred_options": _options(paths, picks.occurred_at),
        "type_options": _options(paths, picks.type_path),
        "type_codes": "\n".join(f"{code} = {value}".rstrip() for code, value in type_codes.items()),
        "codes_found": codes,
    }


def _options(paths: list[str], current: str) -> list[str]:
    return paths if not current or current in paths else [current, *paths]
