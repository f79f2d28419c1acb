"""The SLA policy pages: who may see and change what, the form's validation, and that a policy
created on the page applies to the open orders like one created through the API."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import AuditLog
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation, SlaPolicy
from tests.factories import UserFactory

from .conftest import T, express_order, pick_policy, released

FORM = {
    "name": "pick-within-4h",
    "start": "order.released",
    "stop": ["pick.completed"],
    "rule": "within",
    "within": "PT4H",
    "service_level": "express",
    "customer": "",
    "partner": "",
    "severity": "high",
    "queue": "ops",
}


@pytest.fixture
def login(db: None) -> Callable[[str], Client]:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(UserFactory(role=role))
        return client

    return make


@pytest.fixture
def admin(login: Callable[[str], Client]) -> Client:
    return login("admin")


def text(response: Any) -> str:
    return str(response.content.decode())


def test_pages_need_a_login(client, db):
    response = client.get("/sla/policies/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_list_is_empty_at_first_and_says_what_to_do(admin):
    page = text(admin.get("/sla/policies/"))
    assert "No SLA policies yet." in page
    assert "Create the first one" in page
    assert 'href="/sla/policies/new/"' in page


@pytest.mark.parametrize("role", ["cs_agent", "ops_lead", "finance"])
def test_other_roles_read_but_cannot_change_policies(login, role, world):
    policy = pick_policy()
    client = login(role)
    listing = client.get("/sla/policies/")
    assert listing.status_code == 200
    assert "pick-within-4h" in text(listing)
    assert "New policy" not in text(listing)
    detail = client.get(f"/sla/policies/{policy.id}/")
    assert detail.status_code == 200
    assert "Deactivate" not in text(detail)
    assert client.get("/sla/policies/new/").status_code == 403
    assert client.post("/sla/policies/new/", {**FORM, "name": "other"}).status_code == 403
    assert client.get(f"/sla/policies/{policy.id}/edit/").status_code == 403
    assert client.post(f"/sla/policies/{policy.id}/active/", {"active": "0"}).status_code == 403
    assert list(SlaPolicy.objects.values_list("name", "active")) == [("pick-within-4h", True)]


def test_a_policy_created_on_the_page_applies_to_open_orders(admin, world, django_capture_on_commit_callbacks):
    express_order(world, "SO-1")
    released(world, "SO-1")
    express_order(world, "SO-2", service_level="standard")
    released(world, "SO-2")
    with django_capture_on_commit_callbacks(execute=True):  # the evaluation, queued on commit
        response = admin.post("/sla/policies/new/", FORM)
    policy = SlaPolicy.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/sla/policies/{policy.id}/"
    assert (policy.within, policy.deadline, policy.applies_to) == (timedelta(hours=4), "", {"service_level": "express"})
    assert list(Expectation.objects.values_list("order__value", "status")) == [("SO-1", ExpectationStatus.PENDING)]
    log = AuditLog.objects.get(action="sla_policy.created")
    assert (log.target, log.actor_label) == ("sla_policy:pick-within-4h", policy_admin_name(log))
    page = text(admin.get(response["Location"]))
    assert "created; evaluating the open orders…" in page
    assert "Applied to the 2 orders open at its last save" in page
    assert "SO-1" in page


def policy_admin_name(log: AuditLog) -> str:
    assert log.actor is not None
    return log.actor.get_username()


def test_a_promised_by_policy_needs_no_duration(admin, world):
    response = admin.post("/sla/policies/new/", {**FORM, "rule": "promised_by", "within": ""})
    assert response.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (policy.within, policy.deadline) == (None, "promised_by")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"within": "4 hours"}, "not an ISO-8601 duration"),
        ({"within": "PT0S"}, "must be a positive duration"),
        ({"within": ""}, "Give a duration such as"),
        ({"stop": []}, "This field is required."),
        ({"start": "order.teleported"}, "Select a valid choice."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_the_form_shows_what_is_wrong(admin, change, message):
    response = admin.post("/sla/policies/new/", {**FORM, **change})
    assert response.status_code == 200
    page = text(response)
    assert "The policy was not saved." in page
    assert message in page
    assert not SlaPolicy.objects.exists()


def test_a_duplicate_name_is_shown_on_the_name_field(admin, world):
    pick_policy()
    response = admin.post("/sla/policies/new/", FORM)
    assert response.status_code == 200
    assert "a policy named &#x27;pick-within-4h&#x27; exists" in text(response)
    assert SlaPolicy.objects.count() == 1


def test_editing_a_policy_saves_through_the_service(admin, world):
    policy = pick_policy()
    page = text(admin.get(f"/sla/policies/{policy.id}/edit/"))
    assert 'value="PT4H"' in page
    response = admin.post(f"/sla/policies/{policy.id}/edit/", {**FORM, "within": "PT2H", "customer": "Acme Retail"})
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.within, policy.applies_to) == (
        timedelta(hours=2),
        {"service_level": "express", "customer": "Acme Retail"},
    )
    log = AuditLog.objects.get(action="sla_policy.updated")
    assert log.detail["changed"] == ["applies_to", "within"]


def test_deactivating_on_the_page_cancels_the_running_clocks(admin, world, django_capture_on_commit_callbacks):
    policy = pick_policy()
    express_order(world)
    released(world)
    response = admin.post(f"/sla/policies/{policy.id}/active/", {"active": "0"})
    assert response.status_code == 302
    policy.refresh_from_db()
    assert not policy.active
    assert Expectation.objects.get().status == ExpectationStatus.CANCELLED
    assert AuditLog.objects.get(action="sla_policy.updated").detail["active"] is False
    page = text(admin.get(f"/sla/policies/{policy.id}/"))
    assert "its running clocks were cancelled" in page
    assert ">Activate</button>" in page
    with django_capture_on_commit_callbacks(execute=True):  # the evaluation, queued on commit
        admin.post(f"/sla/policies/{policy.id}/active/", {"active": "1"})
    assert Expectation.objects.get().status == ExpectationStatus.PENDING


def test_the_list_counts_each_policy_s_expectations(admin, world):
    from apps.sla.services import sla_sweep

    policy = pick_policy()
    for order in ("SO-1", "SO-2", "SO-3"):
        express_order(world, order)
        released(world, order)
    world.send("wms", "pick.completed", {"order": "SO-2"}, T(11))
    world.send("wms", "pick.completed", {"order": "SO-3"}, T(15))
    express_order(world, "SO-4")
    released(world, "SO-4", at="2026-11-26T08:00:00+00:00")  # due at noon: still running
    sla_sweep()
    page = text(admin.get("/sla/policies/"))
    row = page[page.index(f'href="/sla/policies/{policy.id}/"') :]
    row = row[: row.index("</tr>")]
    cells = [c.split(">")[-1] for c in row.split("</td>")[-5:-1]]
    assert cells == ["1", "1", "1", "1"]  # pending, breached, met, met late


def test_the_detail_page_lists_and_filters_the_expectations(admin, world):
    policy = pick_policy()
    express_order(world, "SO-1")
    released(world, "SO-1")
    express_order(world, "SO-2")
    released(world, "SO-2")
    world.send("wms", "pick.completed", {"order": "SO-2"}, T(11))
    page = text(admin.get(f"/sla/policies/{policy.id}/"))
    assert "SO-1" in page
    assert "SO-2" in page
    met_only = text(admin.get(f"/sla/policies/{policy.id}/?status=met"))
    assert "/orders/SO-2/" in met_only
    assert "/orders/SO-1/" not in met_only
    assert admin.get("/sla/policies/999999/").status_code == 404


def test_the_nav_links_the_policies(login, db):
    assert 'href="/sla/policies/"' in text(login("cs_agent").get("/"))
