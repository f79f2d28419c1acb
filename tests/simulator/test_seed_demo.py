"""`manage.py seed_demo`: users for the four roles, the simulator's feeds, and SLA policies that
the demo's traffic breaches now and then, so its queue and dashboard show SLA work."""

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from apps.events.taxonomy import EventType
from apps.feeds.models import Feed
from apps.simulator.management.commands.seed_demo import DEMO_POLICIES
from apps.sla.models import SlaPolicy
from tests.correlation.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_settings(settings: Any) -> None:
    """As scripts/demo runs it: the embedded default, DEBUG on (pytest turns it off)."""
    settings.DEBUG = True


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_prints_the_demo_logins_and_they_work() -> None:
    out = seed()
    assert "opslead / opslead-demo-pass" in out
    assert authenticate(username="opslead", password="opslead-demo-pass") is not None
    assert set(Feed.objects.values_list("slug", flat=True)) >= {"sim-erp", "sim-wms", "sim-tms", "sim-lastmile"}


def test_it_adds_the_demo_sla_policies_once() -> None:
    assert f"SLA policies: {len(DEMO_POLICIES)} ({len(DEMO_POLICIES)} added now)" in seed()
    assert f"SLA policies: {len(DEMO_POLICIES)} (0 added now)" in seed()
    assert SlaPolicy.objects.filter(active=True).count() == len(DEMO_POLICIES)


def test_a_slow_express_pick_breaches_its_demo_policy(settings: Any) -> None:
    seed()
    world = World()
    world.send(
        "erp",
        EventType.ORDER_CREATED,
        {"order": "SO-X1"},
        at="2026-11-25T08:00:00+00:00",
        service_level="express",
        promised_by="2026-11-26T18:00:00+00:00",
    )
    world.send("erp", EventType.ORDER_RELEASED, {"order": "SO-X1"}, at="2026-11-25T08:10:00+00:00")
    world.send(
        "wms", EventType.PICK_COMPLETED, {"order": "SO-X1", "warehouse_task": "WT-X1"}, at="2026-11-25T10:00:00+00:00"
    )  # 110 minutes after release: 20 minutes late
    policy = SlaPolicy.objects.get(name="Express picked within 90 minutes of release")
    row = policy.expectations.get()
    assert row.status == "met_late"
    assert row.breach_case is not None


def test_it_leaves_a_feed_of_each_standard_format_with_a_sample_that_dry_runs(client: Any) -> None:
    from apps.accounts.services import api_token_create
    from apps.simulator.format_samples import FORMAT_SAMPLES

    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")  # idempotent
    slugs = [s.slug for s in FORMAT_SAMPLES]
    assert Feed.objects.filter(slug__in=slugs).count() == 7
    assert {s.fmt for s in FORMAT_SAMPLES} == {
        "canonical-csv", "x12", "edifact", "epcis", "dcsa-tnt", "carrier-webhook", "custom-json"
    }  # fmt: skip
    token = api_token_create(user=User.objects.get(username="admin"))
    for sample in FORMAT_SAMPLES:
        response = client.post(
            f"/api/v1/feeds/{sample.slug}/dry-run/",
            sample.body,
            content_type=sample.content_type,
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert response.status_code == 200, (sample.slug, response.content)
        data = response.json()
        assert data["events"], (sample.slug, data)
        assert (data["rejected"], data["errors"]) == ([], []), sample.slug


class TestExistingUsersAndProductionSettings:
    def test_an_existing_admin_keeps_its_password_role_and_flags(self) -> None:
        User.objects.create_user("admin", password="the-real-admins-secret", is_staff=False)
        out = seed()
        assert authenticate(username="admin", password="the-real-admins-secret") is not None
        assert authenticate(username="admin", password="admin-demo-pass") is None
        admin = User.objects.get(username="admin")
        assert (admin.is_staff, list(admin.groups.all())) == (False, [])
        assert "admin / admin-demo-pass" not in out
        assert "admin / (an existing user, left as it was: its password is not the demo one)" in out
        assert "opslead / opslead-demo-pass" in out  # the missing ones are still made

    def test_a_second_run_changes_no_password_and_still_shows_the_demo_logins(self) -> None:
        seed()
        agent = User.objects.get(username="agent")
        agent.set_password("changed-after-the-first-run")
        agent.save()
        out = seed()
        assert authenticate(username="agent", password="changed-after-the-first-run") is not None
        assert "finance / finance-demo-pass" in out

    def test_with_debug_off_it_refuses_and_creates_nothing(self, settings: Any) -> None:
        settings.DEBUG = False
        with pytest.raises(CommandError, match=r"DEBUG is off.*--force-demo"):
            seed()
        assert not User.objects.filter(username__in=["agent", "opslead", "finance", "admin"]).exists()
        assert not Feed.objects.exists()

    def test_with_debug_off_force_demo_runs_it(self, settings: Any) -> None:
        settings.DEBUG = False
        call_command("seed_demo", "--force-demo", "--quiet")
        assert authenticate(username="opslead", password="opslead-demo-pass") is not None
