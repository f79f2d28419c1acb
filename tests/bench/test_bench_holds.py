"""`manage.py bench holds`: a small run times the five requests and leaves nothing behind; the
seeded mix is the one asked for; it refuses SQLite and a database behind the code. The full run
(50,000 holds, 200 requests each) is recorded by hand, not run here."""

import io
import os
from collections import Counter
from typing import Any

import orjson
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connections

from apps.accounts.models import ApiToken, AuditLog
from apps.bench import holds
from apps.correlation.models import Node
from apps.finance.models import HoldActivity, InvoiceHold

needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)

REQUESTS = {
    "page",
    "page, delivery failed 8-30d",
    "api, held",
    "api, held GBP page 5",
    "fragment (htmx refresh)",
}


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("bench", "holds", *args, "--json", "--no-http", stdout=out)
    result: dict[str, Any] = orjson.loads(out.getvalue())
    return result


def bench_rows() -> dict[str, int]:
    return {
        "holds": InvoiceHold.objects.filter(order_key__startswith=holds.PREFIX).count(),
        "activity": HoldActivity.objects.filter(hold__order_key__startswith=holds.PREFIX).count(),
        "orders": Node.objects.filter(kind="order", value__startswith=holds.PREFIX).count(),
        "users": User.objects.filter(username=holds.USERNAME).count(),
        "tokens": ApiToken.objects.filter(user__username=holds.USERNAME).count(),
        "audit": AuditLog.objects.filter(target=f"user:{holds.USERNAME}").count(),
    }


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_a_small_run_times_the_five_requests_and_cleans_up() -> None:
    result = run("--holds", "300", "--requests", "5")
    assert set(result["requests"]) == REQUESTS
    for name, row in result["requests"].items():
        timing = row["client"]
        assert timing["n"] == 5, name
        assert 0 < timing["p50_ms"] <= timing["p95_ms"] <= timing["max_ms"], name
        assert row["queries"] > 0, name
        assert "http" not in row  # --no-http (and inside the test's transaction)
    assert result["requests"]["fragment (htmx refresh)"]["url"] == "/finance/"
    # 300 holds hold about 29 GBP ones: page 5 does not exist, the last page is timed instead.
    assert result["requests"]["api, held GBP page 5"]["url"].endswith("&page=1")
    assert result["store"]["seeded"] == 300
    assert result["bar_on"] == "client"
    assert result["left_over"] == {"holds": 0, "orders": 0, "users": 0}
    assert bench_rows() == dict.fromkeys(bench_rows(), 0)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db
def test_the_seeded_holds_have_the_asked_mix_and_each_its_order() -> None:
    result = run("--holds", "2000", "--requests", "1", "--keep")
    assert result["kept"] is True
    seeded = InvoiceHold.objects.filter(order_key__startswith=holds.PREFIX)
    assert seeded.count() == 2000
    status = Counter(seeded.values_list("status", flat=True))
    reasons = Counter(seeded.values_list("reason", flat=True))
    currencies = Counter(seeded.values_list("currency", flat=True))
    assert 0.75 < status["held"] / 2000 < 0.85
    assert 0.55 < reasons["awaiting_pod"] / 2000 < 0.65
    assert all(0.1 < reasons[r] / 2000 < 0.2 for r in ("delivery_failed", "quantity_mismatch"))
    assert 0.07 < reasons["disputed"] / 2000 < 0.13
    assert 0.76 < currencies["EUR"] / 2000 < 0.84
    assert 0.09 < currencies["GBP"] / 2000 < 0.15
    assert 100 < seeded.values("customer").distinct().count() <= 300
    amounts = [a for a in seeded.values_list("amount", flat=True) if a is not None]
    assert len(amounts) == 2000
    assert min(amounts) >= 10
    assert max(amounts) <= 5000
    for hold in seeded.select_related("order")[:20]:
        assert hold.order.kind == "order"
        assert hold.order.value == hold.order_key
    released = seeded.filter(status="released")
    assert not released.filter(released_at__isnull=True).exists()
    assert not released.filter(outcome="").exists()
    assert HoldActivity.objects.filter(hold__in=seeded).count() == 2000 + released.count()
    assert holds.clean() == 2000
    assert bench_rows() == dict.fromkeys(bench_rows(), 0)


def test_it_refuses_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"the database is sqlite, not PostgreSQL"):
        call_command("bench", "holds", "--holds", "10", stdout=io.StringIO())


def test_it_refuses_a_database_behind_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections["default"], "vendor", "postgresql")
    monkeypatch.setattr(holds, "unapplied_migrations", lambda: ["finance.0009_new_column"])
    with pytest.raises(CommandError, match=r"1 unapplied migrations, e\.g\. finance\.0009_new_column.*migrate"):
        call_command("bench", "holds", "--holds", "10", stdout=io.StringIO())
