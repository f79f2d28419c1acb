"""The exception queue page: who sees which queue, what a row and the panel show, filters,
pages, actions with their history and audit entries, refusals shown in place."""

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import AuditLog
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from apps.exceptions.services import exception_resolve
from tests.correlation.conftest import World, world  # noqa: F401 - the shared fixture
from tests.exceptions.cases import BASE, CaseFactory, order
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/exceptions/"
RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "queue-results"}
PANEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "case-panel"}
DASH = "\N{EN DASH}"  # the pager separates row numbers with an en dash


@pytest.fixture(autouse=True)
def _clock() -> Any:
    with time_machine.travel(BASE, tick=False):
        yield


def rows(html: str) -> list[int]:
    """Case ids of the table's rows, in order."""
    return [int(i) for i in re.findall(r'<tr id="case-row-(\d+)"', html)]


def page(client: Client, **params: str) -> str:
    response = client.get(QUEUE, params)
    assert response.status_code == 200
    return response.content.decode()


def results(client: Client, **params: str) -> str:
    response = client.get(QUEUE, params, **RESULTS)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def ops(login: Callable[..., Client]) -> Client:
    return login("ops_lead", username="olivia")


def olivia() -> Any:
    from django.contrib.auth.models import User

    return User.objects.get(username="olivia")


# --- who may see it, which queue they start on -----------------------------------------------


def test_anonymous_is_sent_to_log_in(client: Client) -> None:
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_a_role_may_not_see_it(login: Callable[..., Client]) -> None:
    nobody = login(None)
    assert nobody.get(QUEUE).status_code == 403
    assert f'href="{QUEUE}"' not in nobody.get(reverse("home")).content.decode()


@pytest.mark.parametrize(
    ("role", "sees", "tab_note"),
    [
        ("ops_lead", "ops", "Operations"),
        ("cs_agent", "customer_service", "Customer service"),
        ("finance", "finance", "Finance"),
        ("admin", None, "every queue"),
    ],
)
def test_each_role_starts_on_its_own_queue(login: Callable[..., Client], role: str, sees: str | None, tab_note: str):
    by_queue = {q: CaseFactory(queue=q) for q in ("ops", "customer_service", "finance")}
    client = login(role)
    html = page(client)
    expected = [by_queue[sees].id] if sees else sorted((c.id for c in by_queue.values()), reverse=True)
    assert sorted(rows(html), reverse=True) == expected
    assert f"({tab_note})" in html  # the "My queue" tab says which queue that is
    assert f'href="{QUEUE}"' in client.get(reverse("home")).content.decode()  # in the navigation
    # every other queue is one tab away
    assert rows(results(client, queue="all")) == sorted((c.id for c in by_queue.values()), reverse=True)


def test_tabs_count_each_queue_under_the_current_filters(ops: Client) -> None:
    CaseFactory.create_batch(3, queue="ops")
    CaseFactory.create_batch(2, queue="customer_service", severity="high")
    CaseFactory(queue="finance", status="resolved")
    html = page(ops)
    counts = dict(re.findall(r'id="tab-count-(\w+)">(\d+)<', html))
    assert counts == {"mine": "3", "ops": "3", "customer_service": "2", "finance": "0", "all": "5"}
    narrowed = results(ops, severity="high")
    # the fragment updates the tab counts out of band (they live in the filter bar)
    oob = dict(re.findall(r'id="tab-count-(\w+)" hx-swap-oob="true">(\d+)<', narrowed))
    assert oob == {"mine": "0", "ops": "0", "customer_service": "2", "finance": "0", "all": "2"}


# --- what the list shows ---------------------------------------------------------------------


def test_rows_are_most_severe_first_then_most_recently_seen(ops: Client) -> None:
    low = CaseFactory(severity="low", last_seen_at=BASE - timedelta(minutes=1))
    old_critical = CaseFactory(severity="critical", last_seen_at=BASE - timedelta(hours=5))
    new_critical = CaseFactory(severity="critical", last_seen_at=BASE - timedelta(hours=1))
    high = CaseFactory(severity="high", last_seen_at=BASE - timedelta(minutes=5))
    assert rows(page(ops)) == [new_critical.id, old_critical.id, high.id, low.id]


def test_a_row_shows_the_order_its_customer_and_stage_and_links_to_the_order(ops: Client) -> None:
    so = order("SO-1001", customer="Acme Retail GmbH", stage="out_for_delivery")
    me = olivia()
    CaseFactory(
        order=so,
        code="CUSTOMER_ABSENT",
        severity="high",
        status="acknowledged",
        assignee=me,
        occurrences=3,
        opened_at=BASE - timedelta(hours=5, minutes=10),
    )
    orphan = CaseFactory(code="SCAN_NO_ORDER", subject="tracking_number:1Z777")
    html = page(ops)
    assert 'href="/orders/SO-1001/"' in html
    assert "Acme Retail GmbH" in html
    assert "out for delivery" in html
    assert "CUSTOMER_ABSENT" in html
    assert "acknowledged" in html
    assert ">olivia<" in html
    assert ">5h<" in html  # age
    assert ">3<" in html  # occurrences
    # a case on no order yet links to a search for the id it names
    assert f'id="case-row-{orphan.id}"' in html
    assert "/search/?q=1Z777" in html


def test_fifty_to_a_page_with_counts(ops: Client) -> None:
    CaseFactory.create_batch(60)
    first = page(ops)
    assert len(rows(first)) == 50
    assert f"1{DASH}50 of 60" in first
    assert "?page=2" in first
    second = results(ops, page="2")
    assert len(rows(second)) == 10
    assert f"51{DASH}60 of 60" in second


def test_the_results_fragment_costs_the_same_queries_for_five_rows_or_fifty(ops: Client) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            results(ops, queue="all")
        return len(queries)

    for n in range(5):
        CaseFactory(order=order(), assignee=olivia() if n % 2 else None)
    few = count()
    for n in range(45):
        CaseFactory(order=order(), assignee=olivia() if n % 2 else None)
    assert count() == few
    assert few <= 10  # session, user, permissions (2), role, a count per queue (3), the page of rows


def test_the_results_fragment_has_a_bounded_number_of_queries(ops: Client, django_assert_max_num_queries: Any) -> None:
    for n in range(50):
        CaseFactory(order=order(), assignee=olivia() if n % 2 else None)
    with django_assert_max_num_queries(10):
        assert len(rows(results(ops, queue="all"))) == 50


# --- filters ---------------------------------------------------------------------------------


def test_filters_by_kind_severity_assignee_age_and_customer(ops: Client) -> None:
    me = olivia()
    sam = UserFactory(username="sam", role="ops_lead")
    acme, globex = order(customer="Acme Retail GmbH"), order(customer="Globex Corp")
    sla = CaseFactory(kind="sla_breach", order=acme, assignee=me, opened_at=BASE - timedelta(hours=30))
    partner = CaseFactory(severity="critical", order=globex, assignee=sam, opened_at=BASE - timedelta(minutes=20))
    nobodys = CaseFactory(severity="low", opened_at=BASE - timedelta(hours=5))

    assert rows(results(ops, kind="sla_breach")) == [sla.id]
    assert rows(results(ops, severity="critical")) == [partner.id]
    assert rows(results(ops, assignee="me")) == [sla.id]
    assert rows(results(ops, assignee="unassigned")) == [nobodys.id]
    assert rows(results(ops, assignee="sam")) == [partner.id]
    assert rows(results(ops, age="4h")) == [sla.id, nobodys.id]
    assert rows(results(ops, age="24h")) == [sla.id]
    assert rows(results(ops, customer="acme")) == [sla.id]
    assert rows(results(ops, customer="globex", severity="critical")) == [partner.id]


def test_status_filter_default_is_what_needs_action(ops: Client) -> None:
    open_ = CaseFactory()
    acked = CaseFactory(status="acknowledged")
    snoozed = CaseFactory(status="snoozed", snoozed_until=BASE + timedelta(hours=1))
    woken = CaseFactory(status="snoozed", snoozed_until=BASE - timedelta(minutes=1))
    resolved = CaseFactory(status="resolved")
    assert set(rows(page(ops))) == {open_.id, acked.id, woken.id}  # a passed snooze is open again
    assert set(rows(results(ops, status="open"))) == {open_.id, woken.id}
    assert rows(results(ops, status="snoozed")) == [snoozed.id]
    assert rows(results(ops, status="resolved")) == [resolved.id]
    assert len(rows(results(ops, status="any"))) == 5


def test_counts_stop_at_the_cap_and_say_so(ops: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.exceptions import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    CaseFactory.create_batch(4)
    CaseFactory(queue="finance")
    html = page(ops)
    assert "<strong>3+</strong> exceptions in Operations" in html
    assert f"1{DASH}3 of 3+" in html  # pages go as far as the count: narrow the filters for more
    assert len(rows(html)) == 3
    counts = dict(re.findall(r'id="tab-count-(\w+)">([\d+]+)<', html))
    assert counts == {"mine": "3+", "ops": "3+", "customer_service": "0", "finance": "1", "all": "4+"}


def test_a_stale_or_bad_filter_value_is_ignored_not_an_error(ops: Client) -> None:
    case = CaseFactory()
    assert rows(results(ops, severity="apocalyptic", age="forever", queue="nope")) == [case.id]


def test_empty_states_say_why_the_list_is_empty(ops: Client) -> None:
    assert "Nothing needs a person in Operations right now" in page(ops)
    CaseFactory(severity="low")
    html = results(ops, severity="critical")
    assert "No exception in Operations matches these filters" in html
    assert "clear the filters" in html


def test_the_full_page_has_filters_bulk_bar_and_panel_and_the_fragment_only_the_results(ops: Client) -> None:
    CaseFactory()
    full = page(ops)
    for part in ('id="queue-filters"', 'id="bulk-form"', 'id="case-panel"', 'id="queue-results"', "js/queue.js"):
        assert part in full
    fragment = results(ops)
    assert 'id="queue-results"' in fragment
    assert 'id="queue-filters"' not in fragment
    assert "<html" not in fragment
    # it re-fetches itself with its own filters on live refreshes
    assert 'hx-trigger="queue:refresh from:body"' in fragment


# --- the panel -------------------------------------------------------------------------------


def test_the_panel_shows_the_order_around_the_case_and_its_history(ops: Client, world_case: ExceptionCase) -> None:
    response = ops.get(reverse("exception-detail", args=[world_case.id]), **PANEL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a fragment for the panel
    assert "CUSTOMER_ABSENT" in html
    assert 'href="/orders/SO-1/"' in html
    assert "Acme Retail GmbH" in html  # customer
    assert "Promised by" in html
    assert "11-26" in html
    assert "delivery.attempted" in html  # last events
    assert "SLA_X" in html  # another open case of the order
    assert "Opened" in html  # history
    # without htmx it is a page of its own
    standalone = ops.get(reverse("exception-detail", args=[world_case.id])).content.decode()
    assert "<html" in standalone
    assert "CUSTOMER_ABSENT" in standalone


@pytest.fixture
def world_case(world: World) -> ExceptionCase:  # noqa: F811 - the fixture imported above
    """SO-1 through the real pipeline: created for Acme, then a failed delivery attempt."""
    world.send(
        "erp",
        "order.created",
        {"order": "SO-1"},
        "2026-11-25T08:00:00+00:00",
        customer="Acme Retail GmbH",
        promised_by="2026-11-26T18:00:00+00:00",
    )
    world.send(
        "lastmile",
        "delivery.attempted",
        {"order": "SO-1"},
        "2026-11-25T10:00:00+00:00",
        reason={"code": "CUSTOMER_ABSENT"},
    )
    case = ExceptionCase.objects.get(code="CUSTOMER_ABSENT")
    CaseFactory(order=case.order, code="SLA_X", kind="sla_breach")
    return case


def post_action(client: Client, case: ExceptionCase, action: str, data: dict[str, str] | None = None) -> Any:
    return client.post(reverse("exception-action", args=[case.id, action]), data or {}, **PANEL)


def test_assign_acknowledge_snooze_comment_and_resolve_from_the_panel(ops: Client) -> None:
    case = CaseFactory()
    me = olivia()

    r = post_action(ops, case, "assign", {"assignee": "me"})
    assert r.status_code == 200
    assert "Assigned." in r.content.decode()
    assert json.loads(r["HX-Trigger"]) == {"queue:changed": {"ids": [case.id], "action": "assign"}}
    post_action(ops, case, "acknowledge")
    post_action(ops, case, "snooze", {"snooze": "4h"})
    case.refresh_from_db()
    assert (case.assignee, case.status, case.snoozed_until) == (me, "snoozed", BASE + timedelta(hours=4))
    post_action(ops, case, "snooze", {"snooze": "until", "until": "2026-11-27T08:30"})
    case.refresh_from_db()
    assert case.snoozed_until == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # typed times are UTC
    post_action(ops, case, "comment", {"text": "Called the customer"})
    html = post_action(ops, case, "resolve", {"resolution": "Redelivered on Friday"}).content.decode()

    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.resolution == "Redelivered on Friday"
    assert "Redelivered on Friday" in html
    assert "Called the customer" in html
    actions = list(ExceptionActivity.objects.filter(case=case).order_by("id").values_list("action", "actor"))
    assert actions == [
        ("assigned", me.id),
        ("acknowledged", me.id),
        ("snoozed", me.id),
        ("snoozed", me.id),
        ("commented", me.id),
        ("resolved", me.id),
    ]
    audited = AuditLog.objects.filter(target=f"exception:{case.id}").order_by("id")
    assert [(a.action, a.actor_label) for a in audited] == [
        ("exception.assigned", "olivia"),
        ("exception.acknowledged", "olivia"),
        ("exception.snoozed", "olivia"),
        ("exception.snoozed", "olivia"),
        ("exception.commented", "olivia"),
        ("exception.resolved", "olivia"),
    ]


def test_a_case_resolved_by_someone_else_is_a_message_in_the_panel_not_an_error_page(ops: Client) -> None:
    case = CaseFactory()
    exception_resolve(case=case, resolution="Customer collected it", actor=UserFactory(username="sam"))
    r = post_action(ops, case, "resolve", {"resolution": "Redelivered"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Someone got there first" in html
    assert "Could not resolve it: it is resolved now." in html
    assert "Customer collected it" in html  # the case as it is now
    assert "queue:changed" in r["HX-Trigger"]  # the list refreshes: the row is stale
    assert not AuditLog.objects.filter(target=f"exception:{case.id}", actor_label="olivia").exists()


def test_bad_input_keeps_what_was_typed_and_says_what_is_wrong(ops: Client) -> None:
    case = CaseFactory()
    html = post_action(ops, case, "resolve", {"resolution": "   "}).content.decode()
    assert "This field is required." in html
    html = post_action(ops, case, "snooze", {"snooze": "until", "until": "2026-11-25T08:00"}).content.decode()
    assert "The snooze must end in the future." in html
    assert 'value="2026-11-25T08:00"' in html
    html = post_action(ops, case, "assign", {"assignee": "ghost"}).content.decode()
    assert "ghost does not work the exception queues" in html
    case.refresh_from_db()
    assert (case.status, case.assignee) == ("open", None)


def test_without_javascript_an_action_redirects_back_with_a_message(ops: Client) -> None:
    case = CaseFactory()
    r = ops.post(reverse("exception-action", args=[case.id, "acknowledge"]), {"next": "/exceptions/?severity=medium"})
    assert r.status_code == 302
    assert r["Location"] == "/exceptions/?severity=medium"
    assert "Acknowledged: exception" in page(ops)
    r = ops.post(reverse("exception-action", args=[case.id, "acknowledge"]), {"next": "https://evil.example/"})
    assert r["Location"] == reverse("exception-detail", args=[case.id])  # no open redirect


def test_actions_need_the_capability_and_a_csrf_token(login: Callable[..., Client]) -> None:
    case = CaseFactory()
    assert login(None).post(reverse("exception-action", args=[case.id, "acknowledge"])).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(UserFactory(role="ops_lead"))
    assert strict.post(reverse("exception-action", args=[case.id, "acknowledge"])).status_code == 403
    assert strict.get(reverse("exception-action", args=[case.id, "acknowledge"])).status_code == 405
    assert ExceptionCase.objects.get().status == "open"


def test_an_unknown_action_or_case_is_not_found(ops: Client) -> None:
    case = CaseFactory()
    assert ops.post(reverse("exception-action", args=[case.id, "delete"])).status_code == 404
    assert ops.post(reverse("exception-action", args=[999_999, "acknowledge"])).status_code == 404


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_resolve_reports_what_it_did_and_what_someone_else_had_done(ops: Client) -> None:
    a, b, c = CaseFactory.create_batch(3)
    exception_resolve(case=b, resolution="done already", actor=UserFactory(username="sam"))
    r = ops.post(
        reverse("exception-bulk"),
        {"ids": [a.id, b.id, c.id], "action": "resolve", "resolution": "Carrier confirmed"},
        HTTP_HX_REQUEST="true",
    )
    html = r.content.decode()
    assert "2 exceptions resolved; 1 not changed." in html
    assert f"#{b.id}</a>: it is resolved now" in html
    assert json.loads(r["HX-Trigger"])["queue:changed"]["ids"] == [a.id, c.id]
    assert set(ExceptionCase.objects.filter(resolution="Carrier confirmed").values_list("id", flat=True)) == {
        a.id,
        c.id,
    }


def test_bulk_assign_to_me_and_snooze(ops: Client) -> None:
    a, b = CaseFactory.create_batch(2)
    html = ops.post(
        reverse("exception-bulk"),
        {"ids": [a.id, b.id], "action": "assign-me", "assignee": "sam-who-was-picked-in-the-list"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "2 exceptions assigned." in html
    assert set(ExceptionCase.objects.values_list("assignee__username", flat=True)) == {"olivia"}
    ops.post(reverse("exception-bulk"), {"ids": [a.id], "action": "snooze", "snooze": "24h"}, HTTP_HX_REQUEST="true")
    assert ExceptionCase.objects.get(id=a.id).snoozed_until == BASE + timedelta(hours=24)


def test_bulk_without_a_selection_or_resolution_says_so(ops: Client) -> None:
    case = CaseFactory()
    html = ops.post(reverse("exception-bulk"), {"action": "acknowledge"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Select cases first." in html
    html = ops.post(
        reverse("exception-bulk"), {"ids": [case.id], "action": "resolve"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Say how these were resolved." in html
    assert ExceptionCase.objects.get().status == "open"


def test_bulk_without_javascript_redirects_to_the_queue_with_a_message(ops: Client) -> None:
    case = CaseFactory()
    r = ops.post(
        reverse("exception-bulk"), {"ids": [case.id], "action": "acknowledge", "next": "/exceptions/?queue=all"}
    )
    assert r.status_code == 302
    assert r["Location"] == "/exceptions/?queue=all"
    assert "1 exception acknowledged." in page(ops)
