"""The JSON shape of a hold: the API's item and the `hold.changed` message (one builder)."""

from apps.live.messages import Amount, HoldItem

from .models import InvoiceHold


def amount_of(value: object, currency: str) -> Amount | None:
    if value is None:
        return None
    return Amount(value=f"{value:.2f}", currency=currency)


def hold_item(hold: InvoiceHold) -> HoldItem:
    return HoldItem(
        id=hold.id,
        invoice=hold.invoice,
        order=hold.order_key or None,
        status=hold.status,
        reason=hold.reason,
        amount=amount_of(hold.amount, hold.currency),
        held_since=hold.held_since.isoformat(),
        released_at=hold.released_at.isoformat() if hold.released_at else None,
        customer=hold.customer,
        release_hint=hold.release_hint,
        manual=hold.manual,
        outcome=hold.outcome,
        posted_while_held=hold.posted_while_held_at is not None,
    )
