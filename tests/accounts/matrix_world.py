"""The objects the role matrix needs so that every route with ids resolves to something real: an
order with its timeline, an exception case, an invoice hold, a feed (X12, so that its message and
its file have acknowledgements), an SLA policy, an ERP snapshot run and onboarding drafts. Each
route gets the URL arguments of its object; the routes that change things get objects of their
own (a second feed to pause and rotate, a draft to discard)."""

from dataclasses import dataclass
from typing import Any

import orjson
from django.contrib.auth.models import User

from apps.bench.x12_214 import interchanges
from apps.correlation.models import Node
from apps.feeds.models import Feed
from apps.finance.models import InvoiceHold
from apps.finance.services.snapshots import snapshot_run_create, snapshot_run_process
from apps.ingestion.files import file_receive
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.onboarding.services import draft_start
from apps.pipeline.runner import message_process
from tests.exceptions.cases import CaseFactory
from tests.factories import FeedFactory, sla_policy

AT = "2026-11-25T10:00:00+00:00"
ORDER = "SO-RM-1"


@dataclass
class MatrixWorld:
    feed: Feed  # the feed whose own token is tried on the API
    other_feed: Feed  # another feed: its token must not see the first one's things
    args: dict[str, dict[str, Any]]  # URL name → the URL's arguments
    post_args: dict[str, dict[str, Any]]  # URL name → the arguments for methods that change things


def _send(feed: Feed, *events: dict[str, Any]) -> RawMessage:
    message = message_receive(feed=feed, body=orjson.dumps({"events": list(events)}), content_type="application/json")
    message_process(message_id=message.id)
    return message


def _event(n: str, type_: str, refs: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"event_id": f"rm-{n}", "type": type_, "occurred_at": AT, "refs": refs, **extra}


def matrix_world(owner: User, capture_on_commit: Any) -> MatrixWorld:
    erp = FeedFactory(system="erp")
    x12 = FeedFactory(system="tms", format="x12")
    spare = FeedFactory(system="lastmile")  # paused, rotated, polled by the matrix
    _send(erp, _event("o", "order.created", {"order": ORDER}, customer="Acme Retail"))
    _send(
        erp,
        _event(
            "i", "invoice.created", {"order": ORDER, "invoice": "INV-RM-1"}, amount={"value": "9.00", "currency": "EUR"}
        ),
    )
    pushed = message_receive(
        feed=x12, body=next(interchanges(sets=2, statuses=1, prefix="RMP")).encode(), content_type="application/edi-x12"
    )
    message_process(message_id=pushed.id)
    with capture_on_commit(execute=True):  # the file is split after commit, its 997 made then
        upload = file_receive(
            feed=x12, chunks=[next(interchanges(sets=2, statuses=1, prefix="RMF")).encode()], name="carrier.edi"
        )
    assert upload.file.acknowledgements.filter(position=0).exists()
    case = CaseFactory(order=Node.objects.get(kind="order", value=ORDER))
    hold = InvoiceHold.objects.get(invoice="INV-RM-1")
    policy = sla_policy(name="matrix")
    run = snapshot_run_create(
        body=f"order,status\n{ORDER},open\n".encode(), filename="erp.csv", uploaded_by=None,
        window_from=None, window_until=None, enqueue=False,
    )  # fmt: skip
    snapshot_run_process(run.id)
    draft = draft_start(actor=owner, partner_name="Matrix Partner")
    doomed = draft_start(actor=owner, partner_name="Matrix Partner Two")

    slug = {"slug": x12.slug}
    message = {"message_id": pushed.id}
    file = {"file_id": upload.file.id}
    args: dict[str, dict[str, Any]] = {
        "feed-detail": slug,
        "api-ingest": slug,
        "api-feed-health": slug,
        "api-feed-dry-run": slug,
        "api-feed-files": slug,
        "feed-file-upload": slug,
        "file-detail": file,
        "api-file": file,
        "file-ack": {**file, "n": 0},
        "api-file-ack": {**file, "n": 0},
        "message-detail": message,
        "message-ack": message,
        "message-replay": message,
        "api-message-status": message,
        "api-message-ack": message,
        "order-detail": {"order_key": ORDER},
        "api-order": {"order_key": ORDER},
        "api-order-timeline": {"order_key": ORDER},
        "api-order-reconciliation": {"order_key": ORDER},
        "finance-hold-place": {"order_key": ORDER},
        "exception-detail": {"case_id": case.id},
        "api-exception": {"case_id": case.id},
        "exception-action": {"case_id": case.id, "action": "comment"},
        "finance-hold-release": {"hold_id": hold.id},
        "api-invoice-hold": {"hold_id": hold.id},
        "api-invoice-hold-release": {"hold_id": hold.id},
        "sla-policy-detail": {"policy_id": policy.id},
        "sla-policy-edit": {"policy_id": policy.id},
        "sla-policy-active": {"policy_id": policy.id},
        "api-sla-policy": {"policy_id": policy.id},
        "finance-run-detail": {"run_id": run.id},
        "finance-run-report": {"run_id": run.id},
        "api-reconciliation-run": {"run_id": run.id},
        "api-reconciliation-run-findings": {"run_id": run.id},
        "api-reconciliation-run-report": {"run_id": run.id},
        "onboarding-discard": {"draft_id": doomed.id},
    }
    for step in ("resume", "partner", "feed", "credentials", "mapping", "dry-run", "activate"):
        args[f"onboarding-{step}"] = {"draft_id": draft.id}
    for name in ("acknowledge", "snooze", "resolve", "comment", "assign"):
        args[f"api-exception-{name}"] = {"case_id": case.id}
    post_args = {
        name: {"slug": spare.slug} for name in ("feed-pause", "feed-poll-now", "feed-token-rotate", "feed-hmac-rotate")
    }
    return MatrixWorld(feed=x12, other_feed=erp, args=args, post_args=post_args)
