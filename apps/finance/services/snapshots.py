"""ERP snapshot runs (http-api.md "ERP snapshot runs"): an uploaded ERP export compared with
what the control tower knows. docs in the module of each step:

* `snapshot_run_create` keeps the uploaded bytes as evidence (status running) and, after the
  commit, queues `finance.process_snapshot_run` (eager without a broker: it runs right after
  the commit);
* `snapshot_run_process` reads the file (apps/finance/snapshot_csv.py), then compares it in
  chunks of `CHUNK` orders: one query of the projections per chunk, the findings written in
  bulk, the counts and `rows_done` stored after every chunk (the run page's progress bar);
  then the orders created inside the window that the file does not mention.

Rules (per order of the file, one finding per difference): `status` (the ERP word does not name
the order's stage, `STAGES_OF_STATUS`), `invoice` (a non-empty invoice the control tower does not
know for the order: its ledger's invoices and the invoice ids its events named), `amount` (the
file's amount, to the cent, and its currency when given, against that invoice's), `quantity`
(each SKU's quantity against the ERP's latest ordered lines; only when the file gives lines).
Unknown orders are `missing_in_tower`, orders created in the window and absent from the file
`missing_in_snapshot`; both are findings too (their rule is the name)."""

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Min

from apps.accounts.services import audit_record
from apps.common.time import now
from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.taxonomy import EventType, Stage

from ..choices import RunStatus
from ..models import SnapshotFinding, SnapshotRun
from ..snapshot_csv import MAX_ERRORS, Snapshot, SnapshotOrder, parse_snapshot, to_cents

logger = logging.getLogger(__name__)

CHUNK = 5_000  # orders compared per query of the projections
FINDING_BATCH = 2_000  # findings per INSERT
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
DETAIL_MAX = 500  # SnapshotFinding.detail
RULES = ("status", "invoice", "amount", "quantity", "missing_in_tower", "missing_in_snapshot")
OPEN_STAGES = frozenset({"", Stage.CREATED, Stage.RELEASED, Stage.ALLOCATED, Stage.PICKING, Stage.PICKED, Stage.PACKED})
STAGES_OF_STATUS: dict[str, frozenset[str]] = {
    "open": OPEN_STAGES,
    "shipped": frozenset({Stage.SHIPPED, Stage.IN_TRANSIT, Stage.OUT_FOR_DELIVERY}),
    "delivered": frozenset({Stage.DELIVERED}),
    "invoiced": frozenset({Stage.INVOICED}),
    "cancelled": frozenset({Stage.CANCELLED}),
    "returned": frozenset({Stage.RETURNED}),
}
Progress = Callable[[int, int], None]  # (rows done, rows)


@dataclass(frozen=True, slots=True)
class TowerOrder:
    """What the comparison reads of an order's projection."""

    stage: str
    ordered: dict[str, float] | None
    invoices: dict[str, tuple[Decimal, str] | None]  # number -> (amount, currency), None: no amount known


def erp_status_of(stage: str) -> str:
    """The ERP's word for a stage ("open" for created … packed and for no stage)."""
    return next((status for status, stages in STAGES_OF_STATUS.items() if stage in stages), stage)


# --- create ------------------------------------------------------------------------------------


def snapshot_run_create(
    *,
    body: bytes,
    filename: str,
    uploaded_by: User | None,
    window_from: datetime | None,
    window_until: datetime | None,
    enqueue: bool = True,
) -> SnapshotRun:
    """Keep the file (status running) and, after the commit, queue its processing.
    `enqueue=False`: the caller runs `snapshot_run_process` itself (the management command)."""
    with transaction.atomic():
        run = SnapshotRun.objects.create(
            status=RunStatus.RUNNING,
            filename=filename[:255],
            body=body,
            window_from=window_from,
            window_until=window_until,
            uploaded_by=uploaded_by,
            created_at=now(),
        )
        audit_record(
            actor=uploaded_by,
            action="snapshot_run.created",
            target=f"snapshot_run:{run.id}",
            detail={"filename": run.filename, "bytes": len(body)},
        )
        if enqueue:
            run_id = run.id
            transaction.on_commit(lambda: _enqueue(run_id))
    return run


def _enqueue(run_id: int) -> None:
    from ..tasks import process_snapshot_run

    try:
        process_snapshot_run.delay(run_id)
    except Exception as exc:  # the broker is down: say so on the run rather than leave it running
        logger.exception("snapshot run %s could not be queued", run_id)
        SnapshotRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            failure=f"could not be queued for processing ({exc}); upload it again",
            finished_at=now(),
        )


# --- process -----------------------------------------------------------------------------------


def snapshot_run_process(run_id: int, *, progress: Progress | None = None) -> SnapshotRun:
    """Compare a running run's file with the control tower (a finished run is left as it is).
    A task delivered twice starts over: the findings of an earlier attempt are deleted first."""
    run = SnapshotRun.objects.get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        return run
    try:
        _process(run, progress)
    except Exception as exc:
        logger.exception("snapshot run %s failed", run_id)
        SnapshotRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, failure=f"internal error: {type(exc).__name__}: {exc}"[:2000], finished_at=now()
        )
    run.refresh_from_db()
    return run


def _process(run: SnapshotRun, progress: Progress | None) -> None:
    SnapshotFinding.objects.filter(run_id=run.id).delete()
    snapshot = parse_snapshot(bytes(run.body))
    stored_errors = [e.as_dict() for e in snapshot.errors[:MAX_ERRORS]]
    if snapshot.failure:
        SnapshotRun.objects.filter(pk=run.id).update(
            status=RunStatus.FAILED, failure=snapshot.failure, rows=snapshot.rows, finished_at=now()
        )
        return
    done = snapshot.rows - sum(o.rows for o in snapshot.orders.values())  # the rows left out are done
    counts: Counter[str] = Counter()
    fields = {"rows": snapshot.rows, "orders": len(snapshot.orders), "errors": stored_errors}
    SnapshotRun.objects.filter(pk=run.id).update(rows_done=done, error_count=snapshot.error_count, **fields)
    keys = list(snapshot.orders)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        tower = tower_orders(chunk)
        findings: list[SnapshotFinding] = []
        for key in chunk:
            order = snapshot.orders[key]
            known = tower.get(key)
            if known is None:
                counts["missing_in_tower"] += 1
                found = [("missing_in_tower", f"the control tower has never heard of {key} (ERP {order.status})")]
            else:
                found = compare(order, known)
                counts["mismatched" if found else "matched"] += 1
            findings.extend(_finding(run.id, key, rule, detail) for rule, detail in found)
            done += order.rows
        with transaction.atomic():
            SnapshotFinding.objects.bulk_create(findings, batch_size=FINDING_BATCH)
            SnapshotRun.objects.filter(pk=run.id).update(rows_done=done, **_counts(counts))
        if progress is not None:
            progress(done, snapshot.rows)
    missing: int | None = None
    if run.window_from is not None or run.window_until is not None:
        missing = _missing_in_snapshot(run, snapshot)
    SnapshotRun.objects.filter(pk=run.id).update(
        status=RunStatus.DONE,
        rows_done=snapshot.rows,
        missing_in_snapshot=missing,
        finished_at=now(),
        **_counts(counts),
    )
    if progress is not None:
        progress(snapshot.rows, snapshot.rows)


def _counts(counts: Counter[str]) -> dict[str, int]:
    return {name: counts[name] for name in ("matched", "mismatched", "missing_in_tower")}


def _finding(run_id: int, key: str, rule: str, detail: str) -> SnapshotFinding:
    if len(detail) > DETAIL_MAX:
        detail = detail[: DETAIL_MAX - 1] + "…"
    return SnapshotFinding(run_id=run_id, order_key=key, rule=rule, detail=detail)


# --- the control tower's side --------------------------------------------------------------------


def _amount(raw: Any) -> tuple[Decimal, str] | None:
    if not isinstance(raw, dict):
        return None
    try:
        value = Decimal(str(raw.get("value")))
    except (InvalidOperation, ValueError):
        return None
    return (value, str(raw.get("currency") or "")) if value.is_finite() else None


def tower_orders(keys: list[str]) -> dict[str, TowerOrder]:
    """The projections of these order keys, read in one query (only the ledger's slots compared)."""
    rows = OrderProjection.objects.filter(order_key__in=keys).values_list(
        "order_key", "stage", "ledger__ordered", "ledger__invoices", "aliases__invoice"
    )
    out: dict[str, TowerOrder] = {}
    for key, stage, ordered, ledger_invoices, alias_invoices in rows:
        invoices: dict[str, tuple[Decimal, str] | None] = {}
        for number in alias_invoices if isinstance(alias_invoices, list) else []:
            if isinstance(number, str):
                invoices[number] = None
        for invoice in ledger_invoices if isinstance(ledger_invoices, list) else []:
            if isinstance(invoice, dict) and isinstance(invoice.get("invoice"), str):
                invoices[invoice["invoice"]] = _amount(invoice.get("amount"))
        lines = (
            {str(s): float(q) for s, q in ordered.items() if isinstance(q, int | float)}
            if isinstance(ordered, dict)
            else None
        )
        out[key] = TowerOrder(stage=stage or "", ordered=lines, invoices=invoices)
    return out


def _qty(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def compare(order: SnapshotOrder, tower: TowerOrder) -> list[tuple[str, str]]:
    """The differences between an order of the file and the control tower's: (rule, detail)."""
    found: list[tuple[str, str]] = []
    if tower.stage not in STAGES_OF_STATUS[order.status]:
        stage = tower.stage or "no stage yet"
        found.append(
            ("status", f"ERP {order.status}, control tower {stage} ({erp_status_of(tower.stage)} in ERP terms)")
        )
    if order.invoice:
        if order.invoice not in tower.invoices:
            known = ", ".join(sorted(tower.invoices)[:5]) or "none"
            found.append(
                (
                    "invoice",
                    f"ERP {order.invoice}, not an invoice the control tower knows for {order.order} (it knows {known})",
                )
            )
        elif order.amount is not None:
            erp = f"ERP {to_cents(order.amount)}{' ' + order.currency if order.currency else ''}"
            theirs = tower.invoices[order.invoice]
            if theirs is None:
                found.append(("amount", f"{erp}, invoice {order.invoice} has no amount in the control tower"))
            elif to_cents(theirs[0]) != to_cents(order.amount) or (order.currency and order.currency != theirs[1]):
                found.append(("amount", f"{erp}, invoice {order.invoice} {to_cents(theirs[0])} {theirs[1]}".rstrip()))
    if order.lines:
        found.extend(("quantity", detail) for detail in _quantities(order, tower.ordered))
    return found


def _quantities(order: SnapshotOrder, ordered: dict[str, float] | None) -> Iterator[str]:
    if ordered is None:
        lines = ", ".join(f"{sku}: {qty}" for sku, qty in list(order.lines.items())[:10])
        yield f"ERP {lines}; the control tower has no ordered lines (no order.created / order.changed with lines)"
        return
    for sku, qty in order.lines.items():
        theirs = ordered.get(sku)
        if theirs is None:
            yield f"{sku}: ERP {qty}, control tower not ordered"
        elif float(qty) != theirs:
            yield f"{sku}: ERP {qty}, control tower {_qty(theirs)}"
    for sku in sorted(set(ordered) - set(order.lines)):
        if ordered[sku]:
            yield f"{sku}: ERP not in the file, control tower {_qty(ordered[sku])}"


def _missing_in_snapshot(run: SnapshotRun, snapshot: Snapshot) -> int:
    """Orders with an `order.created` inside [from, until) that the file does not mention; each a finding."""
    entries = TimelineEntry.objects.filter(event_type=EventType.ORDER_CREATED, event__type=EventType.ORDER_CREATED)
    if run.window_from is not None:
        entries = entries.filter(event__occurred_at__gte=run.window_from)
    if run.window_until is not None:
        entries = entries.filter(event__occurred_at__lt=run.window_until)
    created = dict(entries.values("order_id").annotate(at=Min("event__occurred_at")).values_list("order_id", "at"))
    ids = sorted(created, key=lambda order_id: (created[order_id], order_id))
    count = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = OrderProjection.objects.filter(order_id__in=chunk).values_list("order_id", "order_key", "stage")
        findings = []
        for order_id, key, stage in sorted(rows, key=lambda r: (created[r[0]], r[0])):
            if key in snapshot.orders:
                continue
            count += 1
            at = created[order_id].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            detail = (
                f"the control tower has {key} (stage {stage or 'none'}, created {at}); the file does not mention it"
            )
            findings.append(_finding(run.id, key, "missing_in_snapshot", detail))
        SnapshotFinding.objects.bulk_create(findings, batch_size=FINDING_BATCH)
    return count


# --- read --------------------------------------------------------------------------------------


def snapshot_run_list() -> Any:
    """Runs, newest first, without their files and error lists."""
    return SnapshotRun.objects.defer("body", "errors").select_related("uploaded_by").order_by("-created_at", "-id")


def snapshot_run_get(run_id: int) -> SnapshotRun | None:
    return SnapshotRun.objects.defer("body").select_related("uploaded_by").filter(pk=run_id).first()


def snapshot_findings(run_id: int, *, rule: str | None = None, order: str | None = None) -> Any:
    findings = SnapshotFinding.objects.filter(run_id=run_id)
    if rule:
        findings = findings.filter(rule=rule)
    if order:
        findings = findings.filter(order_key=order)
    return findings.order_by("id")


REPORT_HEADER = ("order", "result", "rule", "detail")


def _cell(value: str) -> str:
    """A spreadsheet must not take a cell for a formula (an order id or SKU of "=…")."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def snapshot_report_rows(run: SnapshotRun) -> Iterator[tuple[str, str, str, str]]:
    """The run's report, header first: for each order of the file, in its order, one row per
    finding (result mismatched or missing_in_tower) or one `matched` row; then the orders
    missing in the snapshot; then every row left out (result `error`, rule `row`, all of them:
    the file is read again); a failed run: one `failed` row."""
    yield REPORT_HEADER
    if run.status == RunStatus.FAILED:
        yield ("", "failed", "", _cell(run.failure))
        return
    by_order: dict[str, list[tuple[str, str]]] = {}
    for key, rule, detail in snapshot_findings(run.id).values_list("order_key", "rule", "detail").iterator(10_000):
        by_order.setdefault(key, []).append((rule, detail))
    body = SnapshotRun.objects.filter(pk=run.id).values_list("body", flat=True).first()
    snapshot = parse_snapshot(bytes(body or b""), max_errors=10**9)
    for key in snapshot.orders:
        found = by_order.pop(key, None)
        if not found:
            yield (_cell(key), "matched", "", "")
            continue
        for rule, detail in found:
            result = "missing_in_tower" if rule == "missing_in_tower" else "mismatched"
            yield (_cell(key), result, rule, _cell(detail))
    for key, found in by_order.items():  # missing_in_snapshot (their findings come last)
        for rule, detail in found:
            yield (_cell(key), rule, rule, _cell(detail))
    for error in snapshot.errors:
        yield (_cell(error.order), "error", "row", _cell(f"row {error.row}: {error.error}"))
