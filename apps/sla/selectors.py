from django.db.models import QuerySet

from .models import Expectation, SlaPolicy


def sla_policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.order_by("name")


def sla_policy_get(*, policy_id: int) -> SlaPolicy | None:
    return SlaPolicy.objects.filter(id=policy_id).first()


def expectations_of_order(*, order_id: int) -> QuerySet[Expectation]:
    return Expectation.objects.filter(order_id=order_id).select_related("policy").order_by("due_at")
