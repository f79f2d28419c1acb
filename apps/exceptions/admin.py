"""Exception cases in the Django admin: read-only evidence. Working the queue goes through the
API (services, audited), never through admin edits."""

from django.contrib import admin
from django.http import HttpRequest

from .models import ExceptionActivity, ExceptionCase


class ExceptionActivityInline(admin.TabularInline[ExceptionActivity, ExceptionCase]):
    model = ExceptionActivity
    extra = 0
    fields = ("at", "action", "actor", "detail")
    readonly_fields = fields
    can_delete = False


@admin.register(ExceptionCase)
class ExceptionCaseAdmin(admin.ModelAdmin[ExceptionCase]):
    list_display = ("id", "kind", "code", "subject", "severity", "queue", "status", "occurrences", "last_seen_at")
    list_filter = ("kind", "status", "severity", "queue")
    search_fields = ("code", "subject", "fingerprint")
    inlines = [ExceptionActivityInline]

    def get_readonly_fields(self, request: HttpRequest, obj: ExceptionCase | None = None) -> list[str]:
        return [f.name for f in ExceptionCase._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExceptionCase | None = None) -> bool:
        return False
