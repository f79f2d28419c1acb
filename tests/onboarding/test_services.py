"""The onboarding wizard's service layer: each step, leaving and resuming, the audit trail, and
who may do it."""

from typing import Any

import orjson
import pytest
from django.core.exceptions import PermissionDenied

from apps.accounts.models import AuditLog
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed, FeedPoll
from apps.feeds.services import IngestRefused, feed_authenticate
from apps.ingestion.feed_formats import feed_context
from apps.ingestion.models import RawMessage
from apps.onboarding.mapping_editor import Picks, build_mapping
from apps.onboarding.models import OnboardingDraft
from apps.onboarding.selectors import draft_get, draft_list
from apps.onboarding.services import (
    FeedPlan,
    OnboardingError,
    draft_activate,
    draft_continue,
    draft_create_feed,
    draft_discard,
    draft_dry_run,
    draft_set_code_table,
    draft_set_feed,
    draft_set_mapping,
    draft_set_partner,
    draft_start,
)
from tests.correlation.conftest import World
from tests.factories import FeedFactory

from .conftest import CSV_SAMPLE, made, planned

pytestmark = pytest.mark.django_db


def actions(target: str) -> list[str]:
    return list(AuditLog.objects.filter(target=target).order_by("at", "id").values_list("action", flat=True))


def test_a_csv_partner_goes_through_every_step_and_each_change_is_audited(admin: Any, post_events: Any) -> None:
    World().send("erp", "order.released", {"order": "SO-77"})
    draft = draft_start(actor=admin, partner_name="  ACME   Logistics ")
    assert (draft.partner_name, draft.step, draft.created_by) == ("ACME Logistics", "feed", admin)

    draft_set_feed(
        draft=draft,
        actor=admin,
        plan=FeedPlan(slug="acme-wms", system="wms", format="canonical-csv", timezone="Europe/Berlin"),
    )
    assert draft.step == "credentials"
    assert not Feed.objects.filter(slug="acme-wms").exists()  # nothing is made before the credentials step

    creds = draft_create_feed(draft=draft, actor=admin)
    feed = Feed.objects.get(slug="acme-wms")
    assert (feed.partner.name, feed.system, feed.format, feed.timezone, feed.transport) == (
        "ACME Logistics",
        "wms",
        "canonical-csv",
        "Europe/Berlin",
        "push",
    )
    assert feed.is_paused
    assert creds.token.startswith("ctf_")
    assert feed.token_hash != creds.token  # stored hashed only
    with pytest.raises(IngestRefused) as refused:  # paused: nothing is taken in before activation
        feed_authenticate(slug="acme-wms", authorization=f"Bearer {creds.token}")
    assert refused.value.status == 403

    assert draft_continue(draft=draft, actor=admin, from_step="credentials") == "mapping"
    assert draft_continue(draft=draft, actor=admin, from_step="mapping") == "dry-run"
    result = draft_dry_run(draft=draft, actor=admin, body=CSV_SAMPLE, name="acme.csv")
    assert [(e["event_id"], e["type"], e["would_land_on"]) for e in result.events] == [
        ("w-1", "pick.completed", ["SO-77"]),
        ("w-2", "pack.completed", ["SO-77"]),
    ]
    assert (result.rejected, result.errors) == ([], [])
    assert RawMessage.objects.filter(feed=feed).count() == 0
    assert CanonicalEvent.objects.filter(event_key__in=["w-1", "w-2"]).count() == 0
    assert (draft.step, draft.dry_run_events, draft.sample_name, bytes(draft.sample)) == (
        "activate",
        2,
        "acme.csv",
        CSV_SAMPLE,
    )

    activated = draft_activate(draft=draft, actor=admin)
    assert not activated.is_paused
    assert draft.completed_at is not None
    response = post_events(feed, None, raw=CSV_SAMPLE, token=f"Bearer {creds.token}", content_type="text/csv")
    assert response.status_code == 202

    assert actions(f"onboarding:{draft.pk}") == [
        "onboarding.started",
        "onboarding.feed_planned",
        "onboarding.feed_created",
        "onboarding.step_reached",
        "onboarding.step_reached",
        "onboarding.dry_run",
        "onboarding.activated",
    ]
    assert actions("feed:acme-wms") == ["feed.created", "feed.paused", "feed.resumed"]
    assert set(AuditLog.objects.filter(action__startswith="onboarding.").values_list("actor_label", flat=True)) == {
        "ada"
    }


def test_a_draft_left_half_way_is_resumed_by_another_admin_where_it_was(admin: Any) -> None:
    draft, _ = made(admin, slug="tms-carrier", format="x12", system="tms")
    other = type(admin).objects.create_user("bea")
    other.groups.add(*admin.groups.all())

    [listed] = draft_list()
    assert listed.pk == draft.pk
    resumed = draft_get(draft_id=draft.pk)
    assert resumed is not None
    assert (resumed.step, resumed.slug, resumed.format, resumed.feed.slug) == (
        "mapping",
        "tms-carrier",
        "x12",
        "tms-carrier",
    )
    # Steps further on cannot be skipped to ...
    with pytest.raises(OnboardingError, match="finish the mapping step first"):
        draft_dry_run(draft=resumed, actor=other, body=b"ISA*")
    with pytest.raises(OnboardingError, match="dry-run the feed"):
        draft_activate(draft=resumed, actor=other)
    # ... and going on from an earlier step changes nothing.
    assert draft_continue(draft=resumed, actor=other, from_step="credentials") == "mapping"
    assert OnboardingDraft.objects.get(pk=draft.pk).step == "mapping"
    assert draft_continue(draft=resumed, actor=other, from_step="mapping") == "dry-run"
    assert AuditLog.objects.filter(target=f"onboarding:{draft.pk}", actor_label="bea").count() == 1


def test_an_ops_lead_may_not_onboard(admin: Any, ops_lead: Any) -> None:
    with pytest.raises(PermissionDenied):
        draft_start(actor=ops_lead, partner_name="X")
    draft, _ = made(admin)
    for call in (
        lambda: draft_set_partner(draft=draft, actor=ops_lead, partner_name="Y"),
        lambda: draft_create_feed(draft=draft, actor=ops_lead),
        lambda: draft_continue(draft=draft, actor=ops_lead, from_step="mapping"),
        lambda: draft_dry_run(draft=draft, actor=ops_lead, body=CSV_SAMPLE),
        lambda: draft_activate(draft=draft, actor=ops_lead),
        lambda: draft_discard(draft=draft, actor=ops_lead),
        lambda: draft_set_code_table(draft=draft, actor=ops_lead, table="x", entries={}),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert not AuditLog.objects.filter(actor_label="olli").exists()


def test_the_feed_settings_are_checked_before_anything_is_made(admin: Any) -> None:
    FeedFactory(slug="taken")
    planned(admin, slug="reserved")
    draft = draft_start(actor=admin, partner_name="P")

    def error(**changes: Any) -> tuple[str | None, str]:
        plan = {"slug": "new-feed", "system": "wms", "format": "canonical-json"} | changes
        with pytest.raises(OnboardingError) as exc:
            draft_set_feed(draft=draft, actor=admin, plan=FeedPlan(**plan))
        return exc.value.field, exc.value.message

    assert error(slug="taken") == ("slug", "a feed 'taken' exists already; choose another slug")
    assert error(slug="reserved") == ("slug", "another onboarding in progress uses 'reserved'")
    assert error(slug="no spaces")[0] == "slug"
    assert error(timezone="Mars/Olympus")[0] == "timezone"
    assert error(format="yaml")[0] == "format"
    assert error(transport="poll", poll_url="")[0] == "poll_url"
    assert error(transport="poll", poll_url="https://u:pw@partner.example/events")[0] == "poll_url"
    assert error(transport="poll", poll_url="https://partner.example/events", poll_interval_seconds=1)[0] == (
        "poll_interval_seconds"
    )
    assert OnboardingDraft.objects.get(pk=draft.pk).slug == ""


def test_a_polled_feed_gets_its_poll_settings_and_the_secret_header_leaves_the_draft(admin: Any) -> None:
    draft = planned(
        admin,
        slug="dcsa-carrier",
        format="dcsa-tnt",
        system="tms",
        transport="poll",
        poll_url="https://carrier.example/v2/events?limit=100",
        poll_interval_seconds=300,
        poll_headers={"Authorization": "Bearer partner-secret"},
    )
    assert draft.poll_headers == {"Authorization": "Bearer partner-secret"}
    draft_create_feed(draft=draft, actor=admin)
    poll = FeedPoll.objects.get(feed__slug="dcsa-carrier")
    assert (poll.url, poll.interval_seconds, poll.headers) == (
        "https://carrier.example/v2/events?limit=100",
        300,
        {"Authorization": "Bearer partner-secret"},
    )
    assert poll.feed.transport == "poll"
    assert poll.feed.is_paused
    assert OnboardingDraft.objects.get(pk=draft.pk).poll_headers == {}
    details = orjson.dumps(list(AuditLog.objects.values_list("detail", flat=True)))
    assert b"partner-secret" not in details
    assert b"Authorization" in details  # the header's name is on record


def test_credentials_are_made_once_and_a_made_feed_fixes_the_earlier_steps(admin: Any) -> None:
    draft, _ = made(admin)
    with pytest.raises(OnboardingError, match="made already"):
        draft_create_feed(draft=draft, actor=admin)
    with pytest.raises(OnboardingError, match="made already"):
        draft_set_partner(draft=draft, actor=admin, partner_name="Another")
    with pytest.raises(OnboardingError, match="made already"):
        draft_set_feed(draft=draft, actor=admin, plan=FeedPlan(slug="x", system="wms", format="canonical-json"))
    with pytest.raises(OnboardingError, match="made already"):
        draft_discard(draft=draft, actor=admin)
    assert Feed.objects.count() == 1


def test_a_draft_without_a_feed_can_be_discarded(admin: Any) -> None:
    draft = planned(admin, slug="maybe")
    draft_discard(draft=draft, actor=admin)
    assert not OnboardingDraft.objects.exists()
    assert actions(f"onboarding:{draft.pk}")[-1] == "onboarding.discarded"


def test_a_code_table_override_is_a_new_version_each_save(admin: Any) -> None:
    draft, _ = made(admin, slug="acme-214", format="x12", system="tms")
    first = draft_set_code_table(draft=draft, actor=admin, table="x12.at7", entries={"ZZ": "shipment.delayed"})
    second = draft_set_code_table(
        draft=draft, actor=admin, table="x12.at7", entries={"ZZ": "shipment.delayed", "X6": None}, note="no X6"
    )
    assert (first.version, second.version) == (1, 2)
    codes = feed_context(Feed.objects.get(slug="acme-214")).codes
    assert (codes.lookup("x12.at7", "ZZ"), codes.lookup("x12.at7", "X6"), codes.version("x12.at7")) == (
        "shipment.delayed",
        None,
        2,
    )
    with pytest.raises(OnboardingError, match="not a canonical event type"):
        draft_set_code_table(draft=draft, actor=admin, table="x12.at7", entries={"ZZ": "delayed"})
    with pytest.raises(OnboardingError, match="not a code table"):
        draft_set_code_table(draft=draft, actor=admin, table="edifact.iftsta", entries={"1": "ignore"})
    assert actions("feed:acme-214").count("feed.code_table_changed") == 2


PARTNER_JSON = orjson.dumps(
    {
        "data": {
            "items": [
                {"id": "p-1", "status": {"code": "OFD"}, "ts": "2026-11-25 14:00", "order": {"number": "SO-9"}},
                {"id": "p-2", "status": {"code": "DLV"}, "ts": "2026-11-25 16:30", "order": {"number": "SO-9"}},
                {"id": "p-3", "status": {"code": "??"}, "ts": "2026-11-25 17:00", "order": {"number": "SO-9"}},
            ]
        }
    }
)


def test_a_custom_json_partner_needs_a_valid_mapping_before_the_dry_run(admin: Any) -> None:
    draft, _ = made(admin, slug="lm-json", format="custom-json", system="lastmile", timezone="Europe/Berlin")
    with pytest.raises(OnboardingError, match="without a mapping"):
        draft_continue(draft=draft, actor=admin, from_step="mapping")
    with pytest.raises(OnboardingError, match=r"fields\.type: required"):
        draft_set_mapping(draft=draft, actor=admin, mapping={"fields": {"refs.order": "order.number"}})
    mapping = build_mapping(
        Picks(
            events="$.data.items[*]",
            paths={"event_id": "id", "refs.order": "order.number"},
            occurred_at="ts",
            occurred_format="%Y-%m-%d %H:%M",
            type_path="status.code",
            type_codes={"OFD": "delivery.out_for_delivery", "DLV": "delivery.completed"},
        )
    )
    draft_set_mapping(draft=draft, actor=admin, mapping=mapping, sample=PARTNER_JSON)
    assert Feed.objects.get(slug="lm-json").mapping == mapping
    assert bytes(OnboardingDraft.objects.get(pk=draft.pk).sample) == PARTNER_JSON
    assert draft_continue(draft=draft, actor=admin, from_step="mapping") == "dry-run"

    result = draft_dry_run(draft=draft, actor=admin, body=PARTNER_JSON)
    assert [(e["event_id"], e["type"], e["occurred_at"], e["would_land_on"]) for e in result.events] == [
        ("p-1", "delivery.out_for_delivery", "2026-11-25T14:00:00+01:00", ["SO-9"]),
        ("p-2", "delivery.completed", "2026-11-25T16:30:00+01:00", ["SO-9"]),
    ]
    [rejected] = result.rejected
    assert "code '??' is not in code table custom.status" in rejected["errors"][0]
    assert "feed.mapping_changed" in actions("feed:lm-json")


def test_a_dry_run_that_reads_nothing_says_why_and_still_stores_nothing(admin: Any) -> None:
    draft, _ = made(admin)
    draft_continue(draft=draft, actor=admin, from_step="mapping")
    with pytest.raises(OnboardingError) as empty:
        draft_dry_run(draft=draft, actor=admin, body=b"  \n")
    assert empty.value.field == "sample"
    result = draft_dry_run(draft=draft, actor=admin, body=b"event_id,colour\n1,red\n")
    assert result.events == []
    assert "colour" in result.errors[0]
    assert (draft.dry_run_events, draft.dry_run_errors) == (0, 1)
    assert RawMessage.objects.count() == 0
    with pytest.raises(OnboardingError, match="over 5 MB"):
        draft_dry_run(draft=draft, actor=admin, body=b"x" * (5 * 1024 * 1024 + 1))


def test_activation_is_once(admin: Any) -> None:
    draft, _ = made(admin)
    draft_continue(draft=draft, actor=admin, from_step="mapping")
    draft_dry_run(draft=draft, actor=admin, body=CSV_SAMPLE)
    draft_activate(draft=draft, actor=admin)
    with pytest.raises(OnboardingError, match="finished"):
        draft_activate(draft=draft, actor=admin)
    assert actions("feed:acme-wms").count("feed.resumed") == 1
    assert list(draft_list()) == []
