"""The proportions of the simulated world's finance traffic, in one place.

`FINANCE_MIX` is what `generate_world` uses unless told otherwise; a test or a benchmark passes
its own `FinanceMix` (`dataclasses.replace(FINANCE_MIX, missing_pod=0.5)`). Rates are
probabilities in [0, 1]; each says what it is a share *of*.

Every draw these rates steer comes from the world's finance generator (a second generator
seeded from the world's seed), never from the one that plays orders, shipments and runs: the
same seed gives the same orders, splits, consolidations, runs and late-bound tracking numbers
whatever the mix, and the mix only adds or changes finance traffic on top of them.
Exceptions: `invoice_at_ship` takes the order's own draw (changing it changes invoices only);
`short_pick`, `attempted` and `failed_retry` are played by the world's generator, as they were
before the mix existed, so changing them changes the world (their defaults are those rates).

What the control tower makes of it (apps/finance/holds.py, apps/finance/rules.py):

- an invoice raised at ship-confirm is held `awaiting_pod` until every shipment of its order
  has a POD, then released by the POD; one raised after delivery is not held;
- a POD with fewer units than ordered (`short_delivery`, or a `short_pick` delivered as
  picked) holds the invoice `quantity_mismatch` and is a `quantity` finding;
- a failed delivery (`refused`, or `attempted` then `failed_retry`) turns the hold into
  `delivery_failed`, for good: the simulator never recovers it;
- a missing POD keeps the hold for good; a late POD releases it hours after the delivery;
- `posted_before_pod` posts a held invoice, as `posted_when_short` does for one held for a
  quantity difference: a `posted_while_held` finding;
- `stale_feed` re-sends an earlier stage stamped later than a further-along one: a
  `stale_feed` finding (arrival reordering, which changes no `occurred_at`, never is one);
- orders never invoiced (1 - `invoiced`) become `delivered_not_invoiced` after its grace."""

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class FinanceMix:
    """Shares of the finance traffic; see the module docstring for what each one causes."""

    invoiced: float = 0.92
    """Of the orders that ship: the ERP raises an invoice (the rest are never invoiced)."""
    invoice_at_ship: float = 0.6
    """Of the orders (drawn at order capture): invoiced 30 min - 4 h after the last of the
    order's shipments is picked up, before any POD (held). The others are invoiced 1-8 h
    after the ERP learns of the last POD (not held). Orders whose POD goes missing are
    always invoiced at ship-confirm: the ERP bills at goods issue, the POD never comes."""
    posted: float = 0.9
    """Of the invoices (not cancelled): posted once every shipment is delivered, 1-12 h after
    the last POD reached the ERP (an invoice raised after delivery: 15 min - 3 h after it was
    raised). The rest stay raised, unposted (waiting for approval)."""
    posted_when_short: float = 0.25
    """Of the invoices that would be posted, of orders picked or delivered short (the ERP
    hears of both): posted anyway, while held `quantity_mismatch` (a `posted_while_held`
    finding when the POD was short); the rest wait for a credit note, unposted."""
    posted_before_pod: float = 0.06
    """Of the invoices raised at ship-confirm: posted 20 min - 2 h after being raised, while
    still held (before the order's last POD is sent, or when it never is)."""
    cancelled: float = 0.04
    """Of the invoices: cancelled 1-8 h after being raised (a contract discount was missing);
    when the order is delivered, a corrected invoice follows the cancellation."""
    currencies: tuple[tuple[str, float], ...] = (("EUR", 0.8), ("GBP", 0.12), ("USD", 0.08))
    """(currency, weight) of an invoice; amounts are the order's lines at the catalog's EUR
    prices, converted at catalog.EUR_RATES."""
    short_pick: float = 0.04
    """Of the warehouse tasks: one line picked short (`pick.short`, `pick.completed` lines
    with the picked quantity); the POD then delivers what was picked."""
    short_delivery: float = 0.04
    """Of the PODs of single-order shipments: one line delivered short (part refused at the
    door), the POD's lines say so."""
    late_pod: float = 0.06
    """Of the PODs: the driver's handheld syncs 2-20 h after the delivery (`occurred_at` is
    the delivery, the event is sent hours later)."""
    missing_pod: float = 0.03
    """Of the orders (drawn at order capture): the last mile never sends the PODs of the
    order's shipments, though the run goes on and completes."""
    attempted: float = 0.09
    """Of the shipments on a run, at their first stop: a failed attempt, retried on the next
    day's run."""
    failed_retry: float = 0.3
    """Of the retried shipments: the second attempt fails for good (`delivery.failed`)."""
    refused: float = 0.025
    """Of the shipments at their first stop (not attempted): the consignee refuses them,
    `delivery.failed` REFUSED, for good."""
    stale_feed: float = 0.015
    """Of the warehouse tasks (the WMS re-sends `pick.started` stamped 2-45 min after the
    task's `pack.completed`) and, separately, of the shipments (the TMS re-sends
    `shipment.picked_up` stamped 10 min - 2 h after the shipment reached its depot)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not 0.0 <= value <= 1.0:
                raise ValueError(f"FinanceMix.{f.name} must be within [0, 1], got {value}")
        if not self.currencies or any(w < 0 for _, w in self.currencies) or not sum(w for _, w in self.currencies):
            raise ValueError("FinanceMix.currencies needs at least one positive weight")


FINANCE_MIX = FinanceMix()
"""The default mix: the demo's and the tests' world."""
