"""factory-boy factories for exception cases and the orders they are about, written straight to
the tables (the pipeline that opens cases from events has its own tests): for the queue's
filters, ordering, pages and bulk actions, where many cases in known states are needed."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import factory

from apps.correlation.models import Node, OrderProjection
from apps.exceptions.models import ExceptionCase

BASE = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
_orders = itertools.count(1)


def order(key: str | None = None, *, customer: str = "Acme Retail GmbH", stage: str = "shipped", **extra: Any) -> Node:
    """An order node with its projection (what the order page and the queue read)."""
    node = Node.objects.create(kind="order", value=key or f"SO-{next(_orders):05d}")
    OrderProjection.objects.create(order=node, order_key=node.value, customer=customer, stage=stage, **extra)
    return node


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExceptionCase

    kind = "partner_exception"
    code = factory.Sequence(lambda n: f"CODE_{n}")
    fingerprint = factory.Sequence(lambda n: f"test:{n}")
    subject = factory.LazyAttribute(lambda o: f"order:{o.order.value}" if o.order else "tracking_number:1Z0")
    source_type = "delivery.attempted"
    order = None
    severity = "medium"
    queue = "ops"
    status = "open"
    opened_at = factory.LazyFunction(lambda: BASE - timedelta(hours=2))
    last_seen_at = factory.LazyAttribute(lambda o: o.opened_at)
    occurrences = 1
