"""The finance screen and the finance parts of the order page, server-rendered."""

import pytest
from django.test import Client

from apps.finance.models import InvoiceHold
from tests.correlation.conftest import World
from tests.factories import UserFactory

from .conftest import delivered, failed, invoiced, ordered, shipped

pytestmark = pytest.mark.django_db


def login(client: Client, role: str) -> Client:
    client.force_login(UserFactory(role=role))
    return client


def two_holds(w: World) -> None:
    for order, tracking, value in (("SO-1", "1Z1", "125.00"), ("SO-2", "1Z2", "80.50")):
        ordered(w, order)
        shipped(w, order, shipment=f"SH-{order}", tracking=tracking)
        invoiced(w, order, f"INV-{order[-1]}", value=value)
    failed(w, tracking="1Z2")


def test_the_holds_page_shows_amounts_reasons_totals_and_filters(world: World, client: Client) -> None:
    two_holds(world)
    page = login(client, "finance").get("/finance/").content.decode()
    assert "205.50" in page
    assert "POD of SH-SO-1 missing; 0 of 1 shipments delivered" in page
    assert "ADDRESS_UNKNOWN" in page
    assert 'id="hold-chart-data"' in page
    filtered = client.get("/finance/", {"reason": "delivery_failed"}).content.decode()
    assert "INV-2" in filtered
    assert "INV-1" not in filtered
    assert "No hold matches these filters" in client.get("/finance/", {"q": "INV-404"}).content.decode()


def test_the_csv_export_has_every_filtered_hold(world: World, client: Client) -> None:
    two_holds(world)
    response = login(client, "finance").get("/finance/", {"format": "csv", "reason": "awaiting_pod"})
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("invoice,order,customer,status,reason,amount,currency,held_since")
    assert len(lines) == 2
    assert lines[1].startswith("INV-1,SO-1,Acme Retail,held,awaiting_pod,125.00,EUR,")


def test_other_roles_cannot_open_the_screen_or_release(world: World, client: Client) -> None:
    two_holds(world)
    hold = InvoiceHold.objects.get(invoice="INV-1")
    login(client, "cs_agent")
    assert client.get("/finance/").status_code == 403
    assert client.post(f"/finance/holds/{hold.id}/release/", {"reason": "x"}).status_code == 403
    assert client.post("/finance/orders/SO-1/dispute/", {"invoice": "INV-1", "reason": "x"}).status_code == 403
    hold.refresh_from_db()
    assert hold.status == "held"
    assert "Open invoice holds" not in client.get("/").content.decode()


def test_finance_releases_from_the_page_and_the_home_page_leads_there(world: World, client: Client) -> None:
    two_holds(world)
    login(client, "finance")
    home = client.get("/").content.decode()
    assert "Open invoice holds" in home
    assert "205.50 EUR" in home
    hold = InvoiceHold.objects.get(invoice="INV-1")
    assert client.post(f"/finance/holds/{hold.id}/release/", {"reason": ""}, follow=True).status_code == 200
    hold.refresh_from_db()
    assert hold.status == "held"  # a release needs a reason
    response = client.post(f"/finance/holds/{hold.id}/release/", {"reason": "prepaid"}, follow=True)
    assert "Invoice INV-1 released." in response.content.decode()
    hold.refresh_from_db()
    assert (hold.status, hold.release_note) == ("released", "prepaid")


def test_the_order_page_shows_its_hold_and_findings_and_finance_can_dispute(world: World, client: Client) -> None:
    ordered(world)
    shipped(world)
    delivered(world, A_1=7)
    invoiced(world, at="2026-11-25T20:00:00+00:00")
    agent = login(client, "cs_agent").get("/orders/SO-1/").content.decode()
    assert "A-1: ordered 9, delivered 7" in agent
    assert "Quantity mismatch" in agent
    assert "Dispute an invoice" not in agent
    client.logout()
    login(client, "finance")
    InvoiceHold.objects.all().delete()
    response = client.post("/finance/orders/SO-1/dispute/", {"invoice": "INV-1", "reason": "price"}, follow=True)
    assert "Invoice INV-1 is on hold (disputed)." in response.content.decode()
    assert InvoiceHold.objects.get().reason == "disputed"


def test_the_list_shows_25_rows_a_page_or_more_on_request(world: World, client: Client) -> None:
    for n in range(30):
        ordered(world, f"SO-{n}")
        shipped(world, f"SO-{n}", shipment=f"SH-{n}", tracking=f"1Z{n}")
        invoiced(world, f"SO-{n}", f"INV-{n}")
    login(client, "finance")
    assert client.get("/finance/").content.decode().count('data-hold="') == 25
    assert client.get("/finance/", {"per_page": "50"}).content.decode().count('data-hold="') == 30
    assert client.get("/finance/", {"per_page": "7"}).content.decode().count('data-hold="') == 25
