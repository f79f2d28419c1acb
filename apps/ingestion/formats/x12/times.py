"""X12 dates, times and time codes (element 623) → aware datetimes.

A date is CCYYMMDD (or YYMMDD in older versions and in the ISA); a time HHMM, HHMMSS or
HHMMSSD[D]. A time code names the zone: LT (local) and no code at all are read in the feed's
time zone (`ctx.tz`); ET/CT/MT/PT… follow the region's daylight-saving rules; ED/ES… and the
numbered codes are fixed offsets."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

# Element 623 Time Code (X12 003060+). A str names an IANA zone (daylight saving applies),
# an int is a fixed offset in minutes, None is "local": the feed's own zone.
TIME_CODES: dict[str, str | int | None] = {
    "LT": None,
    "UT": 0,
    "GM": 0,
    "ET": "America/New_York",
    "ED": -4 * 60,
    "ES": -5 * 60,
    "CT": "America/Chicago",
    "CD": -5 * 60,
    "CS": -6 * 60,
    "MT": "America/Denver",
    "MD": -6 * 60,
    "MS": -7 * 60,
    "PT": "America/Los_Angeles",
    "PD": -7 * 60,
    "PS": -8 * 60,
    "AT": "America/Anchorage",  # Alaska Time
    "AD": -8 * 60,
    "AS": -9 * 60,
    "HT": "Pacific/Honolulu",  # Hawaii-Aleutian Time
    "HD": -9 * 60,
    "HS": -10 * 60,
    "NT": "America/St_Johns",  # Newfoundland Time
    "ND": -150,
    "NS": -210,
    "TT": "America/Halifax",  # Atlantic Time
    "TD": -3 * 60,
    "TS": -4 * 60,
}
# 01..12: ISO P01..P12 (UTC+1..+12); 13..24: ISO M12..M01 (UTC-12..-1).
TIME_CODES.update({f"{n:02d}": n * 60 for n in range(1, 13)})
TIME_CODES.update({f"{n:02d}": -(25 - n) * 60 for n in range(13, 25)})


def digits(text: str) -> bool:
    """ASCII digits only ("¹".isdigit() is True, and int() refuses it)."""
    return text.isascii() and text.isdigit()


def parse_date(text: str) -> date | None:
    """CCYYMMDD or YYMMDD (a two-digit year < 70 is 20YY, else 19YY); None when invalid."""
    if not digits(text) or len(text) not in (6, 8):
        return None
    if len(text) == 6:
        yy = int(text[:2])
        year, rest = (2000 + yy if yy < 70 else 1900 + yy), text[2:]
    else:
        year, rest = int(text[:4]), text[4:]
    try:
        return date(year, int(rest[:2]), int(rest[2:4]))
    except ValueError:
        return None


def parse_time(text: str) -> time | None:
    """HHMM, HHMMSS or HHMMSSD[D] (decimal seconds); None when invalid."""
    if not digits(text) or len(text) not in (4, 6, 7, 8):
        return None
    hour, minute = int(text[:2]), int(text[2:4])
    second = int(text[4:6]) if len(text) >= 6 else 0
    fraction = text[6:]
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second, micro)


def zone(code: str, local: tzinfo) -> tzinfo | None:
    """The zone of a time code ("" and LT: `local`); None when the code is not in the list."""
    if not code:
        return local
    if code not in TIME_CODES:
        return None
    spec = TIME_CODES[code]
    if spec is None:
        return local
    if isinstance(spec, str):
        return ZoneInfo(spec)
    return timezone(timedelta(minutes=spec))


@dataclass(frozen=True)
class Stamp:
    """A parsed date/time, or which part of it was wrong (for rejections and the 997)."""

    value: datetime | None
    problem: str = ""
    bad: str = ""  # "date" | "time" | "zone" | "" (nothing wrong, or nothing sent)
    time_sent: bool = True


def stamp(date_text: str, time_text: str, code: str, local: tzinfo, *, end_of_day: bool = False) -> Stamp:
    """Date + optional time + optional time code → an aware datetime. Without a time the day
    starts at 00:00 (or ends at 23:59:59 when `end_of_day`, for a deadline)."""
    if not date_text:
        return Stamp(None, "no date", "")
    day = parse_date(date_text)
    if day is None:
        return Stamp(None, f"{date_text!r} is not a date (CCYYMMDD)", "date")
    clock = time(23, 59, 59) if end_of_day else time(0, 0)
    if time_text:
        parsed = parse_time(time_text)
        if parsed is None:
            return Stamp(None, f"{time_text!r} is not a time (HHMM or HHMMSS)", "time")
        clock = parsed
    tz = zone(code, local)
    if tz is None:
        return Stamp(
            None,
            f"time code {code!r} is not an X12 time code (element 623: LT, UT, GM, ET/ED/ES, CT/CD/CS, MT/MD/MS, "
            "PT/PD/PS, AT/AD/AS, HT/HD/HS, NT/ND/NS, TT/TD/TS, 01..24)",
            "zone",
        )
    return Stamp(datetime.combine(day, clock, tzinfo=tz), time_sent=bool(time_text))


def iso(value: datetime) -> str:
    """RFC 3339 with the source's offset."""
    return value.isoformat()
