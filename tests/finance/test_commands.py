"""`manage.py reconcile_orders`: the due orders, or --all of them (after a rebuild)."""

import io

import pytest
from django.core.management import call_command

from apps.exceptions.models import ExceptionCase
from apps.finance.models import InvoiceHold, OrderReconciliation
from tests.correlation.conftest import World

from .conftest import T, delivered, invoiced, ordered, shipped

pytestmark = pytest.mark.django_db


def test_all_brings_back_holds_and_verdicts_from_the_ledgers(world: World) -> None:
    ordered(world)
    shipped(world)
    invoiced(world)
    ordered(world, "SO-2")
    shipped(world, "SO-2", shipment="SH-2", tracking="1Z2")
    delivered(world, tracking="1Z2", A_1=5)
    before = sorted(InvoiceHold.objects.values_list("invoice", "status", "reason"))
    verdicts = sorted(OrderReconciliation.objects.values_list("order_key", "status"))
    assert before == [("INV-1", "held", "awaiting_pod")]
    assert ("SO-2", "mismatched") in verdicts
    InvoiceHold.objects.all().delete()
    OrderReconciliation.objects.all().delete()
    ExceptionCase.objects.filter(kind="reconciliation").delete()
    out = io.StringIO()
    call_command("reconcile_orders", "--all", stdout=out)
    assert "2 orders evaluated" in out.getvalue()
    assert sorted(InvoiceHold.objects.values_list("invoice", "status", "reason")) == before
    assert sorted(OrderReconciliation.objects.values_list("order_key", "status")) == verdicts
    assert ExceptionCase.objects.filter(kind="reconciliation", code="quantity", status="open").exists()


def test_without_all_it_runs_the_sweep_as_of_a_time(world: World) -> None:
    ordered(world)
    shipped(world)
    delivered(world, at=T(16))
    out = io.StringIO()
    call_command("reconcile_orders", "--now", "2026-11-28T00:00:00Z", stdout=out)
    assert "1 orders evaluated (1 mismatched)" in out.getvalue()
    assert ExceptionCase.objects.filter(code="delivered_not_invoiced", status="open").exists()
