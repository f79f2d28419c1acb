"""Log context: every log line carries the message id (and feed) being worked on.

A contextvar rather than thread-locals so it is correct under ASGI as well as in workers."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_message_id: ContextVar[str | None] = ContextVar("message_id", default=None)
_feed: ContextVar[str | None] = ContextVar("feed", default=None)


@contextmanager
def log_context(*, message_id: object = None, feed: str | None = None) -> Iterator[None]:
    token_m = _message_id.set(str(message_id) if message_id is not None else _message_id.get())
    token_f = _feed.set(feed if feed is not None else _feed.get())
    try:
        yield
    finally:
        _message_id.reset(token_m)
        _feed.reset(token_f)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.message_id = _message_id.get()
        record.feed = _feed.get()
        return True
