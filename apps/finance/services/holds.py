"""Invoice holds: placed, re-reasoned and released by the pipeline as an order's events change
(`holds_from_orders`), and by people (`hold_release`, `hold_place`).

Automatic holds follow `holds.hold_verdict`: an invoice is held unless every shipment has a
POD and quantities agree; the hold is released, with the event that cleared it, the moment the
verdict says nothing holds it; `invoice.cancelled` ends it. An invoice is held automatically
once: after any release only a person places it on hold again (a manual release must not be
undone by the next event). A hold placed by hand (`disputed`) is released only by hand.

Concurrency: the pipeline runs this for the orders its batch touched, under the graph's row
locks on those orders (apps/correlation/locks.py), so two batches never evaluate one order at
the same time; people's actions are compare-and-set from `held`, and the partial unique
constraint keeps one held row per (order, invoice)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from apps.accounts.services import audit_record
from apps.common.time import now
from apps.live.messages import HoldChangedMessage, LiveMessage
from apps.live.publish import publish_built_on_commit

from ..choices import HoldAction, HoldOutcome, HoldReason, HoldStatus
from ..facts import HoldFacts, Invoice, OrderFacts
from ..holds import HoldVerdict, hold_verdict
from ..items import hold_item
from ..models import HoldActivity, InvoiceHold

MAX_AMOUNT = Decimal(10) ** 16  # InvoiceHold.amount's 18 digits: beyond, the amount is not kept


class HoldConflict(Exception):
    """The hold is not in a state that allows this (already released, already held…)."""


def hold_changed(hold_id: int) -> None:
    """`hold.changed` for this hold after the commit (one message per hold per transaction)."""
    publish_built_on_commit(hold_messages, hold_id)


def hold_messages(hold_ids: list[int]) -> list[LiveMessage]:
    holds = InvoiceHold.objects.filter(id__in=set(hold_ids)).order_by("id")
    return [HoldChangedMessage(type="hold.changed", hold=hold_item(h)) for h in holds]


def _activity(
    hold_id: int, action: str, at: datetime, *, event_id: int | None = None, **detail: object
) -> HoldActivity:
    return HoldActivity(hold_id=hold_id, action=action, event_id=event_id, detail=detail, at=at)


@dataclass
class HoldChanges:
    placed: list[int]
    changed: list[int]
    released: list[int]


def holds_read(order_ids: list[int]) -> dict[int, list[InvoiceHold]]:
    out: dict[int, list[InvoiceHold]] = defaultdict(list)
    for hold in InvoiceHold.objects.filter(order_id__any=order_ids).order_by("id"):
        out[hold.order_id].append(hold)
    return out


def hold_facts(hold: InvoiceHold) -> HoldFacts:
    return HoldFacts(
        hold.id, hold.invoice, hold.status, hold.reason, hold.manual, hold.outcome, hold.posted_while_held_at
    )


def holds_from_orders(orders: list[OrderFacts], stored: dict[int, list[InvoiceHold]]) -> HoldChanges:
    """Bring the holds of these orders' invoices to what their facts say. `stored`: every hold
    of these orders (holds_read), updated in place."""
    at = now()
    tolerance = settings.RECONCILIATION_QTY_TOLERANCE
    changes = HoldChanges([], [], [])
    new: list[InvoiceHold] = []
    activity: list[HoldActivity] = []
    for facts in orders:
        if not facts.invoices:
            continue
        verdict = hold_verdict(facts, tolerance)
        holds = stored.get(facts.order_id, [])
        for invoice in facts.invoices:
            mine = [h for h in holds if h.invoice == invoice.number]
            active = next((h for h in mine if h.status == HoldStatus.HELD), None)
            if active is not None:
                if _update(active, facts, invoice, verdict, at, activity):
                    (changes.released if active.status == HoldStatus.RELEASED else changes.changed).append(active.id)
                continue
            for cleared in (h for h in mine if h.outcome == HoldOutcome.CLEARED):
                if _posted_flag_correct(cleared, invoice, verdict):
                    changes.changed.append(cleared.id)
            # Only a raised invoice (`invoice.created`) is held: a posting alone is the ERP being
            # ahead of the field, which the erp_ahead rule reports. After a person's release or a
            # cancellation it is not held again automatically; after one that cleared (a POD),
            # it is when the facts get worse (a second shipment, a failed delivery after all).
            ended = any(h.outcome in (HoldOutcome.MANUAL, HoldOutcome.CANCELLED) for h in mine)
            if not ended and invoice.created_at and not invoice.cancelled_at and verdict.reason:
                new.append(_new_hold(facts, invoice, verdict, at))
    if new:
        new = _insert(new)
        for hold in new:
            stored.setdefault(hold.order_id, []).append(hold)
            activity.append(
                _activity(hold.id, HoldAction.PLACED, at, event_id=hold.invoice_event_id, reason=hold.reason)
            )
            if hold.posted_while_held_at is not None:
                activity.append(
                    _activity(
                        hold.id, HoldAction.POSTED_WHILE_HELD, at, posted_at=hold.posted_while_held_at.isoformat()
                    )
                )
            changes.placed.append(hold.id)
    HoldActivity.objects.bulk_create(activity)
    for hold_id in changes.placed + changes.changed + changes.released:
        hold_changed(hold_id)
    return changes


def _kept_amount(invoice: Invoice) -> Decimal | None:
    return invoice.amount if invoice.amount is None or abs(invoice.amount) < MAX_AMOUNT else None


def _posted_while_held(invoice: Invoice, verdict: HoldVerdict, *, manual: bool) -> bool:
    """By event time: posted while the hold stood — it still stands, or the posting occurred
    before the delivery that cleared it (however late that POD arrived)."""
    if invoice.posted_at is None:
        return False
    if verdict.reason is not None or manual:
        return True
    return verdict.at is not None and invoice.posted_at < verdict.at


def _posted_flag_correct(hold: InvoiceHold, invoice: Invoice, verdict: HoldVerdict) -> bool:
    """A hold that cleared: its posted-while-held flag as event times now say (a POD that
    arrived late but occurred before the posting clears the flag; compare-and-set). True when
    it changed."""
    if verdict.reason is not None:
        return False  # worse again: a new hold is placed, this one stays as it was
    wanted = invoice.posted_at if _posted_while_held(invoice, verdict, manual=False) else None
    if wanted == hold.posted_while_held_at:
        return False
    won = InvoiceHold.objects.filter(id=hold.id, outcome=HoldOutcome.CLEARED).update(posted_while_held_at=wanted)
    hold.posted_while_held_at = wanted
    return bool(won)


def _new_hold(facts: OrderFacts, invoice: Invoice, verdict: HoldVerdict, at: datetime) -> InvoiceHold:
    raised = invoice.created_at or at
    return InvoiceHold(
        invoice=invoice.number,
        order_id=facts.order_id,
        order_key=facts.order_key,
        customer=facts.customer,
        status=HoldStatus.HELD,
        reason=verdict.reason or "",
        release_hint=verdict.hint[:500],
        amount=_kept_amount(invoice),
        currency=invoice.currency,
        held_since=raised,
        invoice_event_id=invoice.created_event,
        posted_while_held_at=invoice.posted_at,
    )


def _insert(holds: list[InvoiceHold]) -> list[InvoiceHold]:
    """Insert in one statement; should another writer have placed one of them meanwhile (a
    person, by hand), insert one by one and keep theirs."""
    try:
        with transaction.atomic():
            return InvoiceHold.objects.bulk_create(holds)
    except IntegrityError:
        kept = []
        for hold in holds:
            try:
                with transaction.atomic():
                    hold.save()
                kept.append(hold)
            except IntegrityError:
                continue
        return kept


def _update(
    hold: InvoiceHold,
    facts: OrderFacts,
    invoice: Invoice,
    verdict: HoldVerdict,
    at: datetime,
    activity: list[HoldActivity],
) -> bool:
    """Move one held row to what the verdict says (compare-and-set from `held`). True when it
    changed."""
    fields: dict[str, object] = {}
    if invoice.cancelled_at is not None:
        fields = {
            "status": HoldStatus.RELEASED,
            "outcome": HoldOutcome.CANCELLED,
            "released_at": invoice.cancelled_at,
            "released_by_event_id": invoice.cancelled_event,
            "release_hint": "invoice cancelled",
        }
    else:
        flagged = invoice.posted_at if _posted_while_held(invoice, verdict, manual=hold.manual) else None
        # Still held: a posting now is posted while held. Cleared: as the event times say (a POD
        # that arrives late but occurred before the posting takes the flag away).
        clearing = verdict.reason is None and not hold.manual
        if (clearing or flagged is not None) and flagged != hold.posted_while_held_at:
            fields["posted_while_held_at"] = flagged
        changed_facts = {
            "amount": _kept_amount(invoice),
            "currency": invoice.currency,
            "customer": facts.customer or hold.customer,
        }
        fields.update({k: v for k, v in changed_facts.items() if getattr(hold, k) != v})
        if hold.manual:
            pass
        elif verdict.reason is None:
            fields.update(
                status=HoldStatus.RELEASED,
                outcome=HoldOutcome.CLEARED,
                released_at=at,
                released_by_event_id=verdict.event_id,
                release_hint=verdict.hint[:500],
            )
        elif verdict.reason != hold.reason or verdict.hint[:500] != hold.release_hint:
            fields.update(reason=verdict.reason, release_hint=verdict.hint[:500])
    if not fields:
        return False
    won = InvoiceHold.objects.filter(id=hold.id, status=HoldStatus.HELD).update(updated_at=at, **fields)
    if not won:
        return False
    previous_reason = hold.reason
    for name, value in fields.items():
        setattr(hold, name, value)
    if fields.get("posted_while_held_at") is not None:
        activity.append(_activity(hold.id, HoldAction.POSTED_WHILE_HELD, at, posted_at=invoice.posted_at.isoformat()))  # type: ignore[union-attr]
    if fields.get("status") == HoldStatus.RELEASED:
        activity.append(
            _activity(
                hold.id,
                HoldAction.RELEASED,
                at,
                event_id=hold.released_by_event_id,
                outcome=hold.outcome,
                note=hold.release_hint,
            )
        )
    elif "reason" in fields and previous_reason != hold.reason:
        activity.append(_activity(hold.id, HoldAction.REASON_CHANGED, at, reason=hold.reason, previous=previous_reason))
    return True


# --- people's actions ----------------------------------------------------------------------


def hold_release(*, hold: InvoiceHold, actor: User, reason: str) -> InvoiceHold:
    """Release a hold by hand, with a reason (the caller checks `release_invoice_holds`).
    Audited; compare-and-set: HoldConflict when it is no longer held."""
    reason = reason.strip()
    if not reason:
        raise ValueError("reason: say why the hold is released")
    at = now()
    with transaction.atomic():
        won = InvoiceHold.objects.filter(id=hold.id, status=HoldStatus.HELD).update(
            status=HoldStatus.RELEASED,
            outcome=HoldOutcome.MANUAL,
            released_at=at,
            released_by=actor,
            release_note=reason[:2000],
            updated_at=at,
        )
        if not won:
            raise HoldConflict(f"invoice {hold.invoice} is no longer held")
        HoldActivity.objects.create(
            hold_id=hold.id,
            action=HoldAction.RELEASED,
            actor=actor,
            detail={"outcome": "manual", "note": reason},
            at=at,
        )
        audit_record(
            actor=actor,
            action="invoice_hold.released",
            target=f"invoice:{hold.invoice}",
            detail={"hold": hold.id, "order": hold.order_key, "reason": reason, "was": hold.reason},
        )
        hold_changed(hold.id)
    hold.refresh_from_db()
    return hold


def hold_place(*, facts: OrderFacts, invoice_number: str, actor: User, reason: str) -> InvoiceHold:
    """Place a `disputed` hold on one of the order's invoices by hand (the caller checks
    `release_invoice_holds`). Audited. HoldConflict when the invoice is already held or was
    cancelled; ValueError when the order has no such invoice."""
    reason = reason.strip()
    if not reason:
        raise ValueError("reason: say why the invoice is disputed")
    invoice = next((i for i in facts.invoices if i.number == invoice_number), None)
    if invoice is None:
        raise ValueError(f"invoice: order {facts.order_key} has no invoice {invoice_number!r}")
    if invoice.cancelled_at is not None:
        raise HoldConflict(f"invoice {invoice_number} was cancelled")
    at = now()
    hold = InvoiceHold(
        invoice=invoice.number,
        order_id=facts.order_id,
        order_key=facts.order_key,
        customer=facts.customer,
        reason=HoldReason.DISPUTED,
        release_hint=f"disputed: {reason}"[:500],
        manual=True,
        amount=invoice.amount,
        currency=invoice.currency,
        held_since=at,
        invoice_event_id=invoice.created_event,
    )
    try:
        with transaction.atomic():
            hold.save()
            HoldActivity.objects.create(
                hold_id=hold.id,
                action=HoldAction.PLACED,
                actor=actor,
                detail={"reason": "disputed", "note": reason},
                at=at,
            )
            audit_record(
                actor=actor,
                action="invoice_hold.placed",
                target=f"invoice:{invoice.number}",
                detail={"hold": hold.id, "order": facts.order_key, "reason": reason},
            )
            hold_changed(hold.id)
    except IntegrityError as exc:
        raise HoldConflict(f"invoice {invoice_number} is already held") from exc
    return hold
