"""An order's life in the four systems, sent through the real pipeline, and a frozen clock."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from apps.finance.choices import HoldStatus
from apps.finance.models import InvoiceHold
from tests.browser.conftest import page  # noqa: F401 - the shared fixture
from tests.correlation.conftest import World, world  # noqa: F401 - the shared fixture
from tests.live.conftest import layer, sent  # noqa: F401 - the shared fixtures

NOW = "2026-11-26T09:00:00+00:00"  # after every event time the tests send


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _cases_open_at_once(settings: Any) -> None:
    """A finding opens its case when it settles (RECONCILIATION_SETTLE, 90 s by default): here
    at once, except in the test of settling itself (test_rules.py)."""
    settings.RECONCILIATION_SETTLE = timedelta(0)


def T(hour: int, minute: int = 0, day: int = 25) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00+00:00"


def lines(**qty: float) -> list[dict[str, Any]]:
    return [{"sku": sku.replace("_", "-"), "qty": q} for sku, q in qty.items()]


def ordered(w: World, order: str = "SO-1", at: str = T(8), **qty: float) -> None:
    w.send("erp", "order.created", {"order": order}, at, customer="Acme Retail", lines=lines(**(qty or {"A_1": 9})))


def shipped(w: World, order: str = "SO-1", shipment: str = "SH-1", tracking: str = "1Z1", at: str = T(12)) -> None:
    w.send("tms", "shipment.picked_up", {"order": order, "shipment": shipment, "tracking_number": tracking}, at)


def invoiced(w: World, order: str = "SO-1", invoice: str = "INV-1", at: str = T(13), value: str = "125.00") -> None:
    w.send(
        "erp", "invoice.created", {"order": order, "invoice": invoice}, at, amount={"value": value, "currency": "EUR"}
    )


def delivered(w: World, tracking: str = "1Z1", at: str = T(16), **qty: float) -> str:
    extra: dict[str, Any] = {"pod": {"signed_by": "J. Doe"}}
    if qty:
        extra["lines"] = lines(**qty)
    return w.send("lastmile", "delivery.completed", {"tracking_number": tracking}, at, **extra)


def failed(w: World, tracking: str = "1Z1", at: str = T(16)) -> None:
    w.send("lastmile", "delivery.failed", {"tracking_number": tracking}, at, reason={"code": "ADDRESS_UNKNOWN"})


def the_hold(invoice: str = "INV-1") -> InvoiceHold:
    return InvoiceHold.objects.filter(invoice=invoice).order_by("-id").first()  # type: ignore[return-value]


def held(invoice: str = "INV-1") -> bool:
    return InvoiceHold.objects.filter(invoice=invoice, status=HoldStatus.HELD).exists()
