from django.db.models import QuerySet

from .models import AuditLog


def audit_log_list(*, action: str | None = None, target: str | None = None) -> QuerySet[AuditLog]:
    qs = AuditLog.objects.select_related("actor").order_by("-at", "-id")
    if action:
        qs = qs.filter(action__startswith=action)
    if target:
        qs = qs.filter(target__icontains=target)
    return qs
