"""Bulk actions: every case still goes through its own compare-and-set action, with its own
history and audit entry; a case someone else changed first is reported, not overwritten."""

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from apps.accounts.models import AuditLog
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from apps.exceptions.services import exception_resolve
from apps.exceptions.services.bulk import BULK_MAX_CASES, exceptions_bulk
from tests.factories import UserFactory

from .cases import CaseFactory

pytestmark = pytest.mark.django_db

LATER = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)  # the frozen clock (conftest) is 09:00


@pytest.fixture
def olivia():
    return UserFactory(username="olivia", role="ops_lead")


def audit_targets(action: str) -> list[str]:
    return sorted(AuditLog.objects.filter(action=action).values_list("target", flat=True))


def test_it_resolves_every_selected_case_each_with_its_own_history_and_audit_entry(olivia):
    cases = CaseFactory.create_batch(3)
    ids = [c.id for c in cases]

    result = exceptions_bulk(case_ids=ids, action="resolve", actor=olivia, resolution="  Carrier re-delivered  ")

    assert result.done == sorted(ids)
    assert result.conflicts == {}
    assert result.missing == []
    for case in ExceptionCase.objects.filter(id__in=ids):
        assert case.status == "resolved"
        assert case.resolution == "Carrier re-delivered"
    assert audit_targets("exception.resolved") == sorted(f"exception:{i}" for i in ids)
    entries = ExceptionActivity.objects.filter(case_id__in=ids, action="resolved")
    assert {(e.case_id, e.actor_id, e.detail["resolution"]) for e in entries} == {
        (i, olivia.id, "Carrier re-delivered") for i in ids
    }


def test_a_case_resolved_by_someone_else_meanwhile_is_reported_and_kept_as_they_left_it(olivia):
    first, taken, last = CaseFactory.create_batch(3)
    sam = UserFactory(username="sam", role="cs_agent")
    exception_resolve(case=taken, resolution="Customer collected at the depot", actor=sam)

    result = exceptions_bulk(
        case_ids=[first.id, taken.id, last.id], action="resolve", actor=olivia, resolution="Re-delivered"
    )

    assert result.done == [first.id, last.id]
    assert list(result.conflicts) == [taken.id]
    assert result.conflicts[taken.id] == "it is resolved now"
    taken.refresh_from_db()
    assert taken.resolution == "Customer collected at the depot"
    assert AuditLog.objects.filter(target=f"exception:{taken.id}", actor=olivia).count() == 0


def test_ids_that_name_no_case_are_reported(olivia):
    case = CaseFactory()
    result = exceptions_bulk(case_ids=[case.id, 999_999], action="acknowledge", actor=olivia)
    assert result.done == [case.id]
    assert result.missing == [999_999]


def test_assign_snooze_and_acknowledge_in_bulk(olivia):
    a, b = CaseFactory.create_batch(2)
    sam = UserFactory(username="sam", role="ops_lead")

    assert exceptions_bulk(case_ids=[a.id, b.id], action="assign", actor=olivia, assignee=sam).done == [a.id, b.id]
    assert set(ExceptionCase.objects.values_list("assignee__username", flat=True)) == {"sam"}

    assert exceptions_bulk(case_ids=[a.id, b.id], action="snooze", actor=olivia, until=LATER).done == [a.id, b.id]
    assert set(ExceptionCase.objects.values_list("status", "snoozed_until")) == {("snoozed", LATER)}

    acknowledged = exceptions_bulk(case_ids=[a.id, b.id], action="acknowledge", actor=olivia)
    assert acknowledged.done == [a.id, b.id]
    # acknowledging twice is refused by the state machine, case by case
    again = exceptions_bulk(case_ids=[a.id], action="acknowledge", actor=olivia)
    assert again.done == []
    assert list(again.conflicts) == [a.id]

    unassigned = exceptions_bulk(case_ids=[a.id, b.id], action="assign", actor=olivia, assignee=None)
    assert unassigned.done == [a.id, b.id]
    assert set(ExceptionCase.objects.values_list("assignee", flat=True)) == {None}
    assert len(audit_targets("exception.assigned")) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "resolve", "resolution": "   "}, "resolution"),
        ({"action": "snooze"}, "until: required"),
        ({"action": "snooze", "until": datetime(2026, 11, 26, 8, 0, tzinfo=UTC)}, "until: must be in the future"),
        ({"action": "snooze", "until": datetime(2026, 11, 27, 8, 0)}, "until: naive time"),  # noqa: DTZ001
        ({"action": "delete"}, "action: unknown bulk action"),
    ],
)
def test_bad_input_is_refused_before_any_case_is_touched(olivia, kwargs, message):
    cases = CaseFactory.create_batch(2)
    with pytest.raises(ValueError, match=message):
        exceptions_bulk(case_ids=[c.id for c in cases], actor=olivia, **kwargs)
    assert set(ExceptionCase.objects.values_list("status", flat=True)) == {"open"}
    assert not AuditLog.objects.filter(action__startswith="exception.").exists()


def test_it_needs_at_least_one_and_at_most_the_limit(olivia):
    with pytest.raises(ValueError, match="cases: select at least one"):
        exceptions_bulk(case_ids=[], action="acknowledge", actor=olivia)
    with pytest.raises(ValueError, match=f"cases: at most {BULK_MAX_CASES}"):
        exceptions_bulk(case_ids=range(1, BULK_MAX_CASES + 2), action="acknowledge", actor=olivia)


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)
@pytest.mark.django_db(transaction=True)
def test_two_people_resolving_overlapping_selections_resolve_each_case_once():
    olivia = UserFactory(username="olivia", role="ops_lead")
    sam = UserFactory(username="sam", role="ops_lead")
    cases = [c.id for c in CaseFactory.create_batch(30, opened_at=datetime.now(UTC) - timedelta(hours=1))]
    selections = {olivia: cases[:20], sam: cases[10:]}
    barrier = threading.Barrier(2)
    results = {}
    errors: list[BaseException] = []

    def work(user) -> None:
        try:
            barrier.wait()
            results[user.username] = exceptions_bulk(
                case_ids=selections[user], action="resolve", actor=user, resolution=f"by {user.username}"
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in selections]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    done_o, done_s = set(results["olivia"].done), set(results["sam"].done)
    assert done_o.isdisjoint(done_s)
    assert done_o | done_s == set(cases)
    assert set(results["olivia"].conflicts) | done_o == set(selections[olivia])
    assert set(results["sam"].conflicts) | done_s == set(selections[sam])
    # the case says who resolved it, and the audit log agrees: one entry per case
    for case in ExceptionCase.objects.filter(id__in=cases):
        assert case.status == "resolved"
        winner = "olivia" if case.id in done_o else "sam"
        assert case.resolution == f"by {winner}"
    assert len(audit_targets("exception.resolved")) == len(cases)
