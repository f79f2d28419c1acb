"""Canonical events in the Django admin: read-only (they are derived from raw messages;
fix a mapping and replay instead of editing)."""

from django.contrib import admin
from django.http import HttpRequest

from .models import CanonicalEvent, EventRef

EVENT_FIELDS: tuple[str, ...] = (
    "type",
    "system",
    "feed",
    "message",
    "event_key",
    "has_source_id",
    "occurred_at",
    "occurred_offset_minutes",
    "received_at",
    "source_status",
    "refs",
    "body",
    "index_in_message",
)


def _can(request: HttpRequest, capability: str) -> bool:
    return request.user.has_perm(f"accounts.{capability}")


class EventRefInline(admin.TabularInline[EventRef, CanonicalEvent]):
    model = EventRef
    fields = ["kind", "value"]
    readonly_fields = ["kind", "value"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: CanonicalEvent | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CanonicalEvent | None = None) -> bool:
        return False


@admin.register(CanonicalEvent)
class CanonicalEventAdmin(admin.ModelAdmin[CanonicalEvent]):
    list_display = ["type", "system", "occurred_at", "event_key", "feed", "received_at", "matched"]
    list_filter = ["matched", "type", "system"]  # matched=No: the unmatched events (late binding)
    list_select_related = ["feed"]
    search_fields = ["event_key__exact"]
    search_help_text = "Exact event key: the source's event_id, or sha256:<hash> when it sent none."
    ordering = ["-occurred_at"]
    show_full_result_count = False
    inlines = [EventRefInline]
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or _can(request, "view_feeds")

    def has_view_permission(self, request: HttpRequest, obj: CanonicalEvent | None = None) -> bool:
        return super().has_view_permission(request, obj) or _can(request, "view_feeds")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CanonicalEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CanonicalEvent | None = None) -> bool:
        return False
