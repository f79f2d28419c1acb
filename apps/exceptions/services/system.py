"""System cases: what the control tower sees about its own feeds, not what a partner reported.

* `feed_silent` — an active feed that sent nothing for longer than its silence threshold (its own
  rhythm by default, else `max_silence`: apps/ingestion/health_silence.py). One case
  per feed (subject `feed:<slug>`, code `silent`). Opened by the minute sweep; cleared by the
  feed's next processed message (`system_batch_processed`, so promptly) or by the sweep.
* `ingestion` — dead letters: messages whose processing kept failing for a reason of ours. One
  case per (feed, error class), e.g. code `OperationalError`; each dead-lettered message is one
  occurrence, its id in the case history. Cleared once no message of that feed and error class
  is still `failed` (a successful replay, on the spot; the sweep re-checks). Polling cases share
  the kind (code `poll_…`, apps/polling): opened when polling a feed stops, saying why,
  and cleared when it succeeds again, not by the dead-letter checks.
* `unmatched_event` — events on no order longer than `UNMATCHED_EVENT_GRACE`. One case per
  (feed, kind of the event's main ref), code = that ref kind: "tracking numbers from sim-lastmile
  that no order knows" is one thing for an ops lead to chase, not one case per number. Each
  event is an occurrence (ExceptionOccurrence, so never counted twice). Cleared by the sweep once
  every event of the case has been matched (late binding).

Every case is stored through `cases.case_store` (one unresolved case per fingerprint, a
recurrence opens a new case pointing to the previous one), and every write is followed by
`cases.case_changed`."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from apps.common.time import now
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed
from apps.ingestion.choices import MessageStatus
from apps.ingestion.health_silence import is_silent, quiet_since, silence_thresholds, with_quiet_since
from apps.ingestion.models import RawMessage

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind, Queue, Severity
from ..models import ExceptionActivity, ExceptionCase, ExceptionOccurrence
from .cases import activity_record, case_aggregate, case_changed, case_store
from .partner import _SUBJECT_KIND_ORDER as SUBJECT_KIND_ORDER

FEED_SILENT_CODE = "silent"
# A silent feed or a dead letter means events missing from every timeline they touch.
SEVERITY: dict[str, str] = {
    ExceptionKind.FEED_SILENT: Severity.HIGH,
    ExceptionKind.INGESTION: Severity.HIGH,
    ExceptionKind.UNMATCHED_EVENT: Severity.MEDIUM,
}
UNMATCHED_PER_SWEEP = 5000
UNMATCHED_WINDOW_MAX = 100_000


@dataclass
class SweepResult:
    """(kind, code, subject, case id) of each case the sweep opened or resolved."""

    opened: list[tuple[str, str, str, int]] = field(default_factory=list)
    resolved: list[tuple[str, str, str, int]] = field(default_factory=list)


def feed_subject(slug: str) -> str:
    return f"feed:{slug}"


def _fingerprint(kind: str, code: str, subject: str) -> str:
    return f"{kind}:{code}:{subject}"


def _case_open(
    *, kind: str, code: str, subject: str, since: datetime, at: datetime, occurrences: int, **detail: Any
) -> tuple[ExceptionCase, bool]:
    """The unresolved case of (kind, code, subject), opening it (or reopening after a resolved
    one) when there is none. True when this call created it."""
    fp = _fingerprint(kind, code, subject)
    previous = ExceptionCase.objects.filter(fingerprint=fp, status=CaseStatus.RESOLVED).order_by("-id").first()
    case = ExceptionCase(
        kind=kind,
        code=code[:100],
        fingerprint=fp,
        subject=subject,
        severity=SEVERITY[kind],
        queue=Queue.OPS,
        opened_at=since,
        last_seen_at=since,
        occurrences=occurrences,
        previous=previous,
    )
    saved, created = case_store(case, at, cleared=None)
    if created:
        if previous is not None:
            activity_record(saved.id, ActivityAction.REOPENED, at, previous=previous.id, **detail)
        else:
            activity_record(saved.id, ActivityAction.OPENED, at, **detail)
    return saved, created


def _case_resolve(case_id: int, *, at: datetime, cleared_at: datetime, reason: str, **detail: Any) -> bool:
    """Compare-and-set: False when someone (or another sweep) resolved it first."""
    won = ExceptionCase.objects.filter(id=case_id, status__in=ACTIVE_STATUSES).update(
        status=CaseStatus.RESOLVED,
        resolved_at=at,
        resolution=f"auto: {reason}",
        cleared_at=cleared_at,
        snoozed_until=None,
    )
    if won:
        activity_record(case_id, ActivityAction.AUTO_RESOLVED, at, reason=reason, **detail)
        case_changed(case_id)
    return bool(won)


def _active(kind: str) -> list[ExceptionCase]:
    return list(ExceptionCase.objects.filter(kind=kind, status__in=ACTIVE_STATUSES).order_by("id"))


# --- the sweep -----------------------------------------------------------------------------


def system_sweep(at: datetime | None = None) -> SweepResult:
    """Beat, every minute (`manage.py sweep_exceptions [--now T]` runs it as of T). Overlapping
    runs are harmless: opening goes through the one-unresolved-per-fingerprint constraint,
    resolving is compare-and-set, occurrences are unique per (fingerprint, event)."""
    at = at or now()
    result = SweepResult()
    _feeds_silent_sweep(at, result)
    _ingestion_sweep(at, result)
    _unmatched_sweep(at, result)
    return result


def _feeds_silent_sweep(at: datetime, result: SweepResult) -> None:
    """Silent: quiet for the feed's silence threshold, from its own rhythm unless an admin set it
    (apps/ingestion/health_silence.py, the rule the feed health pages show)."""
    feeds = list(with_quiet_since(Feed.objects.all()).order_by("slug"))
    thresholds = silence_thresholds(feeds, at=at)
    open_cases = {case.subject: case for case in _active(ExceptionKind.FEED_SILENT)}
    for feed in feeds:
        subject = feed_subject(feed.slug)
        last_message_at: datetime | None = getattr(feed, "last_message_at", None)
        quiet = quiet_since(feed)
        threshold = thresholds[feed.pk]
        silent = is_silent(feed, threshold.threshold, at=at)
        case = open_cases.pop(subject, None)
        if silent and case is None and not _silence_dismissed(subject, quiet):
            with transaction.atomic():
                case, created = _case_open(
                    kind=ExceptionKind.FEED_SILENT,
                    code=FEED_SILENT_CODE,
                    subject=subject,
                    since=quiet + threshold.threshold,
                    at=at,
                    occurrences=1,
                    last_message_at=last_message_at.isoformat() if last_message_at else None,
                    max_silence=str(threshold.threshold),
                    threshold_source=threshold.source,
                )
            if created:
                case_changed(case.id, opened=True)
                result.opened.append((case.kind, case.code, subject, case.id))
        elif not silent and case is not None:
            # A message received since the case opened (the threshold itself may have moved since).
            spoke = last_message_at is not None and last_message_at >= case.opened_at
            reason = "feed paused" if feed.is_paused else "feed spoke again" if spoke else "no longer silent"
            cleared_at = last_message_at if spoke and last_message_at is not None else at
            if _case_resolve(case.id, at=at, cleared_at=cleared_at, reason=reason):
                result.resolved.append((case.kind, case.code, subject, case.id))


def _silence_dismissed(subject: str, quiet_since: datetime) -> bool:
    """Resolved by a person during this same silence ("the partner is closed this week"): it
    stays resolved until the feed speaks and falls silent again."""
    return (
        ExceptionCase.objects.filter(
            fingerprint=_fingerprint(ExceptionKind.FEED_SILENT, FEED_SILENT_CODE, subject),
            status=CaseStatus.RESOLVED,
            cleared_at__gt=quiet_since,
        )
        .exclude(resolution__startswith="auto:")
        .exists()
    )


def _ingestion_sweep(at: datetime, result: SweepResult) -> None:
    """A dead letter deleted or replayed outside the pipeline: re-check what is still failed."""
    for case in _active(ExceptionKind.INGESTION):
        if is_poll_case(case):
            continue  # cleared by polling succeeding again (poll_failure_resolve)
        if not _dead_letters_left(case) and _case_resolve(case.id, at=at, cleared_at=at, reason="no dead letter left"):
            result.resolved.append((case.kind, case.code, case.subject, case.id))


def _unmatched_sweep(at: datetime, result: SweepResult) -> None:
    rows = _unmatched_uncounted(at - settings.UNMATCHED_EVENT_GRACE)
    slugs = dict(Feed.objects.values_list("id", "slug"))
    groups: dict[tuple[str, str], list[tuple[int, datetime]]] = defaultdict(list)
    for event_id, feed_id, refs, received_at in rows:
        groups[(_main_ref_kind(refs), feed_subject(slugs[feed_id]))].append((event_id, received_at))
    for (ref_kind, subject), events in sorted(groups.items()):  # one lock order for concurrent sweeps
        with transaction.atomic():
            case, created = _case_open(
                kind=ExceptionKind.UNMATCHED_EVENT,
                code=ref_kind,
                subject=subject,
                since=events[0][1],
                at=at,
                occurrences=0,
                grace=str(settings.UNMATCHED_EVENT_GRACE),
            )
            ExceptionOccurrence.objects.bulk_create(
                [
                    ExceptionOccurrence(case=case, event_id=event_id, fingerprint=case.fingerprint, occurred_at=t)
                    for event_id, t in events
                ],
                ignore_conflicts=True,
            )
            case_aggregate(case.id)
        case_changed(case.id, opened=created)
        if created:
            result.opened.append((case.kind, case.code, subject, case.id))
    for case in _active(ExceptionKind.UNMATCHED_EVENT):
        still = ExceptionOccurrence.objects.filter(case_id=case.id, event__matched=False)
        if not still.exists() and _case_resolve(case.id, at=at, cleared_at=at, reason="events matched"):
            result.resolved.append((case.kind, case.code, case.subject, case.id))


def _unmatched_uncounted(cutoff: datetime) -> list[tuple[int, int, dict[str, list[str]], datetime]]:
    """Unmatched events received in [cutoff - lookback, cutoff) and not counted yet, oldest
    first. Two plain index reads rather than one anti-join, whose plan flips to a nested loop
    over the whole occurrence table when its statistics lag: the ids through the partial
    index on received_at WHERE NOT matched, then which of them are counted through the
    occurrence's event index."""
    window = CanonicalEvent.objects.filter(
        matched=False, received_at__lt=cutoff, received_at__gte=cutoff - settings.UNMATCHED_EVENT_LOOKBACK
    )
    candidates = list(window.order_by("received_at", "id").values_list("id", flat=True)[:UNMATCHED_WINDOW_MAX])
    prefix = f"{ExceptionKind.UNMATCHED_EVENT}:"
    counted: set[int] = set()
    for start in range(0, len(candidates), 5000):
        chunk = candidates[start : start + 5000]
        counted.update(
            ExceptionOccurrence.objects.filter(event_id__any=chunk, fingerprint__startswith=prefix).values_list(
                "event_id", flat=True
            )
        )
    todo = [event_id for event_id in candidates if event_id not in counted][:UNMATCHED_PER_SWEEP]
    if not todo:
        return []
    return list(
        CanonicalEvent.objects.filter(id__any=todo)
        .order_by("received_at", "id")
        .values_list("id", "feed_id", "refs", "received_at")
    )


def _main_ref_kind(refs: dict[str, list[str]]) -> str:
    """The kind a partner exception would take as its subject (partner.SUBJECT_KIND_ORDER)."""
    for kind in SUBJECT_KIND_ORDER:
        if refs.get(kind):
            return kind
    return sorted(refs)[0] if refs else "none"


# --- from the ingestion pipeline ------------------------------------------------------------


def dead_letter_record(message: RawMessage) -> None:
    """ingestion.ON_DEAD_LETTER: count this dead letter on its (feed, error class) case. The
    same message dead-lettered again (a failed replay) is not counted twice."""
    code = message.error.partition(":")[0].strip() or "error"
    at = now()
    case, created = _case_open(
        kind=ExceptionKind.INGESTION,
        code=code,
        subject=feed_subject(message.feed.slug),
        since=at,
        at=at,
        occurrences=1,
        message=str(message.id),
        error=message.error[:500],
    )
    if not created:
        if ExceptionActivity.objects.filter(case_id=case.id, detail__message=str(message.id)).exists():
            return
        ExceptionCase.objects.filter(id=case.id).update(
            occurrences=F("occurrences") + 1, last_seen_at=Greatest(F("last_seen_at"), Value(at))
        )
        activity_record(case.id, ActivityAction.SEEN_AGAIN, at, message=str(message.id), error=message.error[:500])
    case_changed(case.id, opened=created)


def system_batch_processed(messages: list[RawMessage]) -> None:
    """ingestion.AFTER_BATCH: the feeds of these messages spoke. One indexed query finds their
    unresolved feed_silent and ingestion cases — almost always none."""
    latest: dict[str, RawMessage] = {}
    for message in messages:
        subject = feed_subject(message.feed.slug)
        if subject not in latest or message.received_at > latest[subject].received_at:
            latest[subject] = message
    cases = ExceptionCase.objects.filter(
        subject__any=list(latest),
        kind__any=[ExceptionKind.FEED_SILENT, ExceptionKind.INGESTION],
        status__in=ACTIVE_STATUSES,
    )
    at = now()
    for case in cases:
        message = latest[case.subject]
        if case.kind == ExceptionKind.FEED_SILENT:
            # A replayed old message is not the feed speaking: only one received since the case opened
            # (none can arrive between the silence beginning and the case opening: it would end the silence).
            if message.received_at >= case.opened_at:
                _case_resolve(
                    case.id, at=at, cleared_at=message.received_at, reason="feed spoke again", message=str(message.id)
                )
        elif not is_poll_case(case) and not _dead_letters_left(case):
            _case_resolve(case.id, at=at, cleared_at=at, reason="dead letters replayed")


def _dead_letters_left(case: ExceptionCase) -> bool:
    slug = case.subject.removeprefix("feed:")
    return RawMessage.objects.filter(
        feed__slug=slug, status=MessageStatus.FAILED, error__startswith=f"{case.code}:"
    ).exists()


# --- from polling (apps/polling) -------------------------------------------------------

POLL_CODE_PREFIX = "poll_"


def is_poll_case(case: ExceptionCase) -> bool:
    """An `ingestion` case about polling a feed (code `poll_…`): it is cleared when polling
    succeeds again (`poll_failure_resolve`), not by the dead-letter checks."""
    return case.code.startswith(POLL_CODE_PREFIX)


def poll_failure_record(feed: Feed, *, code: str, reason: str, at: datetime | None = None) -> ExceptionCase:
    """Polling `feed` stopped (e.g. `poll_auth`: paused after repeated 401/403): the feed's
    `ingestion` case of that code, opened with `reason` in words for the admin (the case's first
    comment), or seen once more while it is still open."""
    assert code.startswith(POLL_CODE_PREFIX), code
    at = at or now()
    with transaction.atomic():
        case, created = _case_open(
            kind=ExceptionKind.INGESTION,
            code=code,
            subject=feed_subject(feed.slug),
            since=at,
            at=at,
            occurrences=1,
            reason=reason[:500],
        )
        if created:
            activity_record(case.id, ActivityAction.COMMENTED, at, text=reason[:500])
        else:
            ExceptionCase.objects.filter(id=case.id).update(
                occurrences=F("occurrences") + 1, last_seen_at=Greatest(F("last_seen_at"), Value(at))
            )
            activity_record(case.id, ActivityAction.SEEN_AGAIN, at, reason=reason[:500])
            case_changed(case.id)
    return case


def poll_failure_resolve(feed: Feed, *, reason: str = "polling succeeded again", at: datetime | None = None) -> int:
    """The feed's open polling cases resolved (compare-and-set); how many this call resolved."""
    at = at or now()
    cases = ExceptionCase.objects.filter(
        kind=ExceptionKind.INGESTION,
        subject=feed_subject(feed.slug),
        code__startswith=POLL_CODE_PREFIX,
        status__in=ACTIVE_STATUSES,
    ).values_list("id", flat=True)
    return sum(_case_resolve(case_id, at=at, cleared_at=at, reason=reason) for case_id in list(cases))
