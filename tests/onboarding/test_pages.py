"""The wizard's pages without a browser: who may open them, the steps in order, the
credentials shown once, the mapping editor, and the dry run as htmx and as a plain form."""

import re
from typing import Any

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.accounts.models import AuditLog
from apps.feeds.models import Feed, FeedCodeTable
from apps.ingestion.models import RawMessage
from apps.onboarding.models import OnboardingDraft
from tests.correlation.conftest import World

from .conftest import CSV_SAMPLE, made, planned
from .test_services import PARTNER_JSON

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(admin: Any) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def test_an_ops_lead_gets_403_and_no_link(ops_lead: Any, admin: Any) -> None:
    draft, _ = made(admin)
    client = Client()
    client.force_login(ops_lead)
    for url in (
        "/onboarding/",
        "/onboarding/new/",
        f"/onboarding/{draft.pk}/",
        f"/onboarding/{draft.pk}/mapping/",
        f"/onboarding/{draft.pk}/dry-run/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/onboarding/{draft.pk}/activate/").status_code == 403
    assert Feed.objects.get(slug="acme-wms").is_paused
    assert "/onboarding/" not in text(client.get("/feeds/"))


def test_login_is_needed(client: Client, db: None) -> None:
    response = client.get("/onboarding/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_index_is_empty_at_first_and_lists_a_draft_to_resume(browser: Client, admin: Any) -> None:
    page = text(browser.get("/onboarding/"))
    assert "No onboarding in progress." in page
    assert 'href="/onboarding/"' in text(browser.get("/feeds/"))  # the admin's navigation has it
    draft = planned(admin, slug="half-way")
    page = text(browser.get("/onboarding/"))
    assert "half-way" in page
    assert f'href="/onboarding/{draft.pk}/"' in page
    assert browser.get(f"/onboarding/{draft.pk}/")["Location"] == f"/onboarding/{draft.pk}/credentials/"


def test_the_steps_in_order_with_the_credentials_shown_once(browser: Client) -> None:
    response = browser.post("/onboarding/new/", {"existing": "", "new_name": ""})
    assert "Choose an existing partner or type the new partner" in text(response)
    response = browser.post("/onboarding/new/", {"new_name": "ACME Logistics"})
    draft = OnboardingDraft.objects.get()
    assert response["Location"] == f"/onboarding/{draft.pk}/feed/"
    # A step not reached yet sends back to the furthest one.
    assert browser.get(f"/onboarding/{draft.pk}/dry-run/")["Location"] == f"/onboarding/{draft.pk}/feed/"

    form = {"slug": "acme wms", "system": "wms", "format": "canonical-csv", "transport": "push", "timezone": "UTC"}
    assert "Enter a valid “slug”" in text(browser.post(f"/onboarding/{draft.pk}/feed/", form))
    form |= {"slug": "acme-wms", "timezone": "Nowhere/City"}
    assert "is not an IANA time zone" in text(browser.post(f"/onboarding/{draft.pk}/feed/", form))
    form |= {"timezone": "Europe/Berlin"}
    response = browser.post(f"/onboarding/{draft.pk}/feed/", form)
    assert response["Location"] == f"/onboarding/{draft.pk}/credentials/"
    page = text(browser.get(f"/onboarding/{draft.pk}/credentials/"))
    assert "Create the feed and show its credentials" in page
    assert not Feed.objects.exists()

    response = browser.post(f"/onboarding/{draft.pk}/credentials/", {"action": "create"})
    page = text(response)
    assert "no-store" in response["Cache-Control"]
    token = re.search(r'id="feed-token" value="(ctf_[^"]+)"', page)
    assert token is not None
    assert "Content-Type: text/csv" in page
    assert "http://testserver/api/v1/ingest/acme-wms/" in page
    assert "http://testserver/api/v1/feeds/acme-wms/files/" in page
    assert "-F file=@events.csv" in page
    assert Feed.objects.get(slug="acme-wms").is_paused
    # Shown once: afterwards the page says so, and shows only the prefix.
    page = text(browser.get(f"/onboarding/{draft.pk}/credentials/"))
    assert token.group(1) not in page
    assert "credentials were shown then, once" in page
    assert token.group(1)[:10] in page

    response = browser.post(f"/onboarding/{draft.pk}/credentials/", {"action": "continue"})
    assert response["Location"] == f"/onboarding/{draft.pk}/mapping/"
    page = text(browser.get(f"/onboarding/{draft.pk}/mapping/"))
    assert "No code tables for canonical-csv." in page
    response = browser.post(f"/onboarding/{draft.pk}/mapping/", {"action": "continue"})
    assert response["Location"] == f"/onboarding/{draft.pk}/dry-run/"
    # Activation needs a dry run first.
    response = browser.post(f"/onboarding/{draft.pk}/dry-run/", {"action": "continue"}, follow=True)
    assert "run the feed on a sample first" in text(response)


def test_the_dry_run_is_swapped_in_by_htmx_and_works_as_a_plain_form(browser: Client, admin: Any) -> None:
    World().send("erp", "order.released", {"order": "SO-77"})
    draft, _ = made(admin)
    browser.post(f"/onboarding/{draft.pk}/mapping/", {"action": "continue"})
    assert "No dry run yet." in text(browser.get(f"/onboarding/{draft.pk}/dry-run/"))

    upload = SimpleUploadedFile("acme.csv", CSV_SAMPLE, content_type="text/csv")
    response = browser.post(
        f"/onboarding/{draft.pk}/dry-run/", {"action": "run", "file": upload}, HTTP_HX_REQUEST="true"
    )
    page = text(response)
    assert response["Vary"].count("HX-Request") == 1
    assert 'id="dry-run-result"' in page
    assert re.search(r"<strong class=\"big\">2</strong> events", page)
    assert 'href="/orders/SO-77/"' in page
    assert "Continue to activation" in page
    assert RawMessage.objects.filter(feed__slug="acme-wms").count() == 0

    # Without JavaScript: the pasted text, the whole page back, with a rejection and its reason.
    bad = CSV_SAMPLE + b"w-3,pick.completed,2026-11-25T12:00:00,SO-77,DC-EAST\n"
    page = text(browser.post(f"/onboarding/{draft.pk}/dry-run/", {"action": "run", "sample": bad.decode()}))
    assert "<h1>5. Dry run" in page
    assert "Rejected" in page
    assert "row 3" in page
    response = browser.post(f"/onboarding/{draft.pk}/dry-run/", {"action": "continue"})
    assert response["Location"] == f"/onboarding/{draft.pk}/activate/"
    page = text(browser.get(f"/onboarding/{draft.pk}/activate/"))
    assert "The last dry run was not clean." in page

    response = browser.post(f"/onboarding/{draft.pk}/activate/")
    assert response["Location"] == "/feeds/acme-wms/"
    assert not Feed.objects.get(slug="acme-wms").is_paused
    # A finished onboarding resumes on its feed's page, and is listed as activated.
    assert browser.get(f"/onboarding/{draft.pk}/mapping/")["Location"] == "/feeds/acme-wms/"
    page = text(browser.get("/onboarding/"))
    assert "No onboarding in progress." in page
    assert 'id="onboarding-completed"' in page
    assert '<a href="/feeds/acme-wms/">acme-wms</a>' in page


def test_code_tables_are_listed_and_overridden_on_the_mapping_step(browser: Client, admin: Any) -> None:
    draft, _ = made(admin, slug="acme-214", format="x12", system="tms")
    page = text(browser.get(f"/onboarding/{draft.pk}/mapping/"))
    assert "x12.at7" in page
    assert "x12.transaction_set" in page
    form = {"action": "code_table", "table": "x12.at7", "entries": "ZZ = delayed", "note": ""}
    page = text(browser.post(f"/onboarding/{draft.pk}/mapping/", form))
    assert "line 1: &#x27;delayed&#x27; is not a canonical event type" in page
    form |= {"entries": "ZZ = shipment.delayed\nX6 = -", "note": "ACME's own delay code"}
    response = browser.post(f"/onboarding/{draft.pk}/mapping/", form, follow=True)
    assert "Code table x12.at7 saved as this feed&#x27;s version 1." in text(response)
    row = FeedCodeTable.objects.get()
    assert (row.entries, row.note, row.created_by) == (
        {"ZZ": "shipment.delayed", "X6": None},
        "ACME's own delay code",
        admin,
    )
    assert "X6 = -\nZZ = shipment.delayed</textarea>" in text(browser.get(f"/onboarding/{draft.pk}/mapping/"))


def test_the_mapping_editor_finds_the_sample_fields_and_saves_the_picked_mapping(browser: Client, admin: Any) -> None:
    draft, _ = made(admin, slug="lm-json", format="custom-json", system="lastmile")
    url = f"/onboarding/{draft.pk}/mapping/"
    page = text(browser.get(url))
    assert "No mapping saved yet." in page
    assert "Save a mapping first" in page

    # Find the fields: where the records are, then their paths and the status codes they use.
    sample = PARTNER_JSON.decode()
    page = text(browser.post(url, {"action": "fields", "sample": sample}, HTTP_HX_REQUEST="true"))
    assert '<option value="$.data.items[*]">' in page
    page = text(
        browser.post(
            url, {"action": "fields", "sample": sample, "events": "$.data.items[*]", "type_path": "status.code"}
        )
    )
    assert "6 field paths found in the records." in page  # id, status, status.code, ts, order, order.number
    assert '<option value="order.number">' in page
    assert "OFD =\nDLV =\n?? =" in page
    assert Feed.objects.get(slug="lm-json").mapping == {}  # finding fields saves nothing

    picks = {
        "action": "save_picks",
        "sample": sample,
        "events": "$.data.items[*]",
        "type_path": "status.code",
        "type_codes": "OFD = delivery.out_for_delivery\nDLV = delivery.completed\n?? =",
        "occurred_at": "ts",
        "occurred_format": "iso",
        "occurred_timezone": "Mars/Base",
        "path:event_id": "id",
        "path:refs.order": "order.number",
    }
    page = text(browser.post(url, picks))
    assert "The mapping was not saved." in page
    assert "Mars/Base" in page
    assert "is not an IANA time zone" in page
    response = browser.post(url, picks | {"occurred_timezone": "Europe/Berlin"}, follow=True)
    assert "Mapping saved." in text(response)
    mapping = Feed.objects.get(slug="lm-json").mapping
    assert mapping["events"] == "$.data.items[*]"
    assert mapping["fields"]["type"] == {"path": "status.code", "table": "custom.status"}
    assert mapping["fields"]["occurred_at"] == {"path": "ts", "timezone": "Europe/Berlin"}
    assert mapping["tables"] == {"custom.status": {"OFD": "delivery.out_for_delivery", "DLV": "delivery.completed"}}
    # Resumed later, the editor shows what was picked.
    page = text(browser.get(url))
    assert '<option value="order.number" selected>' in page
    assert "A mapping is saved" in page

    # The JSON itself can be edited too, and is checked the same way.
    page = text(browser.post(url, {"action": "save_json", "mapping": '{"fields": {}}'}))
    assert "fields: want an object" in page
    edited = dict(mapping, attributes="none")
    response = browser.post(url, {"action": "save_json", "mapping": orjson.dumps(edited).decode()}, follow=True)
    assert "Mapping saved." in text(response)
    assert Feed.objects.get(slug="lm-json").mapping["attributes"] == "none"
    assert AuditLog.objects.filter(action="feed.mapping_changed", target="feed:lm-json").count() == 2


def test_a_polled_partner_is_set_up_with_its_url_and_auth_header(browser: Client) -> None:
    browser.post("/onboarding/new/", {"new_name": "Ocean Carrier"})
    draft = OnboardingDraft.objects.get()
    form = {
        "slug": "ocean-dcsa",
        "system": "tms",
        "format": "dcsa-tnt",
        "transport": "poll",
        "timezone": "UTC",
        "poll_url": "https://carrier.example/v2/events",
        "poll_interval_seconds": "120",
        "poll_headers": "Authorization: Bearer s3cret\nno colon here",
    }
    assert "Line 2: want &#x27;Name: value&#x27;." in text(browser.post(f"/onboarding/{draft.pk}/feed/", form))
    form["poll_headers"] = "Authorization: Bearer s3cret"
    assert browser.post(f"/onboarding/{draft.pk}/feed/", form).status_code == 302
    page = text(browser.get(f"/onboarding/{draft.pk}/credentials/"))
    assert "every 120 s, with 1 header" in page
    assert "s3cret" not in page
    page = text(browser.post(f"/onboarding/{draft.pk}/credentials/", {"action": "create"}))
    assert 'id="poll-note"' in page
    assert 'id="curl-ingest"' not in page  # the partner does not post
    assert 'id="curl-file"' in page
    poll = Feed.objects.get(slug="ocean-dcsa").poll
    assert (poll.url, poll.interval_seconds, poll.headers) == (
        "https://carrier.example/v2/events",
        120,
        {"Authorization": "Bearer s3cret"},
    )
