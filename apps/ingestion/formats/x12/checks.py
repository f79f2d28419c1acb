"""The EDI-layer checks of a transaction set: what its 997 reports in AK3/AK4 and whether
AK5 rejects it. A pure function of the set's segments, apart from the mapping and from any
feed's code tables (an unmapped code is accepted at the EDI layer and rejected by the
mapping). The mappers reject the same records for the same reasons, stated for a partner.

Checked: the header segment each mapped set needs (B10, BSN, W05, W06, B2, B3), the dates,
times and time codes the mapping reads, an AT7 with neither status, and a set that nothing
can link to a shipment or order."""

import re
from dataclasses import dataclass, field

from .codes import BOL_QUALIFIERS, REF_KINDS
from .common import implied_decimal, position_of
from .envelope import TxSet
from .times import TIME_CODES, parse_date, parse_time
from .tokens import Segment

# X12 element 720 (AK304) and 723 (AK403) codes used here.
MANDATORY_SEGMENT_MISSING = "3"
MANDATORY_ELEMENT_MISSING = "1"
CONDITIONAL_ELEMENT_MISSING = "2"
INVALID_CHARACTER = "6"
INVALID_CODE = "7"
INVALID_DATE = "8"
INVALID_TIME = "9"

HEADERS = {"214": "B10", "856": "BSN", "940": "W05", "945": "W06", "204": "B2", "210": "B3"}


@dataclass(frozen=True)
class Issue:
    """A segment (AK3) or element (AK4) error."""

    tag: str
    position: int  # of the segment in the set, ST = 1
    code: str  # AK304 when element is None, else AK403
    element: int | None = None  # position in the segment (AK401)
    element_ref: str = ""  # data element reference number (AK402)
    bad: str = ""  # copy of the bad data (AK404)


@dataclass
class SetCheck:
    issues: list[Issue] = field(default_factory=list)
    fatal: bool = False  # AK5 R, code 5: nothing of the set can be used


def _date(seg: Segment, pos: int, element: int, issues: list[Issue]) -> bool:
    value = seg.el(element)
    if value and parse_date(value) is None:
        issues.append(Issue(seg.tag, pos, INVALID_DATE, element, "373", value))
        return False
    return True


def _time(seg: Segment, pos: int, element: int, issues: list[Issue]) -> bool:
    value = seg.el(element)
    if value and parse_time(value) is None:
        issues.append(Issue(seg.tag, pos, INVALID_TIME, element, "337", value))
        return False
    return True


def _at7(seg: Segment, pos: int, issues: list[Issue]) -> None:
    if not seg.el(1) and not seg.el(3):
        issues.append(Issue("AT7", pos, CONDITIONAL_ELEMENT_MISSING, 1, "1650"))
    if _date(seg, pos, 5, issues) and _time(seg, pos, 6, issues):
        code = seg.el(7)
        if code and code not in TIME_CODES:
            issues.append(Issue("AT7", pos, INVALID_CODE, 7, "623", code))


def _links(seg: Segment) -> bool:
    """A reference segment that identifies a shipment or order."""
    tag = seg.tag
    if tag == "L11":
        qualifier, value = seg.el(2), seg.el(1)
    elif tag in ("N9", "REF"):
        qualifier, value = seg.el(1), seg.el(2)
    elif tag == "MAN":
        return seg.el(1) in ("GM", "CP") and bool(seg.el(2))
    elif tag == "OID":
        return bool(seg.el(2))
    else:
        return False
    return bool(value) and (qualifier in REF_KINDS or qualifier in BOL_QUALIFIERS)


def check_set(tx: TxSet) -> SetCheck:
    """The 997's view of a set whose envelope is sound and whose type the adapter maps."""
    check = SetCheck()
    issues = check.issues
    set_id = tx.set_id
    wanted = HEADERS.get(set_id, "")
    header: tuple[Segment, int] | None = None
    linked = False
    for pos, seg in enumerate(tx.segments[1:-1], start=2):
        tag = seg.tag
        if tag == wanted and header is None:
            header = (seg, pos)
        elif tag == "AT7" and set_id == "214":
            _at7(seg, pos, issues)
        elif not linked and tag in ("L11", "N9", "REF", "MAN", "OID"):
            linked = _links(seg)
    if header is None:
        issues.insert(0, Issue(wanted, 2, MANDATORY_SEGMENT_MISSING))
        check.fatal = set_id != "214" or not linked
        return check
    seg, pos = header
    before = len(issues)
    if set_id == "214":
        check.fatal = not (linked or seg.el(1) or seg.el(2))
    elif set_id == "856":
        check.fatal = not (_date(seg, pos, 3, issues) and _time(seg, pos, 4, issues))
    elif set_id == "945":
        check.fatal = not _date(seg, pos, 3, issues)
    elif set_id == "204" and not seg.el(4) and not linked:
        issues.append(Issue("B2", pos, MANDATORY_ELEMENT_MISSING, 4, "145"))
        check.fatal = True
    elif set_id == "210":
        amount = seg.el(7)
        if implied_decimal(amount) is None:
            code = MANDATORY_ELEMENT_MISSING if not amount else INVALID_CHARACTER
            issues.append(Issue("B3", pos, code, 7, "193", amount))
        _date(seg, pos, 6, issues)
        c3 = next((s for s in tx.segments if s.tag == "C3"), None)
        if c3 is not None and c3.el(1) and not re.fullmatch(r"[A-Z]{3}", c3.el(1)):
            issues.append(Issue("C3", position_of(tx, c3), INVALID_CODE, 1, "100", c3.el(1)))
        check.fatal = len(issues) > before
    issues.sort(key=lambda issue: issue.position)
    return check
