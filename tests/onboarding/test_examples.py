"""The example requests shown with the credentials work as shown: run with bash and curl
against the real server, the push, the signed push and the file upload are accepted."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from apps.accounts.services import api_token_create
from apps.ingestion.formats import FORMATS
from apps.onboarding.guide import content_type_of, examples
from apps.onboarding.services import draft_activate, draft_continue, draft_dry_run
from tests.browser.conftest import asgi_live_server  # noqa: F401 - the shared fixture

from .conftest import CSV_SAMPLE, made

needs_tools = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "curl", "openssl")), reason="needs bash, curl and openssl"
)


def run(command: str, cwd: Path) -> tuple[int, str]:
    """The command as the partner would paste it, with curl told to print the status last."""
    done = subprocess.run(
        ["bash", "-c", command + " \\\n  -s -w '\\n%{http_code}'"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status or 0), body + done.stderr


@pytest.mark.parametrize("format", list(FORMATS))
def test_each_format_is_posted_with_a_content_type_it_takes(format: str) -> None:
    shown = examples(base_url="https://ct.example", slug="s", format=format, token="ctf_x", hmac_secret="h")
    assert f"Content-Type: {content_type_of(format)}" in shown.ingest
    assert content_type_of(format) in FORMATS[format].content_types


@needs_tools
def test_the_examples_shown_are_accepted_by_the_real_server(
    asgi_live_server: Any,  # noqa: F811
    admin: Any,
    tmp_path: Path,
) -> None:
    (tmp_path / "events.csv").write_bytes(CSV_SAMPLE)
    draft, creds = made(admin, require_signature=True)
    shown = examples(
        base_url=asgi_live_server.url,
        slug=creds.slug,
        format="canonical-csv",
        token=creds.token,
        hmac_secret=creds.hmac_secret,
        signed_only=True,
    )
    status, body = run(shown.signed, tmp_path)
    assert status == 403, body  # paused until activated
    draft_continue(draft=draft, actor=admin, from_step="mapping")
    draft_dry_run(draft=draft, actor=admin, body=CSV_SAMPLE)
    draft_activate(draft=draft, actor=admin)

    status, body = run(shown.ingest, tmp_path)
    assert status == 401, body  # this feed requires the signature
    assert "requires a signature" in body
    status, body = run(shown.signed, tmp_path)
    assert status == 202, body
    assert '"received":2' in body.replace(" ", "")
    # A signed feed's files are uploaded by an admin, with a user API token in place of the feed's.
    assert "Authorization: Token <admin API token>" in shown.file_upload
    status, body = run(shown.file_upload.replace("<admin API token>", api_token_create(user=admin)), tmp_path)
    assert status == 202, body
    assert '"feed":"acme-wms"' in body.replace(" ", "")


@needs_tools
def test_an_unsigned_feed_uploads_its_files_with_its_own_token(
    asgi_live_server: Any,  # noqa: F811
    admin: Any,
    tmp_path: Path,
) -> None:
    (tmp_path / "events.csv").write_bytes(CSV_SAMPLE)
    draft, creds = made(admin, transport="file")
    draft_continue(draft=draft, actor=admin, from_step="mapping")
    draft_dry_run(draft=draft, actor=admin, body=CSV_SAMPLE)
    draft_activate(draft=draft, actor=admin)
    shown = examples(
        base_url=asgi_live_server.url, slug=creds.slug, format="canonical-csv", token=creds.token, hmac_secret="-"
    )
    status, body = run(shown.file_upload, tmp_path)
    assert status == 202, body
    status, body = run(shown.ingest, tmp_path)
    assert status == 202, body
