"""The one place that sends to the channel layer.

Services call `publish_on_commit(message)`, or `publish_built_on_commit(build, item)` for
messages cheaper to build once per transaction from what it committed (every exception case a
batch touched, read in one query after the commit). Inside a transaction both wait in that
transaction's outbox; after the commit each builder is called once with all its items, repeats
about the same thing are merged (apps.live.messages.coalesced) and everything leaves as ONE
`group_send` to the ops group carrying the list. Outside a transaction it leaves at once. A
rolled-back transaction sends nothing.

Savepoints: what is published inside a savepoint that is rolled back is dropped; the rest of the
transaction's messages still leave at commit. Each message (or item) is held by an on-commit
hook of its own, which Django discards with the savepoint, and one flush hook per transaction is
kept last in the hook list, so that it runs after every surviving one.

Publishing is best effort: the data is already committed, so a failing builder or a channel
layer that is down is logged, never raised to the caller. Pages refetch their state when their
socket reconnects (docs/live.md)."""

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .messages import BATCH_EVENT, OPS_GROUP, LiveMessage, coalesced

logger = logging.getLogger(__name__)

Builder = Callable[[list[Any]], Iterable[LiveMessage]]


class _Outbox:
    """One transaction's messages. Called (as the last on-commit hook) it sends them."""

    def __init__(self) -> None:
        self.messages: list[LiveMessage] = []
        self.items: dict[Builder, list[Any]] = {}
        self.sent = False

    def keep(self, message: LiveMessage) -> None:
        self.messages.append(message)

    def keep_item(self, build: Builder, item: Any) -> None:
        self.items.setdefault(build, []).append(item)

    def __call__(self) -> None:
        self.sent = True
        # Built messages come last: read after the commit, they are the freshest state of what
        # they are about, and `coalesced` keeps the later state.
        _send(self.messages + _built(self.items))


def publish_on_commit(message: LiveMessage) -> None:
    """Send `message` to the ops group after the current transaction commits (now when there is
    no transaction)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _send([message])
        return
    outbox = _outbox(connection)
    connection.on_commit(partial(outbox.keep, message))
    _move_last(connection.run_on_commit, outbox)


def publish_built_on_commit[T](build: Callable[[list[T]], Iterable[LiveMessage]], item: T) -> None:
    """After the commit, call `build` once with every item given to it in the transaction, and
    send the messages it returns with the transaction's others (now when there is none)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _send(_built({build: [item]}))
        return
    outbox = _outbox(connection)
    connection.on_commit(partial(outbox.keep_item, build, item))
    _move_last(connection.run_on_commit, outbox)


def _built(items: dict[Builder, list[Any]]) -> list[LiveMessage]:
    messages: list[LiveMessage] = []
    for build, batch in items.items():
        try:
            messages.extend(build(batch))
        except Exception:
            logger.warning("live: %s failed; %d item(s) not published", build.__qualname__, len(batch), exc_info=True)
    return messages


_Hooks = list[tuple[set[str], Callable[[], Any], bool]]


def _outbox(connection: Any) -> _Outbox:
    # The outbox lives in the hook list itself: it disappears with the savepoint it was
    # registered in (the next message registers a new one) and with the transaction.
    for _, hook, _robust in reversed(connection.run_on_commit):
        if isinstance(hook, _Outbox) and not hook.sent:
            return hook
    outbox = _Outbox()
    connection.on_commit(outbox, robust=True)
    return outbox


def _move_last(hooks: _Hooks, outbox: _Outbox) -> None:
    # Keeps the entry's savepoint ids: the flush goes only with the savepoint that was open when
    # the outbox was created, and every message published since was inside that savepoint too.
    # The old place is left holding a no-op rather than removed, so that the position of every
    # other hook stays put (Django's captureOnCommitCallbacks slices the list by position).
    for index in range(len(hooks) - 1, -1, -1):
        sids, hook, robust = hooks[index]
        if hook is outbox:
            if index != len(hooks) - 1:
                hooks[index] = (sids, _nothing, robust)
                hooks.append((sids, outbox, robust))
            return


def _nothing() -> None:
    pass


def _send(messages: list[LiveMessage]) -> None:
    messages = coalesced(messages)
    if not messages:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    event = {"type": BATCH_EVENT, "messages": messages}
    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            async_to_sync(layer.group_send)(OPS_GROUP, event)
            return
        # A thread that runs an event loop (a test driving a browser, say) cannot block on
        # the layer itself: send from a helper thread and wait for it.
        _send_from_thread(layer, event)
    except Exception:
        logger.warning("live: %d message(s) not published", len(messages), exc_info=True)


def _send_from_thread(layer: Any, event: dict[str, Any]) -> None:
    failure: list[BaseException] = []

    def run() -> None:
        try:
            async_to_sync(layer.group_send)(OPS_GROUP, event)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    helper = threading.Thread(target=run, name="live-publish")
    helper.start()
    helper.join()
    if failure:
        raise failure[0]
