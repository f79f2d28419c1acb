"""The messages `/ws/ops/` pushes (http-api.md "Live"), one JSON object per change.

These types are the wire contract: services build them, `publish_on_commit` sends them, the
consumer forwards them and tests validate real ones against them (msgspec converts a dict to a
TypedDict strictly: every key, every type, literal types included).

Within one transaction several changes of the same thing (a case opened, then counted, then
auto-resolved) reach the pages as one message: `message_key` says what a message is about and
`merged` keeps the latest state, still announced as "opened" when the pages never saw it."""

from typing import Literal, TypedDict

OPS_GROUP = "ops"  # every logged-in page's socket; the consumer filters per user
BATCH_EVENT = "live.batch"  # the channel-layer event carrying one transaction's messages

ExceptionMessageType = Literal["exception.opened", "exception.updated"]
MessageType = Literal["exception.opened", "exception.updated", "order.updated", "hold.changed"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("exception.opened", "exception.updated", "order.updated", "hold.changed")


class ExceptionItem(TypedDict):
    """The item of `GET /api/v1/exceptions/` (apps.exceptions.items.exception_item builds both)."""

    id: int
    kind: str
    code: str
    severity: str
    status: str
    queue: str
    order: str | None
    opened_at: str
    last_seen_at: str
    occurrences: int
    assignee: str | None
    subject: str
    source_type: str
    snoozed_until: str | None
    resolved_at: str | None
    resolution: str


class ExceptionMessage(TypedDict):
    type: ExceptionMessageType
    exception: ExceptionItem


class OrderUpdatedMessage(TypedDict):
    type: Literal["order.updated"]
    order: str  # the order id (its key), as in /orders/<order id>/
    stage: str
    open_exceptions: int


class Amount(TypedDict):
    value: str  # "125.00"
    currency: str  # "EUR"


class HoldItem(TypedDict):
    """The item of `GET /api/v1/invoice-holds/` (http-api.md; apps.finance.items.hold_item builds
    both). After `released_at` the fields are extensions (docs/finance.md)."""

    id: int
    invoice: str
    order: str | None
    status: str
    reason: str
    amount: Amount | None
    held_since: str
    released_at: str | None
    customer: str
    release_hint: str
    manual: bool
    outcome: str
    posted_while_held: bool


class HoldChangedMessage(TypedDict):
    type: Literal["hold.changed"]
    hold: HoldItem


LiveMessage = ExceptionMessage | OrderUpdatedMessage | HoldChangedMessage


def message_key(message: LiveMessage) -> str:
    """What the message is about: later messages with the same key in a transaction replace it."""
    if message["type"] == "order.updated":
        return f"order:{message['order']}"
    if message["type"] == "hold.changed":
        return f"hold:{message['hold']['id']}"
    return f"exception:{message['exception']['id']}"


def merged(earlier: LiveMessage, later: LiveMessage) -> LiveMessage:
    """`later`'s state; a case opened in this transaction stays announced as opened."""
    if earlier["type"] == "exception.opened" and later["type"] == "exception.updated":
        return ExceptionMessage(type="exception.opened", exception=later["exception"])
    return later


def coalesced(messages: list[LiveMessage]) -> list[LiveMessage]:
    """One message per key, in the order each key first appeared."""
    by_key: dict[str, LiveMessage] = {}
    for message in messages:
        key = message_key(message)
        by_key[key] = merged(by_key[key], message) if key in by_key else message
    return list(by_key.values())
