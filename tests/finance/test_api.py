"""The finance API as partners' scripts and the finance team use it: holds list and filters,
release by hand (finance and admin only, audited), disputes, an order's reconciliation and
its `invoice_hold`, and `hold.changed` pushed with the same item."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import AuditLog
from apps.accounts.services import api_token_create
from apps.finance.models import InvoiceHold
from apps.live.messages import HoldChangedMessage, HoldItem
from tests.correlation.conftest import World
from tests.factories import UserFactory
from tests.live.conftest import SentEvents, sent_messages
from tests.live.test_contracts import strictly

from .conftest import T, delivered, failed, invoiced, ordered, shipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(client: Client) -> Callable[[str], Callable[..., Any]]:
    def for_role(role: str) -> Callable[..., Any]:
        token = api_token_create(user=UserFactory(role=role))

        def call(method: str, path: str, data: dict[str, Any] | None = None, **params: str) -> Any:
            auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
            if method == "get":
                return client.get(f"/api/v1/{path}", params, **auth)
            return client.post(f"/api/v1/{path}", data or {}, content_type="application/json", **auth)

        return call

    return for_role


def held_order(w: World, order: str = "SO-1", invoice: str = "INV-1", tracking: str = "1Z1", **kw: Any) -> None:
    ordered(w, order)
    shipped(w, order, shipment=f"SH-{order}", tracking=tracking)
    invoiced(w, order, invoice, **kw)


def test_the_holds_list_has_the_contract_item_and_filters(world: World, as_role: Any) -> None:
    held_order(world, "SO-1", "INV-1", "1Z1", value="125.00")
    held_order(world, "SO-2", "INV-2", "1Z2", value="80.50")
    failed(world, tracking="1Z2")
    finance = as_role("finance")
    page = finance("get", "invoice-holds/", status="held").json()
    assert page["count"] == 2
    assert set(page) == {"count", "next", "previous", "results"}
    item = page["results"][0]
    assert {k: item[k] for k in ("invoice", "order", "status", "reason", "amount", "released_at")} == {
        "invoice": "INV-1",
        "order": "SO-1",
        "status": "held",
        "reason": "awaiting_pod",
        "amount": {"value": "125.00", "currency": "EUR"},
        "released_at": None,
    }
    assert item["held_since"] == "2026-11-25T13:00:00+00:00"
    assert item["age_bucket"] == "0-2d"
    failed_page = finance("get", "invoice-holds/", reason="delivery_failed").json()
    assert [h["invoice"] for h in failed_page["results"]] == ["INV-2"]
    assert finance("get", "invoice-holds/", order="SO-2").json()["count"] == 1
    assert finance("get", "invoice-holds/", invoice="INV-1").json()["count"] == 1
    assert finance("get", "invoice-holds/", status="released").json()["count"] == 0
    assert finance("get", "invoice-holds/", reason="nonsense").status_code == 400


def test_holds_are_for_finance_and_admin_only(world: World, as_role: Any, client: Client) -> None:
    held_order(world)
    assert as_role("cs_agent")("get", "invoice-holds/").status_code == 403
    assert as_role("ops_lead")("get", "invoice-holds/").status_code == 403
    assert as_role("admin")("get", "invoice-holds/").status_code == 200
    assert client.get("/api/v1/invoice-holds/").status_code == 401


def test_finance_releases_a_hold_with_a_reason_and_a_cs_agent_is_refused(world: World, as_role: Any) -> None:
    held_order(world)
    hold = InvoiceHold.objects.get()
    refused = as_role("cs_agent")("post", f"invoice-holds/{hold.id}/release/", {"reason": "please"})
    assert refused.status_code == 403
    hold.refresh_from_db()
    assert hold.status == "held"
    finance = as_role("finance")
    assert finance("post", f"invoice-holds/{hold.id}/release/", {}).status_code == 400
    released = finance("post", f"invoice-holds/{hold.id}/release/", {"reason": "paid in advance"})
    assert released.status_code == 200
    assert (released.json()["status"], released.json()["outcome"]) == ("released", "manual")
    assert AuditLog.objects.filter(action="invoice_hold.released", target="invoice:INV-1").count() == 1
    assert finance("post", f"invoice-holds/{hold.id}/release/", {"reason": "again"}).status_code == 409
    assert finance("post", "invoice-holds/999999/release/", {"reason": "x"}).status_code == 404
    history = finance("get", f"invoice-holds/{hold.id}/").json()["history"]
    assert [h["action"] for h in history] == ["placed", "released"]
    assert history[-1]["detail"]["note"] == "paid in advance"


def test_a_dispute_is_placed_by_hand_over_the_api(world: World, as_role: Any) -> None:
    ordered(world)
    shipped(world)
    delivered(world, A_1=9)
    invoiced(world, at=T(20))
    body = {"order": "SO-1", "invoice": "INV-1", "reason": "price disputed by the customer"}
    assert as_role("cs_agent")("post", "invoice-holds/", body).status_code == 403
    finance = as_role("finance")
    placed = finance("post", "invoice-holds/", body)
    assert placed.status_code == 201
    assert (placed.json()["reason"], placed.json()["manual"]) == ("disputed", True)
    assert finance("post", "invoice-holds/", body).status_code == 409
    assert finance("post", "invoice-holds/", {**body, "invoice": "INV-9"}).status_code == 400
    assert finance("post", "invoice-holds/", {**body, "order": "SO-404"}).status_code == 400


def test_the_order_says_its_invoice_hold_and_its_reconciliation(world: World, as_role: Any) -> None:
    held_order(world)
    agent = as_role("cs_agent")
    order = agent("get", "orders/SO-1/").json()
    assert {k: order["invoice_hold"][k] for k in ("invoice", "status", "reason")} == {
        "invoice": "INV-1",
        "status": "held",
        "reason": "awaiting_pod",
    }
    rec = agent("get", "orders/SO-1/reconciliation/").json()
    assert rec["status"] in ("matched", "pending", "mismatched")
    assert set(rec) >= {"status", "findings"}
    delivered(world, A_1=7)
    rec = agent("get", "orders/SO-1/reconciliation/").json()
    assert rec["status"] == "mismatched"
    assert [f["rule"] for f in rec["findings"]] == ["quantity"]
    assert rec["findings"][0]["detail"] == "A-1: ordered 9, delivered 7"
    assert agent("get", "orders/SO-404/reconciliation/").status_code == 404


def test_hold_changed_is_pushed_through_the_channel_layer_with_the_api_item(
    world: World, as_role: Any, django_capture_on_commit_callbacks: Any, sent: SentEvents
) -> None:
    ordered(world)
    shipped(world)
    with django_capture_on_commit_callbacks(execute=True):
        invoiced(world)
    [message] = [m for m in sent_messages(sent) if m["type"] == "hold.changed"]
    strictly(message, HoldChangedMessage)
    strictly(message["hold"], HoldItem)
    listed = as_role("finance")("get", "invoice-holds/").json()["results"][0]
    pushed = message["hold"]
    assert {k: v for k, v in listed.items() if k not in ("age_bucket", "held_since")} == {
        k: v for k, v in pushed.items() if k != "held_since"
    }
    assert pushed["reason"] == "awaiting_pod"
