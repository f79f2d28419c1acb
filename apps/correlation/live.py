"""`order.updated`: what the live pages hear about orders whose projection changed.

One message per order and transaction, built after the commit from the stored projection, in
two queries whatever the number of orders. The message carries the order's open exception count,
so this reads the exceptions app (as the order API does)."""

from collections.abc import Collection, Iterable

from apps.exceptions.selectors import open_exception_counts
from apps.live.messages import OrderUpdatedMessage
from apps.live.publish import publish_built_on_commit

from .models import OrderProjection


def orders_changed(order_ids: Collection[int]) -> None:
    """Publish `order.updated` for these order nodes after the commit."""
    if order_ids:
        publish_built_on_commit(order_messages, frozenset(order_ids))


def order_messages(batches: Iterable[Collection[int]]) -> list[OrderUpdatedMessage]:
    """The messages of these order nodes, as they are now (orders without a projection: none)."""
    ids = sorted({order_id for batch in batches for order_id in batch})
    if not ids:
        return []
    counts = open_exception_counts(order_ids=ids)
    rows = OrderProjection.objects.filter(order_id__any=ids).order_by("order_id")
    return [
        OrderUpdatedMessage(type="order.updated", order=key, stage=stage, open_exceptions=counts.get(order_id, 0))
        for order_id, key, stage in rows.values_list("order_id", "order_key", "stage")
    ]
