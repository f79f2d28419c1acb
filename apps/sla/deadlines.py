"""What an expectation should be, given what the order's timeline says now. Pure: no ORM.

Timelines only grow (links are never removed), so the earliest start and the first stop can
only move earlier, and every evaluation converges on the same answer whatever the arrival order:

* an earlier start moves `started_at` earlier and, for a `within` policy, `due_at` by the
  same amount (the window the expectation was created with is kept);
* a `deadline: promised_by` expectation follows the order's latest promise while it is
  pending; once breached or met, the promise it was held to stays;
* met or late is decided by event times: met when the first stop occurred at or before
  `due_at`, met_late after it — also when the sweep had already breached it, and also when an
  earlier start turns a stop that was in time into a late one (or an earlier stop turns a late
  one into one in time);
* cancelled expectations (their policy was deactivated) are left alone."""

from dataclasses import dataclass
from datetime import datetime

from .choices import ExpectationStatus


@dataclass(frozen=True)
class Stop:
    event_id: int
    occurred_at: datetime
    type: str


@dataclass(frozen=True)
class Stored:
    """The expectation row as read (the compare-and-set compares all four)."""

    status: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    case_id: int | None  # the sla_breach case on record, if any

    @property
    def has_case(self) -> bool:
        return self.case_id is not None


@dataclass(frozen=True)
class Target:
    status: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    open_resolved: bool = False  # late and no case yet: record the breach, already over
    resolve: bool = False  # it was breached (case open) and the stop is now on the timeline
    move: bool = False  # the breach case stays; its breach time follows the earlier due_at


def expectation_target(
    stored: Stored,
    *,
    start: datetime | None,
    stop: Stop | None,
    promised_by: datetime | None,
    follows_promise: bool,
) -> Target | None:
    """The row the expectation should become, or None when it is right as it is."""
    if stored.status == ExpectationStatus.CANCELLED:
        return None
    started_at, due_at = stored.started_at, stored.due_at
    if start is not None and start < started_at:
        if not follows_promise:
            due_at -= started_at - start
        started_at = start
    if follows_promise and stored.status == ExpectationStatus.PENDING and promised_by is not None:
        due_at = promised_by
    met_at = stored.met_at
    if stop is not None and (met_at is None or stop.occurred_at < met_at):
        met_at = stop.occurred_at
    status = stored.status
    if met_at is not None:
        status = ExpectationStatus.MET_LATE if met_at > due_at else ExpectationStatus.MET
    if (status, started_at, due_at, met_at) == (stored.status, stored.started_at, stored.due_at, stored.met_at):
        return None
    late = status in (ExpectationStatus.MET_LATE, ExpectationStatus.BREACHED)
    return Target(
        status,
        started_at,
        due_at,
        met_at,
        open_resolved=status == ExpectationStatus.MET_LATE and not stored.has_case,
        resolve=stored.status == ExpectationStatus.BREACHED and status != ExpectationStatus.BREACHED,
        move=late and stored.has_case and due_at != stored.due_at,
    )
