"""The ingestion pipeline, in order: what happens to a batch of raw messages, stage by stage.

This module is the one place that says which stages run and in which order (a test pins it:
tests/pipeline/test_stages.py). The runner (runner.py) calls them one after the other inside
the batch's one transaction, times each, and names it in the logs and metrics (metrics.py):
nothing is registered from elsewhere, no app patches another. Each stage is a plain function
of the `Batch` that says what it reads and what it writes; the domain work is in the apps'
services, called here explicitly.

Two transactions: `store` commits on its own (its Stage says `commits=True`), everything from
`finish` on commits together. Why: the unique index on (feed, event_key) makes a batch that
inserts an event another batch has inserted but not committed yet (a partner's resend, which
lands in the neighbouring batch) wait for that batch's transaction to end. With one
transaction that was the other batch's whole correlation: measured, two workers on the
bench's stream (3 % resends) spent most of their time waiting on each other
(docs/benchmarks.md, 2026-12-04 "Resends serialised the workers"). Now the wait is for the
other's short `store` at most. What a crash between the two leaves: new events stored
(presumed matched) whose messages are still `processing`, freed by the heal sweep; the retry
finds the events "restored" (stored by the same message) and derives them; a message that
dead-letters instead gets its unplaced events back on the unmatched list (ON_DEAD_LETTER).

Order matters, and why:
* `store` before everything: the later stages read the stored events; `finish` then settles
  each message (its corrections, its status) in the transaction of everything it derives.
* `correlate` before the stages that read timelines (cases, exceptions, SLA); it takes the
  graph's row locks (apps/correlation/locks.py) that the rest of the transaction works under.
* `cases_follow_binding` before `partner_exceptions`: an exception event of the same batch then
  joins a case that late binding has just moved to its order, instead of opening a second one.
* `invoice_holds` after correlation (it reads the orders' ledgers, which correlate folds) and
  before `reconciliation`, whose `posted_while_held` rule reads the holds.
* `publish` last: it queues `order.updated` for the orders touched; every live message of the
  batch leaves in one push after the commit (apps/live/publish.py).

The early lane (early.py) has its own short list, EARLY_STAGES, for small messages that
announce an exception: their partner exceptions before correlation. The release sweep has
RELEASE_STAGES: future-dated events trusted once their time comes, their orders recomputed."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings

from apps.common.time import now
from apps.correlation.live import orders_changed
from apps.correlation.services import events_corrected, events_correlate, message_events_unplaced
from apps.events.corrections import events_correct
from apps.events.services import StoreRequest, StoreResult, events_release_held, events_store_batch
from apps.events.taxonomy import EARLY_LANE_TYPES
from apps.events.validation import Rejection, ValidEvent
from apps.exceptions.services import exceptions_from_events
from apps.exceptions.services.partner import exceptions_before_correlation
from apps.exceptions.services.rebind import cases_rebind
from apps.exceptions.services.system import dead_letter_record, system_batch_processed
from apps.finance.facts import OrderFacts
from apps.finance.services.reconciliation import orders_hold, orders_reconcile
from apps.ingestion.choices import MessageStatus
from apps.ingestion.feed_formats import feed_context
from apps.ingestion.formats import FORMATS, FeedContext, UnreadableBody
from apps.ingestion.models import RawMessage
from apps.sla.services import slas_from_orders

from .claims import Finish, finish, finish_all, release_to_regular


@dataclass
class Batch:
    """What the stages of one transaction share: the messages, and what each stage found."""

    messages: list[RawMessage]
    parsed: list[tuple[RawMessage, list[ValidEvent | Rejection]]] = field(default_factory=list)
    statuses: dict[UUID, str] = field(default_factory=dict)
    event_ids: list[int] = field(default_factory=list)  # stored from these messages: new and restored
    corrected_event_ids: list[int] = field(default_factory=list)  # stored before, changed in place now
    placed_event_ids: set[int] = field(default_factory=set)  # on the timeline of an order correlate touched
    orders: set[int] = field(default_factory=set)  # order node ids correlate touched
    projections: dict[int, dict[str, Any]] = field(default_factory=dict)  # as correlate wrote them
    order_facts: list[OrderFacts] = field(default_factory=list)  # their ledgers and holds (invoice_holds)
    stored: list[tuple[StoreRequest, StoreResult]] = field(default_factory=list)  # per parsed message (store)

    @property
    def events(self) -> int:
        return sum(sum(isinstance(o, ValidEvent) for o in outcomes) for _, outcomes in self.parsed)

    def resumed(self, held: set[UUID]) -> "Batch":
        """What the next transaction of the batch starts from (the first one: the claimed
        messages alone): the messages still held (a claim healed and taken over between the two
        transactions is another worker's now), what was parsed and stored for them; nothing
        derived (a retried transaction derives it again)."""
        return Batch(
            messages=[m for m in self.messages if m.id in held],
            parsed=[(m, outcomes) for m, outcomes in self.parsed if m.id in held],
            statuses=dict(self.statuses),  # those finished already (an unreadable body, rejected)
            stored=[(r, result) for r, result in self.stored if r.message_id in held],
        )


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Batch], object]
    commits: bool = False  # the runner commits after this stage; the next ones run in a new transaction


def parse(batch: Batch) -> None:
    """Reads each message's raw body through its feed's format, code tables and mapping
    (apps/ingestion/formats); writes `batch.parsed` (valid events and per-event rejections
    naming the field, or the code and table that does not map it). A body the format cannot read at all
    finishes its message as `rejected` with the reason."""
    contexts: dict[int, FeedContext] = {}  # one read of each feed's code tables per batch
    for message in batch.messages:
        ctx = contexts.get(message.feed_id) or contexts.setdefault(message.feed_id, feed_context(message.feed))
        try:
            batch.parsed.append((message, FORMATS[message.feed.format].parse(bytes(message.body), ctx)))
        except UnreadableBody as exc:
            finish(message, MessageStatus.REJECTED, error=str(exc))
            batch.statuses[message.id] = MessageStatus.REJECTED


def store(batch: Batch) -> None:
    """Reads `batch.parsed`; writes the canonical events new to the store and their refs (one
    COPY, one INSERT … ON CONFLICT (feed, event_key) DO NOTHING, one COPY of refs for the whole
    batch), presumed matched: `correlate` puts back the few that land on no order. Sets
    `batch.stored`. **Commits on its own** (see "Two transactions" above): nothing else is
    written here, so a crash before `finish` leaves stored events whose message is still
    `processing`; its retry finds them "restored" and derives them then."""
    requests = [_request(message, outcomes) for message, outcomes in batch.parsed]
    batch.stored = list(zip(requests, events_store_batch(requests, matched=True), strict=True))


def _request(message: RawMessage, outcomes: list[ValidEvent | Rejection]) -> StoreRequest:
    return StoreRequest(
        message.feed_id,
        message.feed.system,
        message.id,
        message.received_at,
        [o for o in outcomes if isinstance(o, ValidEvent)],
        message.feed.future_tolerance,
    )


def finish_messages(batch: Batch) -> None:
    """Reads `batch.stored`; writes the stored events these messages re-derived differently (a
    replay after a code-table change, an EPCIS error declaration), updated in place, and every
    message's final status and counts (one compare-and-set UPDATE). Sets `batch.event_ids`
    (new: stored by this batch's `store`; restored: stored by the same message before, by an
    earlier attempt or a replay) and `batch.corrected_event_ids`."""
    requests = [request for request, _ in batch.stored]
    results = [result for _, result in batch.stored]
    declaring = frozenset(m.feed_id for m in batch.messages if m.feed.format == "epcis")
    batch.corrected_event_ids = events_correct(requests, results, declaring_feeds=declaring)
    finished: list[Finish] = []
    for (message, outcomes), stored in zip(batch.parsed, results, strict=True):
        rejected = [o.as_dict() for o in outcomes if isinstance(o, Rejection)]
        batch.event_ids += stored.new_event_ids + stored.restored_event_ids
        usable = stored.accepted + stored.duplicates
        status = MessageStatus.PROCESSED if usable or not outcomes else MessageStatus.REJECTED
        batch.statuses[message.id] = status
        error = "" if usable or not rejected else "no event in this message was usable"
        finished.append(Finish(message, status, stored.accepted, stored.duplicates, rejected, error))
    finish_all(finished)
    batch.event_ids = sorted(set(batch.event_ids) | set(batch.corrected_event_ids))


def correlate(batch: Batch) -> None:
    """Reads the stored events and the identity graph; writes nodes, links, alias bindings,
    stored closures, timeline entries and order projections, and puts back to unmatched the
    events on no order. Holds row locks on the nodes and orders it touches until the commit.
    Sets `batch.orders`, `batch.placed_event_ids` and `batch.projections`."""
    result = events_correlate(batch.event_ids)
    batch.orders, batch.placed_event_ids, batch.projections = result.orders, result.placed, result.projections
    # corrected events: their orders recomputed from the whole timeline, under the same locks
    batch.orders |= events_corrected(batch.corrected_event_ids, written=batch.projections)


def cases_follow_binding(batch: Batch) -> None:
    """Reads the partner exception cases opened on a ref (a tracking number, a shipment) whose
    events correlate has now put on an order; writes them moved to that order (or merged into
    its open case), resolved ones included, so the order's history shows them."""
    cases_rebind(sorted(batch.placed_event_ids))


def partner_exceptions(batch: Batch) -> None:
    """Reads the batch's exception and clearing events and the orders they are on; writes
    partner_exception cases: opened, counted (one occurrence per case and event), cleared."""
    exceptions_from_events(batch.event_ids)


def sla(batch: Batch) -> None:
    """Reads the active SLA policies and the projections of the orders the batch's events are
    on; writes their expectations (started, met, moved by a new promise) and opens or resolves
    `sla_breach` cases for late stops."""
    slas_from_orders(batch.event_ids)


def invoice_holds(batch: Batch) -> None:
    """Reads the ledgers (quantities, deliveries, invoices) of the orders correlate touched and
    their invoice holds; writes holds placed, re-reasoned (awaiting_pod → delivery_failed…) and
    released by the event that cleared them or ended by `invoice.cancelled`, each with its
    history and a `hold.changed`. Reads the ledgers from `batch.projections` (what correlate has
    just written), the database only for the others. Sets `batch.order_facts`."""
    batch.order_facts = orders_hold(sorted(batch.orders), projections=batch.projections)


def reconciliation(batch: Batch) -> None:
    """Reads `batch.order_facts`; writes each order's reconciliation verdict (matched /
    mismatched / pending, findings naming their rule) and opens or resolves its
    `reconciliation` exceptions (finance queue for money, ops for movement)."""
    orders_reconcile(batch.order_facts)


def feed_health(batch: Batch) -> None:
    """Reads the batch's feeds; resolves their `feed_silent` case (the feed spoke) and their
    `ingestion` case once no dead letter is left."""
    system_batch_processed(batch.messages)


def publish(batch: Batch) -> None:
    """Reads `batch.orders`; writes (queues) `order.updated` for each. It and every exception
    message the stages queued leave as one push to the ops group after the commit; nothing if
    the transaction rolls back."""
    orders_changed(batch.orders)


STAGES: tuple[Stage, ...] = (
    Stage("parse", parse),
    Stage("store", store, commits=True),
    Stage("finish", finish_messages),
    Stage("correlate", correlate),
    Stage("cases_follow_binding", cases_follow_binding),
    Stage("partner_exceptions", partner_exceptions),
    Stage("sla", sla),
    Stage("invoice_holds", invoice_holds),
    Stage("reconciliation", reconciliation),
    Stage("feed_health", feed_health),
    Stage("publish", publish),
)


def stages_selected(names: list[str]) -> tuple[Stage, ...]:
    """STAGES restricted to these names, in STAGES' order (settings.PIPELINE_STAGES; empty: all).
    An unknown name is an error, not a silently skipped stage."""
    if not names:
        return STAGES
    unknown = set(names) - {stage.name for stage in STAGES}
    if unknown:
        raise ValueError(f"PIPELINE_STAGES names no such stage: {', '.join(sorted(unknown))}")
    return tuple(stage for stage in STAGES if stage.name in names)


# --- the early lane (early.py) ---------------------------------------------------------------


def store_unplaced(batch: Batch) -> None:
    """Early lane. Reads `batch.parsed`; writes the message's events and refs if it carries an
    exception or clearing event, stored *unmatched*: correlation has not placed them, and until
    the regular lane does, the unmatched list must show them. The message's status is left to
    the regular lane. Sets `batch.event_ids`."""
    for message, outcomes in batch.parsed:
        request = _request(message, outcomes)
        if not any(event.type in EARLY_LANE_TYPES for event in request.events):
            continue
        stored = events_store_batch([request], matched=False)[0]
        batch.event_ids += stored.new_event_ids + stored.restored_event_ids


def partner_exceptions_early(batch: Batch) -> None:
    """Early lane. Reads the stored exception and clearing events and the orders the committed
    graph places them on (no correlation, no graph lock); writes partner_exception cases and
    their occurrences, which the regular lane's `partner_exceptions` then finds counted."""
    exceptions_before_correlation(batch.event_ids)


def hand_back(batch: Batch) -> None:
    """Early lane. Writes the message back to `received` (no longer early_pending) in the same
    transaction as the exceptions: the regular lane, queued after the commit, processes it in
    full and counts its first attempt."""
    for message in batch.messages:
        release_to_regular(message)


EARLY_STAGES: tuple[Stage, ...] = (
    Stage("parse", parse),
    Stage("store_unplaced", store_unplaced),
    Stage("partner_exceptions_early", partner_exceptions_early),
    Stage("hand_back", hand_back),
)

# --- the release sweep (runner.held_events_release) --------------------------------------------


def release_held(batch: Batch) -> None:
    """Release sweep. Reads the future-dated events whose own time has come (held_until passed);
    writes them trusted (held_until cleared, at most EVENTS_RELEASE_BATCH per transaction, rows
    another sweep holds skipped). Sets `batch.event_ids` and `batch.corrected_event_ids` to
    them: `correlate` then recomputes their orders from whole timelines, with them counted."""
    released = events_release_held(at=now(), limit=settings.EVENTS_RELEASE_BATCH)
    batch.event_ids = released
    batch.corrected_event_ids = released


# Their partner exceptions were opened when they arrived; what their time changes is the stage,
# the SLA stops they meet, the proof of delivery the holds wait for, and the order's screen.
RELEASE_STAGES: tuple[Stage, ...] = (
    Stage("release_held", release_held),
    Stage("correlate", correlate),
    Stage("sla", sla),
    Stage("invoice_holds", invoice_holds),
    Stage("reconciliation", reconciliation),
    Stage("publish", publish),
)


# Called with a message that has just become a dead letter, in the transaction that marks it:
# its case counted, and the events its `store` committed presumed matched that no order took
# back on the unmatched list.
def events_unplaced_listed(message: RawMessage) -> None:
    """Dead letter. Reads the events this message stored; writes those on no order back to
    unmatched (they were stored presumed matched by `store`, and correlation never ran)."""
    message_events_unplaced(message.id)


ON_DEAD_LETTER: tuple[Callable[[RawMessage], object], ...] = (dead_letter_record, events_unplaced_listed)
