"""SLA policies in the Django admin: read-only, since changes must be audited and evaluated
(the API goes through the services); expectations are evidence."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Expectation, SlaPolicy


class _ReadOnly(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(_ReadOnly):
    list_display = ("name", "start", "within", "deadline", "severity", "queue", "active")
    list_filter = ("active", "severity", "queue")
    search_fields = ("name",)


@admin.register(Expectation)
class ExpectationAdmin(_ReadOnly):
    list_display = ("id", "policy", "order", "started_at", "due_at", "met_at", "status")
    list_filter = ("status", "policy")
    search_fields = ("order__value",)
    raw_id_fields = ("order", "breach_case")
