"""Order lookup for people: search any id, one order's page, the events on no order yet.

Views stay thin: they call the selectors and shape what they return for the templates. The
shaping helpers below are pure (no queries), so the order page costs the same few queries
whatever the number of events."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.common.paginators import CappedPaginator
from apps.common.time import duration_text, now, parse_iso
from apps.events.taxonomy import EVENT_TYPES, EXCEPTION_TYPES, STAGE_OF_TYPE, STAGE_RANK, TERMINAL_STAGES, System
from apps.feeds.selectors import feed_list
from apps.finance.selectors import order_holds, order_reconciliation

from .selectors import (
    SEARCH_ORDERS,
    TimelineKey,
    order_get,
    order_stages,
    search,
    stage_reports,
    timeline_window,
    unmatched_event_list,
)

LOOKUP = "accounts.lookup_orders"
SYSTEMS: tuple[str, ...] = (System.ERP, System.WMS, System.TMS, System.LASTMILE)
SYSTEM_LABELS: dict[str, str] = {str(s): str(s.label) for s in System}


@login_required
@permission_required(LOOKUP, raise_exception=True)
def search_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    orders_page = int(request.GET["orders_page"]) if request.GET.get("orders_page", "").isdigit() else 1
    orders_page = max(orders_page, 1)
    hits = search(q=q, orders_page=orders_page) if q else []
    order_keys = sorted({key for hit in hits for key in hit.orders})
    order_count = max([len(order_keys), *(hit.orders_total for hit in hits)])
    if order_count == 1 and len(order_keys) == 1:
        return redirect("order-detail", order_key=order_keys[0])
    stages = order_stages(order_keys=order_keys) if order_keys else {}
    results = [
        {
            "kind": hit.kind,
            "id": hit.id,
            "orders": [{"key": key, "stage": stages.get(key, "")} for key in hit.orders],
            "orders_total": hit.orders_total,
            "first": (orders_page - 1) * SEARCH_ORDERS + 1,
            "last": (orders_page - 1) * SEARCH_ORDERS + len(hit.orders),
        }
        for hit in hits
    ]
    more = any(hit.orders_total > orders_page * SEARCH_ORDERS for hit in hits)
    context = {
        "q": q,
        "search_q": q,
        "results": results,
        "order_count": order_count,
        "orders_page": orders_page,
        "previous_orders_page": orders_page - 1 if orders_page > 1 else None,
        "next_orders_page": orders_page + 1 if more else None,
        "unmatched_only": bool(hits) and not any(hit.orders_total for hit in hits),
    }
    return render(request, "correlation/search.html", context)


# The order page lists the newest events a page at a time ("older events" fetches the next);
# its chart shows the same events.
ORDER_PAGE_EVENTS = 200


@login_required
@permission_required(LOOKUP, raise_exception=True)
def order_detail(request: HttpRequest, order_key: str) -> HttpResponse:
    order = order_get(order_key=order_key)
    if order is None:
        raise Http404("no such order")
    before = _cursor(request.GET.get("before"))
    window = timeline_window(order=order, limit=ORDER_PAGE_EVENTS, before=before, newest=True)
    rows = [event_row(e, order_key=order.order_key) for e in reversed(window.events)]  # newest first
    paging = {"older": window.older.encode() if window.older else None, "older_page": before is not None}
    if before is not None and _htmx_target(request) == "events-more":
        # "Older events": the next rows of the table, and the link for the ones before them.
        return render(request, "correlation/_event_rows.html", {"order": order, "rows": rows, **paging})
    newest = window if before is None else timeline_window(order=order, limit=1, newest=True)
    delivered_at, at = _time((order.pod or {}).get("delivered_at")), now()
    reports = stage_reports(order=order, types=sorted(str(t) for t in STAGE_OF_TYPE))
    context: dict[str, Any] = {
        "order": order,
        "promise": promise_status(promised_by=order.promised_by, eta=order.eta, delivered_at=delivered_at),
        "pod_at": delivered_at,
        "systems": system_views(order.stage, order.systems, reports, window.events, partial=order.partial),
        "now": at,
        # newest first: "what happened last" is what a caller asks
        "last": event_row(newest.events[-1], order_key=order.order_key) if newest.events else None,
        "rows": rows,
        **paging,
        "chart": chart_data(window.events, promised_by=order.promised_by, eta=order.eta, now=at),
    }
    facts, verdict = order_reconciliation(order_id=order.order_id, at=at)
    context |= {
        "reconciliation": verdict,
        "holds": order_holds(order_id=order.order_id),
        "invoices": facts.invoices if facts else [],
    }
    return render(request, "correlation/order_detail.html", context)


def _cursor(value: str | None) -> TimelineKey | None:
    """A page's `before=`; one that does not decode (edited by hand) means the newest events."""
    try:
        return TimelineKey.decode(value) if value else None
    except ValueError:
        return None


def _htmx_target(request: HttpRequest) -> str | None:
    htmx = getattr(request, "htmx", None)
    return htmx.target if htmx else None


@login_required
@permission_required(LOOKUP, raise_exception=True)
def unmatched(request: HttpRequest) -> HttpResponse:
    feed = request.GET.get("feed") or None
    type_ = request.GET.get("type") or None
    ref = request.GET.get("ref", "").strip() or None
    events = unmatched_event_list(feed_slug=feed, type_=type_, ref=ref)
    page = CappedPaginator(events, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "feeds": feed_list(),
        "types": sorted(EVENT_TYPES),
        "filters": request.GET,
        "filtered": bool(feed or type_ or ref),
    }
    return render(request, "correlation/unmatched.html", context)


# --- Shaping for the order page (pure) --------------------------------------------------------


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None


def promise_status(
    *, promised_by: datetime | None, eta: datetime | None, delivered_at: datetime | None
) -> dict[str, str]:
    """Compare the promise with the delivery (if done) or else the current ETA."""
    if delivered_at is not None:
        if promised_by is None:
            return {"state": "delivered", "label": "delivered"}
        if delivered_at > promised_by:
            return {"state": "late", "label": f"delivered {duration_text(delivered_at - promised_by)} late"}
        return {"state": "ok", "label": "delivered on time"}
    if eta is None:
        return {"state": "nodata", "label": "no ETA yet"}
    if promised_by is None:
        return {"state": "none", "label": "no promised date to compare"}
    if eta > promised_by:
        return {"state": "late", "label": f"late by {duration_text(eta - promised_by)}"}
    return {"state": "ok", "label": "on time"}


def system_views(
    order_stage: str,
    systems: dict[str, Any],
    reports: list[tuple[str, str, str, datetime]],
    events: list[dict[str, Any]],
    *,
    partial: bool = False,
) -> list[dict[str, Any]]:
    """Each system's own view, and how it compares with the order's stage.

    `stage` is the furthest stage this system's events imply (a system whose last word was an
    ETA or an invoice draft still said `picked` before), from `reports` (selectors.stage_reports:
    the latest event of each stage-setting type per system, over the whole timeline). A system
    behind the order is what reconciliation looks at; a system ahead of it happens with split
    shipments. `events` (the page's window, oldest first) give the feed of its last event."""
    furthest: dict[str, str] = {}
    last_event: dict[str, dict[str, Any]] = {}
    for system, type_, feed, _ in reports:  # oldest first, as the events were
        last_event[system] = {"feed": feed}
        stage = STAGE_OF_TYPE[type_]
        current = furthest.get(system)
        if stage in TERMINAL_STAGES:
            furthest[system] = stage  # cancelled / returned: the system's last word
        elif current not in TERMINAL_STAGES and (current is None or STAGE_RANK[stage] > STAGE_RANK[current]):
            furthest[system] = stage
    for e in events:
        last_event[e["system"]] = e
    order_rank = STAGE_RANK.get(order_stage)
    out = []
    for system in SYSTEMS:
        last: dict[str, Any] = systems.get(system) or {}
        stage = furthest.get(system, "")
        view: dict[str, Any] = {
            "key": system,
            "label": SYSTEM_LABELS[system],
            "last_type": last["type"] if last else "",
            "last_at": _time(last["occurred_at"]) if last else None,
            "last_exception": last.get("type") in EXCEPTION_TYPES,
            "feed": last_event.get(system, {}).get("feed", ""),
            "stage": stage,
        }
        if not last:
            view["state"], view["note"] = "nodata", "no data yet"
        elif not stage:
            view["state"], view["note"] = "nostage", "nothing that sets a stage yet"
        elif stage == order_stage or order_rank is None or stage in TERMINAL_STAGES:
            view["state"], view["note"] = "agrees", "agrees with the order"
        elif STAGE_RANK[stage] < order_rank:
            view["state"], view["note"] = "behind", f"behind: the order is {order_stage.replace('_', ' ')}"
        else:
            why = " (a shipment is behind)" if partial else ""
            view["state"], view["note"] = "ahead", f"ahead: the order is {order_stage.replace('_', ' ')}{why}"
        out.append(view)
    return out


def _local(at: datetime, offset_minutes: int | None) -> str:
    """The time as the source wrote it, e.g. `10:15 +01:00` (empty when the source used UTC)."""
    if not offset_minutes:
        return ""
    local = at.astimezone(timezone(timedelta(minutes=offset_minutes)))
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    day = "" if local.date() == at.astimezone(UTC).date() else local.strftime("%m-%d ")
    return f"{day}{local:%H:%M} {sign}{hours:02d}:{minutes:02d}"


def via_text(via: dict[str, Any], order_key: str) -> str:
    """Why this event is on this order, in one line."""
    if via["kind"] == "order" and via["id"] == order_key:
        return "names this order"
    text = f"via {via['kind']} {via['id']}"
    established = via.get("established_by")
    if established:
        text += f", linked by {established['type']} ({established['feed']} {established['event_id']})"
    return text


def event_row(e: dict[str, Any], *, order_key: str) -> dict[str, Any]:
    occurred: datetime = e["occurred_at"]
    received: datetime = e["received_at"]
    reason = e.get("reason") or {}
    location = e.get("location") or {}
    pod = e.get("pod") or {}
    amount = e.get("amount") or {}
    lines = e.get("lines") or []
    return {
        **e,
        "system_label": SYSTEM_LABELS.get(e["system"], e["system"]),
        "exception": e["type"] in EXCEPTION_TYPES,
        "local": _local(occurred, e.get("occurred_offset_minutes")),
        "lag": duration_text(received - occurred) if received >= occurred else "",
        "future": received < occurred,
        "reason_code": reason.get("code", ""),
        "reason_text": reason.get("text", ""),
        "location_text": location.get("name") or location.get("code", ""),
        "location_code": location.get("code", "") if location.get("name") else "",
        "pod_signed_by": pod.get("signed_by", ""),
        "pod_document": pod.get("document_ref", ""),
        "eta_at": _time(e.get("eta")),
        "amount_text": f"{amount['value']} {amount['currency']}" if amount else "",
        "line_count": len(lines),
        "via_text": via_text(e["via"], order_key),
    }


def _reason(reason: dict[str, str] | None) -> str:
    return " ".join(part for part in ((reason or {}).get("code", ""), (reason or {}).get("text", "")) if part)


def chart_data(
    events: list[dict[str, Any]], *, promised_by: datetime | None, eta: datetime | None, now: datetime
) -> dict[str, Any]:
    """The swimlane chart's input: one point per event, lanes in process order (ERP on top)."""
    points = [
        {
            "x": e["occurred_at"].isoformat(),
            "lane": SYSTEM_LABELS.get(e["system"], e["system"]),
            "exception": e["type"] in EXCEPTION_TYPES,
            "type": e["type"],
            "time": e["occurred_at"].strftime("%Y-%m-%d %H:%M UTC"),
            "feed": e["feed"],
            "event_id": e["event_id"],
            "status": e.get("source_status", ""),
            "reason": _reason(e.get("reason")),
        }
        for e in events
    ]
    # "now" only where it helps: near the order's own span, not stretching an old order's chart.
    span = [e["occurred_at"] for e in events] + [t for t in (promised_by, eta) if t is not None]
    show_now = bool(span) and min(span) <= now <= max(span) + timedelta(hours=24)
    return {
        "lanes": [SYSTEM_LABELS[s] for s in SYSTEMS],
        "points": points,
        "promised_by": promised_by.isoformat() if promised_by else None,
        "eta": eta.isoformat() if eta else None,
        "now": now.isoformat() if show_now else None,
    }
