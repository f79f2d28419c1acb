"""One contract test per message type: a real message, produced by the real service, has exactly
the contract's fields and types (msgspec converts strictly), and says what the API says."""

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
import time_machine
from django.test import Client

from apps.exceptions.models import ExceptionCase
from apps.exceptions.services import exception_assign
from apps.live.messages import ExceptionItem, ExceptionMessage, HoldChangedMessage, HoldItem, OrderUpdatedMessage
from tests.correlation.conftest import World
from tests.exceptions.conftest import send_many
from tests.factories import UserFactory

from .conftest import SentEvents, sent_messages

T10, T11, T12 = "2026-11-25T10:00:00+00:00", "2026-11-25T11:00:00+00:00", "2026-11-25T12:00:00+00:00"


@pytest.fixture(autouse=True)
def _frozen_clock() -> Any:
    with time_machine.travel("2026-11-26T09:00:00+00:00", tick=False):
        yield


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


@pytest.fixture
def reader(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(role="cs_agent"))
    return client


def of_type(sent: SentEvents, kind: str) -> list[dict[str, Any]]:
    return [m for m in sent_messages(sent) if m["type"] == kind]


def strictly[T](message: dict[str, Any], shape: type[T]) -> T:
    """The message converted to its TypedDict, no key missing, none extra, every type right."""
    converted = msgspec.convert(message, type=shape, strict=True)
    assert set(message) == set(shape.__annotations__)
    return converted


def api_item(reader: Client, case_id: int) -> dict[str, Any]:
    [item] = [i for i in reader.get("/api/v1/exceptions/").json()["results"] if i["id"] == case_id]
    return item


def test_exception_opened(world: World, committed: Callable[..., Any], sent: SentEvents, reader: Client) -> None:
    world.send("erp", "order.created", {"order": "SO-1"}, T10)
    committed(world.send, "lastmile", "delivery.attempted", {"order": "SO-1"}, T11, reason={"code": "CUSTOMER_ABSENT"})
    [message] = of_type(sent, "exception.opened")
    strictly(message, ExceptionMessage)
    strictly(message["exception"], ExceptionItem)
    case = ExceptionCase.objects.get()
    assert message["exception"] == api_item(reader, case.id)  # the same item as the queue API
    assert message["exception"]["occurrences"] == 1  # counted in the same transaction


def test_exception_updated_by_a_person_and_by_an_event(
    world: World, committed: Callable[..., Any], sent: SentEvents, reader: Client
) -> None:
    world.send("lastmile", "delivery.attempted", {"order": "SO-1"}, T11, reason={"code": "CUSTOMER_ABSENT"})
    case = ExceptionCase.objects.get()
    lead = UserFactory(role="ops_lead", username="olivia")
    committed(exception_assign, case=case, assignee=lead, actor=lead)
    [assigned] = of_type(sent, "exception.updated")
    strictly(assigned, ExceptionMessage)
    assert assigned["exception"]["assignee"] == "olivia"
    assert assigned["exception"] == api_item(reader, case.id)

    committed(world.send, "lastmile", "delivery.completed", {"order": "SO-1"}, T12)  # clears the attempt
    cleared = of_type(sent, "exception.updated")[-1]
    strictly(cleared, ExceptionMessage)
    assert cleared["exception"]["status"] == "resolved"
    assert cleared["exception"]["resolution"] == "auto: delivery.completed"
    assert cleared["exception"] == api_item(reader, case.id)


def test_order_updated(world: World, committed: Callable[..., Any], sent: SentEvents, reader: Client) -> None:
    world.send("erp", "order.created", {"order": "SO-1"}, T10)
    committed(world.send, "wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T11)
    [message] = of_type(sent, "order.updated")
    strictly(message, OrderUpdatedMessage)
    order = reader.get("/api/v1/orders/SO-1/").json()
    assert message == {
        "type": "order.updated",
        "order": "SO-1",
        "stage": order["stage"],
        "open_exceptions": order["open_exceptions"],
    }
    assert message["stage"] == "picked"


def test_hold_changed_carries_the_invoice_hold_item_of_the_contract() -> None:
    # http-api.md's item first, then the extensions (docs/finance.md); a real message from the
    # pipeline is checked in tests/finance/test_live.py.
    contract_item = ["id", "invoice", "order", "status", "reason", "amount", "held_since", "released_at"]
    assert list(HoldItem.__annotations__)[: len(contract_item)] == contract_item
    example = {
        "type": "hold.changed",
        "hold": {
            "id": 3,
            "invoice": "INV-3",
            "order": "SO-1",
            "status": "held",
            "reason": "awaiting_pod",
            "amount": {"value": "120.00", "currency": "EUR"},
            "held_since": "2026-11-25T10:00:00Z",
            "released_at": None,
            "customer": "Acme Retail",
            "release_hint": "POD of SH-7 missing; 1 of 2 shipments delivered",
            "manual": False,
            "outcome": "",
            "posted_while_held": False,
        },
    }
    strictly(example, HoldChangedMessage)


def test_one_ingest_transaction_is_one_group_send(
    world: World, committed: Callable[..., Any], sent: SentEvents
) -> None:
    events = [
        {
            "type": "delivery.attempted",
            "occurred_at": T11,
            "refs": {"order": f"SO-{n}"},
            "reason": {"code": "NO_ACCESS"},
        }
        for n in range(1, 6)
    ]
    committed(send_many, world, "lastmile", events)
    assert len(sent) == 1
    messages = sent_messages(sent)
    assert sorted(m["order"] for m in messages if m["type"] == "order.updated") == [f"SO-{n}" for n in range(1, 6)]
    assert len([m for m in messages if m["type"] == "exception.opened"]) == 5
    assert all(m["open_exceptions"] == 1 for m in messages if m["type"] == "order.updated")
