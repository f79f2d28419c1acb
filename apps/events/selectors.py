from uuid import UUID

from django.db.models import QuerySet

from .models import CanonicalEvent


def events_of_message(*, message_id: UUID) -> QuerySet[CanonicalEvent]:
    return CanonicalEvent.objects.filter(message_id=message_id).order_by("index_in_message")


def events_by_ref(*, kind: str, value: str) -> QuerySet[CanonicalEvent]:
    return CanonicalEvent.objects.filter(ref_rows__kind=kind, ref_rows__value=value.strip()).distinct()
