"""ERP snapshot runs (http-api.md "ERP snapshot runs"): the contract's example and each rule's
finding against a tower state built through the real pipeline, missing_in_tower and
missing_in_snapshot, progress in chunks, the API and the management command (the parser:
test_snapshot_csv.py; the pages: test_snapshot_pages.py). The clock is frozen at
tests/finance/conftest.py's NOW (2026-11-26 09:00 UTC)."""

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from apps.finance.models import SnapshotFinding, SnapshotRun
from apps.finance.services import snapshots
from apps.finance.services.snapshots import snapshot_run_create, snapshot_run_process
from tests.correlation.conftest import World
from tests.factories import UserFactory

from .conftest import T, invoiced, ordered, shipped

HEADER = "order,status,invoice,amount,currency,sku,qty\n"
RUNS = "/api/v1/reconciliation/runs/"


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(f"{r}\n" for r in rows)).encode()


def posted(w: World, order: str, invoice: str, at: str = T(14)) -> None:
    w.send("erp", "invoice.posted", {"order": order, "invoice": invoice}, at)


def run_of(body: bytes, **window: datetime | None) -> SnapshotRun:
    run = snapshot_run_create(
        body=body,
        filename="erp.csv",
        uploaded_by=None,
        window_from=window.get("window_from"),
        window_until=window.get("window_until"),
        enqueue=False,
    )
    return snapshot_run_process(run.id)


def findings(run: SnapshotRun) -> list[tuple[str, str, str]]:
    return list(run.findings.order_by("id").values_list("order_key", "rule", "detail"))


def build_tower(world: World) -> World:
    """SO-1 invoiced as the file says; SO-2 shipped; SO-3 invoiced at 125.00 (the file: 135.00);
    SO-4 only created (the file: shipped); SO-5 with INV-5 (the file: INV-9); SO-6 ordered 4 of
    A-1 (the file: 5); SO-7 cancelled."""
    ordered(world, "SO-1", A_1=9, B_2=3)
    shipped(world, "SO-1", "SH-1", "1Z1")
    invoiced(world, "SO-1", "INV-1")
    posted(world, "SO-1", "INV-1")
    ordered(world, "SO-2", A_1=4)
    shipped(world, "SO-2", "SH-2", "1Z2")
    ordered(world, "SO-3", A_1=1)
    invoiced(world, "SO-3", "INV-3", value="125.00")
    posted(world, "SO-3", "INV-3")
    ordered(world, "SO-4", A_1=2)
    ordered(world, "SO-5", A_1=1)
    invoiced(world, "SO-5", "INV-5")
    posted(world, "SO-5", "INV-5")
    ordered(world, "SO-6", A_1=4, C_3=1)
    ordered(world, "SO-7", A_1=1)
    world.send("erp", "order.cancelled", {"order": "SO-7"}, T(9))
    return world


@pytest.fixture
def tower(world: World) -> World:
    return build_tower(world)


EXAMPLE = csv_of(
    "SO-1,invoiced,INV-1,125.00,EUR,A-1,9",
    "SO-1,invoiced,INV-1,125.00,EUR,B-2,3",
    "SO-2,shipped,,,,A-1,4",
    "SO-3,invoiced,INV-3,135.00,EUR,A-1,1",
    "SO-4,shipped,,,,A-1,2",
    "SO-5,invoiced,INV-9,125.00,EUR,A-1,1",
    "SO-6,open,,,,A-1,5",
    "SO-6,open,,,,C-3,1",
    "SO-7,cancelled,,,,A-1,1",
    "SO-8,open,,,,A-1,1",
    "SO-1,invoiced,INV-1,125.00,EUR,A-1,x",
    "SO-9,shiped,,,,A-1,1",
)


# --- matching ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_contract_example(tower: World) -> None:
    run = run_of(EXAMPLE)
    assert run.status == "done"
    counts = (run.rows, run.orders, run.matched, run.mismatched, run.missing_in_tower, run.missing_in_snapshot)
    assert counts == (12, 8, 3, 4, 1, None)
    assert run.errors == [
        {"row": 12, "error": "qty: not a whole number"},
        {
            "row": 13,
            "error": "status: unknown 'shiped' (one of open, shipped, delivered, invoiced, cancelled, returned)",
        },
    ]
    assert (run.error_count, run.rows_done, run.failure) == (2, 12, "")
    assert findings(run) == [
        ("SO-3", "amount", "ERP 135.00 EUR, invoice INV-3 125.00 EUR"),
        ("SO-4", "status", "ERP shipped, control tower created (open in ERP terms)"),
        ("SO-5", "invoice", "ERP INV-9, not an invoice the control tower knows for SO-5 (it knows INV-5)"),
        ("SO-6", "quantity", "A-1: ERP 5, control tower 4"),
        ("SO-8", "missing_in_tower", "the control tower has never heard of SO-8 (ERP open)"),
    ]
    assert run.finished_at is not None


@pytest.mark.django_db
def test_one_finding_per_difference(tower: World) -> None:
    run = run_of(
        csv_of(
            "SO-3,delivered,INV-3,125.004,USD,A-1,2",
            "SO-3,delivered,,,,Z-9,1",
            "SO-1,invoiced,INV-1,,,A-1,9",
            "SO-2,shipped,,,,,",
            "SO-4,open,INV-4,10.00,EUR,A-1,2",
        )
    )
    assert findings(run) == [
        ("SO-3", "status", "ERP delivered, control tower invoiced (invoiced in ERP terms)"),
        ("SO-3", "amount", "ERP 125.00 USD, invoice INV-3 125.00 EUR"),
        ("SO-3", "quantity", "A-1: ERP 2, control tower 1"),
        ("SO-3", "quantity", "Z-9: ERP 1, control tower not ordered"),
        ("SO-1", "quantity", "B-2: ERP not in the file, control tower 3"),
        ("SO-4", "invoice", "ERP INV-4, not an invoice the control tower knows for SO-4 (it knows none)"),
    ]
    # SO-2: no lines in the file, so no quantities to compare; a status that names its stage.
    assert (run.matched, run.mismatched) == (1, 3)


@pytest.mark.django_db
def test_empty_stage_is_open_and_an_order_without_ordered_lines(world: World) -> None:
    world.send("wms", "pick.started", {"order": "SO-1", "warehouse_task": "WT-1"}, T(9))
    world.send("erp", "order.on_hold", {"order": "SO-2"}, T(9))
    run = run_of(csv_of("SO-1,open,,,,A-1,1", "SO-2,open,,,,,"))
    assert findings(run) == [
        (
            "SO-1",
            "quantity",
            "ERP A-1: 1; the control tower has no ordered lines (no order.created / order.changed with lines)",
        )
    ]
    assert (run.matched, run.mismatched) == (1, 1)


@pytest.mark.django_db
def test_missing_in_snapshot_counts_orders_created_in_the_window(tower: World) -> None:
    ordered(tower, "SO-OLD", at="2026-11-24T08:00:00+00:00")
    ordered(tower, "SO-LATE", at="2026-11-25T23:30:00+00:00")
    body = csv_of(
        "SO-1,invoiced,INV-1,125.00,EUR,A-1,9", "SO-1,invoiced,INV-1,125.00,EUR,B-2,3", "SO-2,shipped,,,,A-1,4"
    )
    window = {
        "window_from": datetime(2026, 11, 25, tzinfo=UTC),
        "window_until": datetime(2026, 11, 25, 23, tzinfo=UTC),
    }
    run = run_of(body, **window)
    assert (run.matched, run.missing_in_snapshot) == (2, 5)  # SO-3 … SO-7
    missing = [f for f in findings(run) if f[1] == "missing_in_snapshot"]
    assert [f[0] for f in missing] == ["SO-3", "SO-4", "SO-5", "SO-6", "SO-7"]
    assert missing[0][2] == (
        "the control tower has SO-3 (stage invoiced, created 2026-11-25T08:00:00Z); the file does not mention it"
    )
    assert run_of(body, window_from=datetime(2026, 11, 25, 23, tzinfo=UTC)).missing_in_snapshot == 1  # SO-LATE
    assert run_of(body).missing_in_snapshot is None


@pytest.mark.django_db
def test_a_run_that_cannot_be_read_fails_with_its_reason(world: World) -> None:
    run = run_of(b"order,status,sku,qty\nSO-1,open,A-1,1\n")
    assert run.status == "failed"
    assert run.failure.startswith("header: missing columns invoice, amount, currency")
    assert run.finished_at is not None
    assert not run.findings.exists()
    assert run_of(b"\xff\xfe\x00o\x00r").failure.startswith("not UTF-8")


@pytest.mark.django_db
def test_chunks_store_progress_and_a_second_delivery_starts_over(tower: World, monkeypatch: Any) -> None:
    monkeypatch.setattr(snapshots, "CHUNK", 2)
    run = snapshot_run_create(body=EXAMPLE, filename="e.csv", uploaded_by=None, window_from=None, window_until=None)
    seen: list[tuple[int, int]] = []
    done = snapshot_run_process(run.id, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(5, 12), (7, 12), (10, 12), (12, 12), (12, 12)]  # 2 rows left out are done at once
    assert (done.matched, done.mismatched, done.missing_in_tower) == (3, 4, 1)
    SnapshotRun.objects.filter(pk=run.id).update(status="running")
    again = snapshot_run_process(run.id)
    assert SnapshotFinding.objects.filter(run=again).count() == 5  # not twice
    assert snapshot_run_process(run.id).status == "done"  # a finished run is left as it is


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def finance_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(role="finance"))
    return client


@pytest.fixture
def upload(finance_client: Client, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def post(body: bytes | None, **fields: str) -> Any:
        data: dict[str, Any] = dict(fields)
        if body is not None:
            data["file"] = SimpleUploadedFile("erp.csv", body, content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):  # the after-commit enqueue (eager)
            return finance_client.post(RUNS, data)

    return post


def test_api_creates_a_run_that_is_then_polled_done(tower: World, upload: Any, finance_client: Client) -> None:
    response = upload(EXAMPLE, **{"from": "2026-11-25T00:00:00Z", "until": "2026-11-26T00:00:00+00:00"})
    assert response.status_code == 201
    run_id = response.json()["run_id"]
    assert set(response.json()) == {"run_id"}
    body = finance_client.get(f"{RUNS}{run_id}/").json()
    contract = {k: body[k] for k in ("run_id", "status", "rows", "orders", "matched", "mismatched", "missing_in_tower")}
    assert contract == {
        "run_id": run_id,
        "status": "done",
        "rows": 12,
        "orders": 8,
        "matched": 3,
        "mismatched": 4,
        "missing_in_tower": 1,
    }
    assert body["missing_in_snapshot"] == 0
    assert body["errors"][0] == {"row": 12, "error": "qty: not a whole number"}
    assert body["findings"][0] == {
        "order": "SO-3",
        "rule": "amount",
        "detail": "ERP 135.00 EUR, invoice INV-3 125.00 EUR",
    }
    assert (body["findings_count"], body["error_count"], body["filename"], body["rows_done"]) == (5, 2, "erp.csv", 12)
    assert body["created_at"] == "2026-11-26T09:00:00Z"
    assert body["failure"] == ""
    listed = finance_client.get(RUNS).json()
    assert listed["count"] == 1
    assert listed["results"][0]["run_id"] == run_id
    assert listed["results"][0]["uploaded_by"].startswith("user")


def test_api_findings_are_paginated_and_filtered(tower: World, upload: Any, finance_client: Client) -> None:
    run_id = upload(EXAMPLE).json()["run_id"]
    page = finance_client.get(f"{RUNS}{run_id}/findings/", {"page_size": 2}).json()
    assert page["count"] == 5
    assert [f["order"] for f in page["results"]] == ["SO-3", "SO-4"]
    assert page["next"] is not None
    second = finance_client.get(page["next"]).json()
    assert [f["order"] for f in second["results"]] == ["SO-5", "SO-6"]
    by_rule = finance_client.get(f"{RUNS}{run_id}/findings/", {"rule": "missing_in_tower"}).json()
    assert [f["order"] for f in by_rule["results"]] == ["SO-8"]
    by_order = finance_client.get(f"{RUNS}{run_id}/findings/", {"order": "SO-6"}).json()
    assert by_order["results"] == [{"order": "SO-6", "rule": "quantity", "detail": "A-1: ERP 5, control tower 4"}]
    assert finance_client.get(f"{RUNS}{run_id}/findings/", {"rule": "nope"}).status_code == 400


def test_api_report_csv(tower: World, upload: Any, finance_client: Client) -> None:
    run_id = upload(EXAMPLE).json()["run_id"]
    response = finance_client.get(f"{RUNS}{run_id}/report.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["order", "result", "rule", "detail"],
        ["SO-1", "matched", "", ""],
        ["SO-2", "matched", "", ""],
        ["SO-3", "mismatched", "amount", "ERP 135.00 EUR, invoice INV-3 125.00 EUR"],
        ["SO-4", "mismatched", "status", "ERP shipped, control tower created (open in ERP terms)"],
        [
            "SO-5",
            "mismatched",
            "invoice",
            "ERP INV-9, not an invoice the control tower knows for SO-5 (it knows INV-5)",
        ],
        ["SO-6", "mismatched", "quantity", "A-1: ERP 5, control tower 4"],
        ["SO-7", "matched", "", ""],
        ["SO-8", "missing_in_tower", "missing_in_tower", "the control tower has never heard of SO-8 (ERP open)"],
        ["SO-1", "error", "row", "row 12: qty: not a whole number"],
        [
            "SO-9",
            "error",
            "row",
            "row 13: status: unknown 'shiped' (one of open, shipped, delivered, invoiced, cancelled, returned)",
        ],
    ]


@pytest.mark.parametrize(
    ("body", "fields", "field", "text"),
    [
        (None, {}, "file", "required"),
        (b"", {}, "file", "the file is empty"),
        (EXAMPLE, {"from": "2026-11-25"}, "from", "not an RFC 3339 time"),
        (EXAMPLE, {"until": "2026-11-25T10:00:00"}, "until", "not an RFC 3339 time"),
        (EXAMPLE, {"from": "2026-11-25T10:00:00Z", "until": "2026-11-25T09:00:00Z"}, "until", "must be after from"),
    ],
)
def test_api_400s(upload: Any, body: bytes | None, fields: dict[str, str], field: str, text: str) -> None:
    response = upload(body, **fields)
    assert response.status_code == 400
    assert text in response.json()[field][0]
    assert not SnapshotRun.objects.exists()


def test_api_413_over_the_size_limit(upload: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("apps.finance.api.runs.MAX_UPLOAD_BYTES", 100)
    assert upload(EXAMPLE * 2).status_code == 413


def test_api_a_file_that_is_not_utf8_gives_a_failed_run(upload: Any, finance_client: Client) -> None:
    run_id = upload(b"order,status\xff\n").json()["run_id"]
    body = finance_client.get(f"{RUNS}{run_id}/").json()
    assert (body["status"], body["failure"][:10]) == ("failed", "not UTF-8:")
    report = finance_client.get(f"{RUNS}{run_id}/report.csv")
    assert b"".join(report.streaming_content).decode().splitlines()[1].startswith(",failed,,not UTF-8")


@pytest.mark.django_db
def test_api_needs_view_finance_and_unknown_runs_are_404(finance_client: Client) -> None:
    run = run_of(EXAMPLE)
    agent = Client()
    agent.force_login(UserFactory(role="cs_agent"))
    for path in (RUNS, f"{RUNS}{run.id}/", f"{RUNS}{run.id}/findings/", f"{RUNS}{run.id}/report.csv"):
        assert agent.get(path).status_code == 403, path
        assert Client().get(path).status_code in (401, 403), path
    upload = SimpleUploadedFile("erp.csv", EXAMPLE, content_type="text/csv")
    assert agent.post(RUNS, {"file": upload}).status_code == 403
    assert finance_client.get(f"{RUNS}{run.id + 1}/").status_code == 404
    assert agent.get(f"/finance/runs/{run.id}/").status_code == 403


def test_api_report_of_a_running_run_is_409(finance_client: Client) -> None:
    run = snapshot_run_create(body=EXAMPLE, filename="e.csv", uploaded_by=None, window_from=None, window_until=None)
    assert finance_client.get(f"{RUNS}{run.id}/report.csv").status_code == 409
    assert finance_client.get(f"{RUNS}{run.id}/").json()["status"] == "running"


# --- the management command ---------------------------------------------------------------


@pytest.mark.django_db
def test_command_processes_and_prints_the_run(tower: World, tmp_path: Path) -> None:
    path = tmp_path / "erp.csv"
    path.write_bytes(EXAMPLE)
    out = io.StringIO()
    call_command(
        "reconcile_snapshot", str(path), "--json", "--from", "2026-11-25T00:00:00Z", stdout=out, stderr=io.StringIO()
    )
    body = orjson.loads(out.getvalue())
    assert (body["status"], body["matched"], body["mismatched"], body["missing_in_snapshot"]) == ("done", 3, 4, 0)
    assert SnapshotRun.objects.get().uploaded_by is None
    text = io.StringIO()
    call_command("reconcile_snapshot", str(path), stdout=text, stderr=io.StringIO())
    assert "matched              3" in text.getvalue()
    assert "SO-3 amount: ERP 135.00 EUR, invoice INV-3 125.00 EUR" in text.getvalue()


@pytest.mark.django_db
def test_command_exits_1_when_the_run_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"order,qty\n")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile_snapshot", str(path), stdout=out, stderr=io.StringIO())
    assert exit_.value.code == 1
    assert "failed: header: missing columns" in out.getvalue()
