"""The simulated world's finance traffic (apps/simulator/finance.py, mix.py): invoices with
amounts, raised before the POD (held) or after it, posted, posted while held, cancelled and
raised again; PODs with their lines, a few short; short picks; late, lost and failed PODs; a
stale feed re-sending an earlier stage stamped after a later one. All in the stream order the
systems send it, which is what decides whether the control tower holds an invoice."""

import dataclasses
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from apps.events.taxonomy import STAGE_OF_TYPE, STAGE_RANK, EventType
from apps.events.validation import ValidEvent, validate_one
from apps.simulator.catalog import EUR_RATES, PRODUCTS
from apps.simulator.noise import make_noisy
from apps.simulator.world import FINANCE_MIX, FinanceMix, SimEvent, generate_world, world_stats

START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
END = START + timedelta(days=3)
PRICE = {sku: Decimal(price) for sku, _, price in PRODUCTS}
DISCOUNTS = (Decimal(0), Decimal("0.02"), Decimal("0.03"), Decimal("0.05"))


def ids(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


class Facts:
    """What a reader of the stream can tell: orders, their lines and shipments, and every
    event by its index in sending order."""

    def __init__(self, world: list[SimEvent]) -> None:
        self.world = world
        self.lines: dict[str, dict[str, int]] = {}
        self.shipment_of: dict[str, str] = {}  # tracking number -> shipment
        self.orders_of: dict[str, list[str]] = {}  # shipment -> orders
        self.shipments: dict[str, set[str]] = defaultdict(set)  # order -> shipments
        self.by_type: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for i, sim in enumerate(world):
            event, refs = sim.event, sim.event["refs"]
            self.by_type[event["type"]].append((i, event))
            if event["type"] == EventType.ORDER_CREATED:
                self.lines[refs["order"]] = {line["sku"]: line["qty"] for line in event["lines"]}
            if event["type"] == EventType.SHIPMENT_PLANNED:
                self.shipment_of[refs["tracking_number"]] = refs["shipment"]
                self.orders_of[refs["shipment"]] = ids(refs["order"])
                for order in ids(refs["order"]):
                    self.shipments[order].add(refs["shipment"])

    def of(self, type_: str) -> list[tuple[int, dict[str, Any]]]:
        return self.by_type[type_]

    def pods(self) -> dict[str, tuple[int, dict[str, Any]]]:
        """shipment -> (index, event) of its delivery.completed (when its plan was sent)."""
        return {
            self.shipment_of[e["refs"]["tracking_number"]]: (i, e)
            for i, e in self.of(EventType.DELIVERY_COMPLETED)
            if e["refs"]["tracking_number"] in self.shipment_of
        }

    def invoices(self) -> dict[str, dict[str, tuple[int, dict[str, Any]]]]:
        """invoice number -> {"created" | "posted" | "cancelled": (index, event)}."""
        out: dict[str, dict[str, tuple[int, dict[str, Any]]]] = defaultdict(dict)
        for type_ in (EventType.INVOICE_CREATED, EventType.INVOICE_POSTED, EventType.INVOICE_CANCELLED):
            for i, event in self.of(type_):
                out[event["refs"]["invoice"]][type_.split(".")[1]] = (i, event)
        return out

    def last_pod(self, order: str) -> int | None:
        """Index of the POD that completes the order's PODs, None while one is not sent."""
        pods = self.pods()
        if not self.shipments[order] or any(s not in pods for s in self.shipments[order]):
            return None
        return max(pods[s][0] for s in self.shipments[order])


def regressions(world: list[SimEvent], shipment_of: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(system, entity, later event) for each report of a system, about one warehouse task or
    shipment (or the order), that names an earlier stage than one of its own reports with an
    earlier occurred_at: what apps/correlation/ledger.py calls a regression."""
    reports: dict[tuple[str, str], list[tuple[datetime, int, dict[str, Any]]]] = defaultdict(list)
    for sim in world:
        event, refs = sim.event, sim.event["refs"]
        stage = STAGE_OF_TYPE.get(event["type"])
        if stage not in STAGE_RANK or event["event_id"].startswith("bad-"):
            continue
        if sim.system == "wms" and "warehouse_task" in refs:
            entity = min(ids(refs["warehouse_task"]))
        elif "shipment" in refs or "tracking_number" in refs:
            entity = min(ids(refs.get("shipment", [])) or [shipment_of.get(t, t) for t in ids(refs["tracking_number"])])
        else:
            entity = min(ids(refs["order"]))
        reports[(sim.system, entity)].append((at(event), STAGE_RANK[stage], event))
    found = []
    for (system, entity), rows in reports.items():
        furthest: tuple[datetime, int] | None = None
        for when, rank, event in sorted(rows, key=lambda row: (row[0], row[1])):
            if furthest is not None and rank < furthest[1] and when > furthest[0]:
                found.append((system, entity, event))
            if furthest is None or rank > furthest[1]:
                furthest = (when, rank)
    return found


@pytest.fixture(scope="module")
def world() -> list[SimEvent]:
    return generate_world(orders=300, seed=7, start=START)


@pytest.fixture(scope="module")
def facts(world) -> Facts:
    return Facts(world)


def test_invoices_carry_the_amount_of_the_order_lines_mostly_in_eur(facts):
    created = facts.of(EventType.INVOICE_CREATED)
    assert len(created) > 100
    for _, event in created:
        currency, value = event["amount"]["currency"], Decimal(event["amount"]["value"])
        total = sum(PRICE[sku] * qty for sku, qty in facts.lines[event["refs"]["order"]].items())
        expected = {(total * EUR_RATES[currency] * (1 - d)).quantize(Decimal("0.01"), ROUND_HALF_UP) for d in DISCOUNTS}
        assert value in expected, event
        assert set(event["refs"]) == {"order", "invoice"}
    currencies = Counter(e["amount"]["currency"] for _, e in created)
    assert set(currencies) == {"EUR", "GBP", "USD"}
    assert currencies["EUR"] > 2 * (currencies["GBP"] + currencies["USD"])


def test_most_orders_are_invoiced_often_before_the_pod_sometimes_after(facts):
    invoiced = {e["refs"]["order"] for _, e in facts.of(EventType.INVOICE_CREATED)}
    delivered = [o for o in facts.lines if facts.last_pod(o) is not None]
    assert len(delivered) > 80
    assert sum(o in invoiced for o in delivered) > 0.8 * len(delivered)
    before = after = 0
    for i, event in facts.of(EventType.INVOICE_CREATED):
        last = facts.last_pod(event["refs"]["order"])
        if last is None or i < last:
            before += 1  # sent before the order's PODs are in: the control tower holds it
        else:
            after += 1
    assert before > after > 10


def test_pods_carry_the_delivered_lines_and_a_few_are_short(facts):
    short = 0
    for shipment, (_, event) in facts.pods().items():
        orders = facts.orders_of[shipment]
        if len(orders) > 1:
            assert "lines" not in event  # one signature for several orders: no lines to share out
            continue
        ordered = facts.lines[orders[0]]
        assert event["lines"]
        for line in event["lines"]:
            assert 0 < line["qty"] <= ordered[line["sku"]]
        if event.get("reason"):
            assert event["reason"]["code"] == "PARTIAL_DELIVERY"
            short += 1
    assert 1 <= short <= 0.1 * len(facts.pods())


def test_some_orders_are_delivered_with_other_quantities_than_ordered(facts):
    pods = facts.pods()
    differ = agree = 0
    for order, shipments in facts.shipments.items():
        if not shipments or any(s not in pods or "lines" not in pods[s][1] for s in shipments):
            continue
        delivered: Counter[str] = Counter()
        for s in shipments:
            delivered.update({line["sku"]: line["qty"] for line in pods[s][1]["lines"]})
        if dict(delivered) == facts.lines[order]:
            agree += 1
        else:
            differ += 1
    assert agree > 5 * differ > 0


def test_a_few_picks_are_short_in_the_pick_lines(facts):
    tasks = {e["refs"]["warehouse_task"]: e["lines"] for _, e in facts.of(EventType.TASK_CREATED)}
    picks = facts.of(EventType.PICK_COMPLETED)
    short = [e for _, e in picks if e["lines"] != tasks[e["refs"]["warehouse_task"]]]
    assert 1 <= len(short) <= 0.1 * len(picks)
    for event in short:
        wanted = {line["sku"]: line["qty"] for line in tasks[event["refs"]["warehouse_task"]]}
        assert any(line["qty"] < wanted[line["sku"]] for line in event["lines"])


def test_invoices_are_posted_cancelled_and_raised_again(facts):
    invoices = facts.invoices()
    posted = [n for n, slots in invoices.items() if "posted" in slots]
    cancelled = [n for n, slots in invoices.items() if "cancelled" in slots]
    assert len(posted) > 0.3 * len(invoices)
    assert 1 <= len(cancelled) <= 0.1 * len(invoices)
    raised_again = 0
    for number in cancelled:
        slots = invoices[number]
        assert "posted" not in slots
        assert at(slots["cancelled"][1]) > at(slots["created"][1])
        order, amount = slots["created"][1]["refs"]["order"], Decimal(slots["created"][1]["amount"]["value"])
        later = [
            s["created"][1]
            for n, s in invoices.items()
            if n != number and s["created"][1]["refs"]["order"] == order and s["created"][0] > slots["cancelled"][0]
        ]
        if later:
            raised_again += 1
            assert Decimal(later[0]["amount"]["value"]) < amount  # the missing discount applied
    assert raised_again
    for slots in invoices.values():
        if "posted" in slots:
            assert at(slots["posted"][1]) > at(slots["created"][1])


def test_a_few_invoices_are_posted_before_the_pod(facts):
    early = []
    for slots in facts.invoices().values():
        if "posted" in slots:
            last = facts.last_pod(slots["created"][1]["refs"]["order"])
            if last is None or slots["posted"][0] < last:
                early.append(slots)
    posted = facts.of(EventType.INVOICE_POSTED)
    assert 1 <= len(early) <= 0.2 * len(posted)


def test_a_feed_now_and_then_reports_an_earlier_stage_stamped_after_a_later_one(world, facts):
    found = regressions(world, facts.shipment_of)
    assert found
    assert {system for system, _, _ in found} <= {"wms", "tms"}
    assert len(found) <= 0.05 * len(facts.of(EventType.TASK_CREATED))
    for system, entity, event in found:
        if system == "wms":
            assert event["type"] == EventType.PICK_STARTED
            packed = [e for _, e in facts.of(EventType.PACK_COMPLETED) if e["refs"]["warehouse_task"] == entity]
            assert at(event) > at(packed[0])
        else:
            assert event["type"] == EventType.SHIPMENT_PICKED_UP
            arrived = [e for _, e in facts.of(EventType.SHIPMENT_ARRIVED) if e["refs"]["shipment"] == entity]
            assert at(event) > max(at(e) for e in arrived)
    for system, entity, event in found:  # the earlier report, sent again as a new event
        key = "warehouse_task" if system == "wms" else "shipment"
        first = next(e for _, e in facts.of(event["type"]) if e["refs"][key] == entity)
        assert first["event_id"] != event["event_id"]
        assert at(first) < at(event)
        same = ("event_id", "occurred_at")
        assert {k: v for k, v in first.items() if k not in same} == {k: v for k, v in event.items() if k not in same}


def test_arrival_order_alone_makes_no_stale_report():
    clean = generate_world(orders=300, seed=7, start=START, finance=dataclasses.replace(FINANCE_MIX, stale_feed=0))
    shipment_of = Facts(clean).shipment_of
    assert regressions(clean, shipment_of) == []
    noisy = make_noisy(clean, seed=7, duplicate_rate=0.1, reorder_window=50)
    assert noisy != clean
    assert regressions(noisy, shipment_of) == []


def test_some_pods_arrive_hours_late(facts):
    latest = START
    late = 0
    for sim in facts.world:
        event = sim.event
        if event["type"] == EventType.DELIVERY_COMPLETED and latest - at(event) > timedelta(hours=2):
            late += 1
        latest = max(latest, at(event))
    assert late >= 1


def test_some_pods_never_come_and_their_invoice_stays_unposted(facts):
    runs_done = {e["refs"]["delivery_run"] for _, e in facts.of(EventType.RUN_COMPLETED)}
    outcomes = {
        (e["refs"]["delivery_run"], e["refs"]["tracking_number"])
        for type_ in (EventType.DELIVERY_COMPLETED, EventType.DELIVERY_ATTEMPTED, EventType.DELIVERY_FAILED)
        for _, e in facts.of(type_)
    }
    missing = {
        facts.shipment_of[e["refs"]["tracking_number"]]
        for _, e in facts.of(EventType.DELIVERY_OUT_FOR_DELIVERY)
        if e["refs"]["delivery_run"] in runs_done
        and (e["refs"]["delivery_run"], e["refs"]["tracking_number"]) not in outcomes
    }
    assert missing
    assert not missing & set(facts.pods())  # lost, not late: no POD on any later run either
    held = [s for s in facts.invoices().values() if facts.shipments[s["created"][1]["refs"]["order"]] & missing]
    assert any("posted" not in slots and "cancelled" not in slots for slots in held)  # the hold stays


def test_failed_deliveries_leave_the_invoice_raised_before_them(facts):
    failed = {facts.shipment_of[e["refs"]["tracking_number"]]: i for i, e in facts.of(EventType.DELIVERY_FAILED)}
    assert failed
    held = 0
    for slots in facts.invoices().values():
        order = slots["created"][1]["refs"]["order"]
        for shipment in facts.shipments[order] & set(failed):
            assert shipment not in facts.pods()  # never recovers
            held += slots["created"][0] < failed[shipment]  # held awaiting_pod, then delivery_failed
    assert held


def test_finance_events_occur_after_shipping_and_within_the_world(facts):
    order_of = {e["refs"]["warehouse_task"]: e["refs"]["order"] for _, e in facts.of(EventType.TASK_CREATED)}
    loaded: dict[str, list[datetime]] = defaultdict(list)
    for _, event in facts.of(EventType.SHIPMENT_LOADED):
        for task in ids(event["refs"]["warehouse_task"]):
            loaded[order_of[task]].append(at(event))
    for type_ in (EventType.INVOICE_CREATED, EventType.INVOICE_POSTED, EventType.INVOICE_CANCELLED):
        for _, event in facts.of(type_):
            assert min(loaded[event["refs"]["order"]]) < at(event) <= END


def test_the_mix_changes_the_finance_traffic_only():
    off = FinanceMix(
        invoiced=0,
        missing_pod=0,
        late_pod=0,
        short_delivery=0,
        stale_feed=0,
    )
    default = generate_world(orders=120, seed=3, start=START)
    quiet = generate_world(orders=120, seed=3, start=START, finance=off)
    shape = ("orders", "shipments", "runs", "split", "consolidated", "late_bound")
    assert {k: world_stats(quiet)[k] for k in shape} == {k: world_stats(default)[k] for k in shape}
    assert world_stats(quiet)["invoices"] == world_stats(quiet)["short_pods"] == 0
    assert world_stats(default)["invoices"] > 0

    def physical(world: list[SimEvent]) -> list[tuple[str, str, str]]:
        kinds = {EventType.ORDER_CREATED, EventType.PACK_COMPLETED, EventType.SHIPMENT_ARRIVED, EventType.RUN_PLANNED}
        return [
            (s.event["type"], s.event["occurred_at"], str(s.event["refs"])) for s in world if s.event["type"] in kinds
        ]

    assert physical(quiet) == physical(default)


def test_a_loud_mix_still_sends_valid_events_deterministically():
    loud = FinanceMix(
        posted_before_pod=0.5, cancelled=0.3, short_delivery=0.5, late_pod=0.5, missing_pod=0.2, stale_feed=0.3
    )
    world = generate_world(orders=60, seed=11, start=START, finance=loud)
    assert world == generate_world(orders=60, seed=11, start=START, finance=loud)
    assert all(isinstance(validate_one(i, sim.event), ValidEvent) for i, sim in enumerate(world))
    assert regressions(world, Facts(world).shipment_of)


@pytest.mark.parametrize("field", ["invoiced", "late_pod", "stale_feed"])
def test_a_share_outside_0_1_is_refused(field):
    with pytest.raises(ValueError, match=field):
        FinanceMix(**{field: 1.5})
    with pytest.raises(ValueError, match="currencies"):
        FinanceMix(currencies=())
