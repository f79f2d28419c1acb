from collections.abc import Iterable
from uuid import UUID

from django.db.models import QuerySet

from .models import CanonicalEvent


def events_of_message(*, message_id: UUID) -> QuerySet[CanonicalEvent]:
    return CanonicalEvent.objects.filter(message_id=message_id).order_by("index_in_message")


def events_by_ref(*, kind: str, value: str) -> QuerySet[CanonicalEvent]:
    return CanonicalEvent.objects.filter(ref_rows__kind=kind, ref_rows__value=value.strip()).distinct()


def held_among(event_ids: Iterable[int]) -> set[int]:
    """Those of these events that are future-dated and not yet released (held_until set): one
    scan of the small partial index, whatever the store's size."""
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    return set(CanonicalEvent.objects.filter(held_until__isnull=False, id__any=ids).values_list("id", flat=True))
