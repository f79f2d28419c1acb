"""The ERP snapshot run pages: upload, history, the run's page (its findings, filter, links, report)
and its self-refreshing progress while running; upload problems flashed."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.finance.models import SnapshotRun
from apps.finance.services.snapshots import snapshot_run_create, snapshot_run_process
from tests.correlation.conftest import World
from tests.factories import UserFactory

from .test_snapshots import EXAMPLE, build_tower


@pytest.fixture
def tower(world: World) -> World:
    return build_tower(world)


@pytest.fixture
def finance_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(role="finance"))
    return client


# --- the pages -----------------------------------------------------------------------------


def test_pages_upload_then_detail_with_findings_and_report(
    tower: World, finance_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    page = finance_client.get("/finance/runs/")
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content
    assert b"No runs yet" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(
            "/finance/runs/",
            {"file": SimpleUploadedFile("erp.csv", EXAMPLE), "from": "2026-11-25T00:00", "until": ""},
        )
    run = SnapshotRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/finance/runs/{run.id}/"
    assert run.window_from == datetime(2026, 11, 25, tzinfo=UTC)
    detail = finance_client.get(response["Location"]).content.decode()
    assert "Download report (CSV)" in detail
    assert 'href="/orders/SO-3/"' in detail  # a known order links to its page
    assert 'href="/orders/SO-8/"' not in detail  # missing in the tower: nothing to link to
    assert "qty: not a whole number" in detail
    assert 'hx-trigger="every 2s"' not in detail
    only = finance_client.get(
        response["Location"], {"rule": "quantity"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-findings"
    )
    assert "A-1: ERP 5, control tower 4" in only.content.decode()
    assert "ERP 135.00 EUR" not in only.content.decode()
    assert "<html" not in only.content.decode()
    report = finance_client.get(f"/finance/runs/{run.id}/report.csv")
    assert report.status_code == 200
    assert b"".join(report.streaming_content).startswith(b"order,result,rule,detail\r\nSO-1,matched,,")
    history = finance_client.get("/finance/runs/").content.decode()
    assert f"/finance/runs/{run.id}/" in history


def test_pages_a_running_run_polls_itself(finance_client: Client) -> None:
    run = snapshot_run_create(body=EXAMPLE, filename="e.csv", uploaded_by=None, window_from=None, window_until=None)
    SnapshotRun.objects.filter(pk=run.id).update(rows=12, rows_done=6)
    page = finance_client.get(f"/finance/runs/{run.id}/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "6 of 12 rows (50 %)" in page
    assert "Download report (CSV)" not in page
    fragment = finance_client.get(f"/finance/runs/{run.id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-live")
    assert fragment.content.decode().lstrip().startswith('<div id="run-live"')
    snapshot_run_process(run.id)
    done = finance_client.get(f"/finance/runs/{run.id}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-live")
    assert 'hx-trigger="every 2s"' not in done.content.decode()  # done: the polling stops
    assert finance_client.get(f"/finance/runs/{run.id + 1}/").status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Choose the ERP export"),
        ({"file": b""}, "is empty"),
        ({"file": EXAMPLE, "from": "soon"}, "from: not a time"),
    ],
)
def test_pages_upload_problems_are_flashed(finance_client: Client, fields: dict[str, Any], message: str) -> None:
    data = {k: SimpleUploadedFile("erp.csv", v) if k == "file" else v for k, v in fields.items()}
    response = finance_client.post("/finance/runs/", data, follow=True)
    assert message in response.content.decode()
    assert not SnapshotRun.objects.exists()


def test_pages_a_failed_run_says_why(finance_client: Client) -> None:
    run = snapshot_run_create(
        body=b"order,qty\n", filename="e.csv", uploaded_by=None, window_from=None, window_until=None
    )
    snapshot_run_process(run.id)
    page = finance_client.get(f"/finance/runs/{run.id}/").content.decode()
    assert "The run failed: nothing was compared." in page
    assert "header: missing columns status, invoice" in page
    assert "Findings" not in page
    history = finance_client.get("/finance/runs/").content.decode()
    assert 'class="badge status-failed"' in history
