"""Value checks of DCSA Track & Trace: RFC 3339 date-times, UN/LOCODEs, ISO 6346 container
numbers, UUID event ids; and the JSON helpers of the format (body loading, depth, hashing)."""

import hashlib
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from ..base import UnreadableBody

# DCSA date-times are RFC 3339 (`format: date-time`): a full date, a `T`, a time with seconds,
# optional fraction and an offset. Anything looser (`2021 01 01 14:12:56`) is not the standard.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))?"
)
TIME_EXAMPLE = "2021-01-09T14:12:56+01:00"

# ISO 3166-1 alpha-2 (as in tzdata's iso3166.tab) and XZ, UN/LOCODE's "international waters".
_COUNTRY_CODES = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC "
    "EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK "
    "HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB "
    "LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
    "NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU "
    "RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN "
    "TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XZ"
)
COUNTRIES = frozenset(_COUNTRY_CODES.split(" "))
_LOCODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
# ISO 6346: owner code (3 letters), category U/J/Z, 6-digit serial, check digit.
_ISO6346 = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")
_LETTER_VALUES = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11], strict=True))

MAX_DEPTH = 64
# A little slack for clocks and mis-set offsets: what is later than this is not a clock error.
CLOCK_SLACK = timedelta(days=1)


def parse_time(value: object) -> datetime | str | None:
    """An RFC 3339 date-time → an aware datetime; `"naive"` when it has no offset; None when it
    is not RFC 3339 at all."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if not zulu and not sign:
        return "naive"
    try:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) if sign else timedelta(0)
        zone = timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone)
    except ValueError:
        return None


def time_error(field: str, value: object) -> str:
    """Why `value` is not a DCSA date-time (for a value `parse_time` refused)."""
    shown = repr(value) if isinstance(value, str) and len(value) <= 40 else type(value).__name__
    if parse_time(value) == "naive":
        return f"{field}: {shown} has no UTC offset; DCSA date-times are RFC 3339 with an offset (e.g. {TIME_EXAMPLE})"
    return f"{field}: {shown} is not an RFC 3339 date-time (want e.g. {TIME_EXAMPLE})"


def locode_error(field: str, value: object) -> str | None:
    """None for a well-formed UN/LOCODE of a known country, else why not."""
    if not isinstance(value, str) or not _LOCODE.fullmatch(value):
        shown = repr(value) if isinstance(value, str) and len(value) <= 40 else type(value).__name__
        return f"{field}: {shown} is not a UN/LOCODE (2-letter country code + 3 letters or digits 2-9, e.g. FRPAR)"
    if value[:2] not in COUNTRIES:
        return f"{field}: {value!r} is not a UN/LOCODE ({value[:2]!r} is not an ISO 3166 country code)"
    return None


def container_error(field: str, value: str) -> str | None:
    """An ISO 6346-shaped container number whose check digit is wrong (a typo, not a non-ISO id:
    DCSA allows non-ISO equipment references, SMDG recommendation #2)."""
    if not _ISO6346.fullmatch(value):
        return None
    total = sum((_LETTER_VALUES[ch] if ch.isalpha() else int(ch)) * 2**i for i, ch in enumerate(value[:10]))
    expected = total % 11 % 10
    if expected != int(value[10]):
        return f"{field}: {value!r} fails the ISO 6346 check digit (expected {expected}, got {value[10]})"
    return None


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) in (32, 36)


def content_hash(value: Any) -> str:
    """A short stable hash of a JSON value (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def load_json(body: bytes, want: str) -> Any:
    """The body's JSON value; UnreadableBody (saying what was wanted) when there is none."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.strip():
        raise UnreadableBody(f"empty body: want {want}")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(f"body is not JSON ({exc}): want {want}") from None
    if too_deep(data, MAX_DEPTH):
        raise UnreadableBody(f"JSON nested deeper than {MAX_DEPTH} levels: want {want}")
    return data


def too_deep(data: Any, limit: int) -> bool:
    """Whether any value is nested deeper than `limit` (an explicit stack: no recursion limit)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return False
