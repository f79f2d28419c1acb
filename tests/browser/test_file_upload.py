"""An admin uploads a carrier's X12 214 file on the feed page, in a real browser against the
real ASGI server: the file page follows the split and the processing, lists the order its
events landed on, offers the 997 to send back, and the order's timeline shows the carrier's
statuses with their X12 codes."""

import os
import re
from pathlib import Path
from typing import Any

import pytest

from apps.ingestion.models import IngestFile
from tests.browser.conftest import CHROMIUM
from tests.browser.test_feed_pages import SCREENSHOTS
from tests.correlation.conftest import World
from tests.factories import FeedFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
]

ISA = "ISA*00*          *00*          *02*ACMECARRIER    *ZZ*CONTROLTOWER   *261125*0800*U*00401*000000077*0*P*>~\n"


def carrier_file(path: Path) -> Path:
    segments = [
        "GS*QM*ACMECARRIER*CONTROLTOWER*20261125*0800*77*X*004010",
        "ST*214*0001",
        "B10*PRO-U1*SH-U1*ACME",
        "L11*SO-U1*OQ",
        "LX*1",
        "AT7*AF*NS***20261125*0900*UT",
        "MS1*CHICAGO*IL*US",
        "LX*2",
        "AT7*X1*NS***20261125*1500*UT",
        "MS1*MILWAUKEE*WI*US",
        "SE*10*0001",
        "GE*1*77",
        "IEA*1*000000077",
    ]
    path.write_text(ISA + "~\n".join(segments) + "~\n")
    return path


def test_an_admin_uploads_an_x12_file_and_sees_its_events_on_the_order(
    asgi_live_server: Any, page: Any, transactional_db: None, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    UserFactory(username="ada", role="admin")
    world = World()
    world.send("erp", "order.released", {"order": "SO-U1"}, "2026-11-25T07:00:00+00:00")
    feed = FeedFactory(slug="acme-214", format="x12", system="tms")

    page.goto(f"{asgi_live_server.url}/login/?next=/feeds/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name=feed.slug).first.click()
    expect(page.locator("#code-tables")).to_contain_text("x12.at7")
    page.locator("#upload-file").set_input_files(str(carrier_file(tmp_path / "acme-20261125.edi")))
    page.get_by_role("button", name="Upload and ingest").click()

    expect(page).to_have_url(re.compile(r"/files/[0-9a-f-]+/$"))
    expect(page.locator("#file-status")).to_have_text("done")
    expect(page.locator("#file-accepted")).to_have_text("2")
    expect(page.locator("#acknowledgements")).to_contain_text("000000077")
    expect(page.locator("#acknowledgements")).to_contain_text("accepted")
    page.screenshot(path=SCREENSHOTS / "file_upload.png", full_page=True)
    record = IngestFile.objects.get()
    assert record.name == "acme-20261125.edi"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download 997").click()
    ack = Path(download.value.path()).read_text()
    assert ack.startswith("ISA*")
    assert "AK1*QM*77" in ack
    assert "AK9*A*1*1*1" in ack

    page.locator("#file-orders").get_by_role("link", name="SO-U1").click()
    expect(page).to_have_url(re.compile(r"/orders/SO-U1/$"))
    events = page.locator("#events")
    expect(events).to_contain_text("X1")
    expect(events).to_contain_text("AF")
    expect(events).to_contain_text("acme-214")
