"""Synthetic X12 214 (shipment status) files of any size, written as a stream: for `bench
formats` and the large-file tests. Each transaction set is one shipment of one order with a
few AT7 statuses in LX loops (loaded → departed → en route → at the consignee → delivered: the
typical truckload stop cycle of vocabularies.md §2 from CP on), several sets per functional
group and several groups per interchange, as a carrier's translator batches them."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

STOP_CYCLE = ("CP", "AF", "X6", "X1", "D1")
SETS_PER_GROUP = 500
GROUPS_PER_INTERCHANGE = 4


def _isa(control: int, when: datetime) -> str:
    return (
        f"ISA*00*          *00*          *02*BENCHCARRIER   *ZZ*CONTROLTOWER   *{when:%y%m%d}*{when:%H%M}*U*00401*"
        f"{control:09d}*0*P*>"
    )


def _set(control: int, order: str, shipment: str, start: datetime, statuses: int) -> list[str]:
    segments = [
        f"ST*214*{control:04d}",
        f"B10*PRO{shipment}*{shipment}*BNCH",
        f"L11*{order}*OQ",
        f"L11*PO-{order}*PO",
    ]
    for n, code in enumerate(STOP_CYCLE[:statuses], start=1):
        at = start + timedelta(hours=3 * n)
        segments += [f"LX*{n}", f"AT7*{code}*NS***{at:%Y%m%d}*{at:%H%M}*UT", "MS1*CHICAGO*IL*US"]
    segments.append(f"SE*{len(segments) + 1}*{control:04d}")
    return segments


def interchanges(*, sets: int, prefix: str = "B", statuses: int = 5, start: datetime | None = None) -> Iterator[str]:
    """The file's text, one interchange at a time (segments on their own lines)."""
    begin = start or datetime(2026, 11, 20, 8, tzinfo=UTC)
    written, isa = 0, 0
    while written < sets:
        isa += 1
        lines = [_isa(isa, begin)]
        groups = 0
        while groups < GROUPS_PER_INTERCHANGE and written < sets:
            groups += 1
            gs = isa * 100 + groups
            lines.append(f"GS*QM*BENCHCARRIER*CONTROLTOWER*{begin:%Y%m%d}*{begin:%H%M}*{gs}*X*004010")
            in_group = min(SETS_PER_GROUP, sets - written)
            for i in range(in_group):
                n = written + i
                order, shipment = f"{prefix}-SO-{n:07d}", f"{prefix}-SH-{n:07d}"
                lines += _set(i + 1, order, shipment, begin + timedelta(minutes=n % 1440), statuses)
            written += in_group
            lines.append(f"GE*{in_group}*{gs}")
        lines.append(f"IEA*{groups}*{isa:09d}")
        yield "~\n".join(lines) + "~\n"


def write_file(path: Path, *, megabytes: float, prefix: str = "B", statuses: int = 5) -> tuple[int, int]:
    """Write at least `megabytes` of 214s to `path`. Returns (bytes, events)."""
    one_set = len("~\n".join(_set(1, f"{prefix}-SO-0000000", f"{prefix}-SH-0000000", datetime.now(UTC), statuses)))
    sets = max(1, int(megabytes * 1024 * 1024 / (one_set + 1)))
    size = 0
    with path.open("w", encoding="ascii") as out:
        for text in interchanges(sets=sets, prefix=prefix, statuses=statuses):
            out.write(text)
            size += len(text)
    return size, sets * statuses
