"""publish_on_commit: after the commit, one group_send per transaction, nothing on rollback."""

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from apps.live.messages import ExceptionItem, ExceptionMessage, LiveMessage, OrderUpdatedMessage, coalesced
from apps.live.publish import publish_built_on_commit, publish_on_commit

from .conftest import SentEvents, sent_messages

pytestmark = pytest.mark.django_db(transaction=True)


def order(key: str, stage: str = "picked", open_exceptions: int = 0) -> OrderUpdatedMessage:
    return OrderUpdatedMessage(type="order.updated", order=key, stage=stage, open_exceptions=open_exceptions)


def case(type_: str, case_id: int, status: str = "open") -> ExceptionMessage:
    item = ExceptionItem(
        id=case_id,
        kind="partner_exception",
        code="CUSTOMER_ABSENT",
        severity="medium",
        status=status,
        queue="customer_service",
        order="SO-1",
        opened_at="2026-11-25T10:00:00Z",
        last_seen_at="2026-11-25T10:00:00Z",
        occurrences=1,
        assignee=None,
        subject="order:SO-1",
        source_type="delivery.attempted",
        snoozed_until=None,
        resolved_at=None,
        resolution="",
    )
    return ExceptionMessage(type=type_, exception=item)  # type: ignore[typeddict-item]


def rolled_back(*publish: Callable[[], None]) -> None:
    """Run these publishes in a transaction (or savepoint) that is then rolled back."""

    def undone() -> None:
        with transaction.atomic():
            for call in publish:
                call()
            raise RuntimeError("undone")

    with pytest.raises(RuntimeError):
        undone()


def test_outside_a_transaction_a_message_leaves_at_once(sent: SentEvents) -> None:
    publish_on_commit(order("SO-1"))
    assert sent_messages(sent) == [order("SO-1")]


def test_a_transaction_sends_one_batch_after_its_commit(sent: SentEvents) -> None:
    with transaction.atomic():
        publish_on_commit(order("SO-1"))
        publish_on_commit(order("SO-2"))
        publish_on_commit(order("SO-1", stage="packed"))
        assert sent == []
    assert len(sent) == 1
    group, event = sent[0]
    assert group == "ops"
    assert event["type"] == "live.batch"
    # one message per order, the latest state, in the order the orders first changed
    assert event["messages"] == [order("SO-1", stage="packed"), order("SO-2")]


def test_a_rolled_back_transaction_sends_nothing(sent: SentEvents) -> None:
    rolled_back(
        lambda: publish_on_commit(order("SO-1")),
        lambda: publish_built_on_commit(lambda items: [order(k) for k in items], "SO-2"),
    )
    assert sent == []


def test_a_rolled_back_savepoint_drops_only_what_was_published_inside_it(sent: SentEvents) -> None:
    with transaction.atomic():
        publish_on_commit(order("SO-1"))
        rolled_back(lambda: publish_on_commit(order("SO-2")))
        publish_on_commit(order("SO-3"))
    assert len(sent) == 1
    assert sent_messages(sent) == [order("SO-1"), order("SO-3")]


def test_a_transaction_whose_first_message_was_rolled_back_still_sends_the_others(sent: SentEvents) -> None:
    with transaction.atomic():
        rolled_back(lambda: publish_on_commit(order("SO-1")))  # the transaction's outbox is created in there
        publish_on_commit(order("SO-2"))
        with transaction.atomic():  # a savepoint that commits keeps its messages
            publish_on_commit(order("SO-3"))
    assert len(sent) == 1
    assert sent_messages(sent) == [order("SO-2"), order("SO-3")]


def test_a_builder_runs_once_after_the_commit_with_every_item(sent: SentEvents) -> None:
    calls: list[tuple[list[str], bool]] = []

    def build(keys: list[str]) -> list[LiveMessage]:
        calls.append((list(keys), connection.in_atomic_block))
        return [order(k, stage="built") for k in sorted(set(keys))]

    with transaction.atomic():
        publish_on_commit(order("SO-1"))
        publish_built_on_commit(build, "SO-2")
        publish_built_on_commit(build, "SO-1")
        publish_built_on_commit(build, "SO-2")
        assert calls == []
    assert calls == [(["SO-2", "SO-1", "SO-2"], False)]  # after the commit, outside any transaction
    assert len(sent) == 1
    # the built (fresher) state wins over the message published during the transaction
    assert sent_messages(sent) == [order("SO-1", stage="built"), order("SO-2", stage="built")]


def test_a_case_opened_then_changed_in_one_transaction_is_announced_as_opened() -> None:
    assert coalesced([case("exception.opened", 7), case("exception.updated", 7, status="resolved")]) == [
        case("exception.opened", 7, status="resolved")
    ]
    assert coalesced([case("exception.updated", 7), case("exception.updated", 7, status="resolved")]) == [
        case("exception.updated", 7, status="resolved")
    ]


def test_a_channel_layer_that_fails_is_logged_not_raised(
    layer: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def down(group: str, event: dict[str, Any]) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(layer, "group_send", down)
    with caplog.at_level(logging.WARNING, logger="apps.live.publish"), transaction.atomic():
        publish_on_commit(order("SO-1"))
    assert "1 message(s) not published" in caplog.text


def test_a_failing_builder_does_not_stop_the_other_messages(sent: SentEvents, caplog: pytest.LogCaptureFixture) -> None:
    def broken(items: list[int]) -> list[LiveMessage]:
        raise ValueError("bug")

    with caplog.at_level(logging.WARNING, logger="apps.live.publish"), transaction.atomic():
        publish_built_on_commit(broken, 1)
        publish_on_commit(order("SO-1"))
    assert sent_messages(sent) == [order("SO-1")]
    assert "broken failed" in caplog.text
