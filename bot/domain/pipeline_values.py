"""Reading one cell of a CRM export: dates, amounts, periods, yes/no, statuses and lead sources.

Exports come from many locales: Persian and Arabic-Indic digits, `1.234,56` as well as `1,234.56`,
currency symbols, and dates in ISO, US (`3/4/2026`) or European (`4.3.2026`) order. A date whose
order cannot be told (`3/4/2026`) is never guessed: `classify_date` says so and the caller asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from bot.domain.pipeline import ACCEPTED, LOST, MARKETING, REJECTED, SALES, WON

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫٬", "01234567890123456789.,")

DMY, MDY = "dmy", "mdy"
EARLIEST_YEAR = 1900
ISO, AMBIGUOUS = "iso", "ambiguous"


class BadValue(ValueError):
    """A cell that cannot be read as what its column holds."""


def western_digits(text: str) -> str:
    """Persian and Arabic-Indic digits (and their decimal and thousands signs) as ASCII."""
    return text.translate(_DIGITS)


# ----- dates ---------------------------------------------------------------------------------------

_TIME = (
    r"(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?P<ampm>[AaPp][Mm])?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?"
)
_ISO = re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + r"$")
_NUMERIC = re.compile(r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})" + _TIME + r"$")
_LETTER = re.compile(r"[A-Za-z]{3}")
_NAMED_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%d-%b-%Y")


@dataclass(frozen=True)
class DateShape:
    """What a date cell says about the file's date order: `iso`, `dmy`, `mdy` or `ambiguous`."""

    order: str


def _clean_date(text: str) -> str:
    return " ".join(western_digits(text).strip().split())


def fast_iso(text: str) -> datetime | None:
    """The shapes most exports write (`2026-03-02`, `2026-03-02 10:00`, `2026-03-02T10:00:00Z`, with
    an offset), read by Python's own ISO parser; None for any other cell, left to the general reading."""
    if len(text) < 10 or text[4] != "-" or text[7] != "-" or not text.isascii():
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.year >= EARLIEST_YEAR else None


def classify_date(text: str) -> DateShape:
    """Which order a date is written in, as far as the cell alone tells (`iso`: the order does not
    matter); raises `BadValue`.

    Dots mean day first (`4.3.2026`, the European way); with slashes or dashes a day above 12
    tells the order, and when both numbers are 12 or below (and differ) the cell is ambiguous."""
    if fast_iso(text) is not None:
        return DateShape(ISO)
    cleaned = _clean_date(text)
    if _ISO.match(cleaned) or _named(cleaned):
        return DateShape(ISO)
    match = _NUMERIC.match(cleaned)
    if not match:
        raise BadValue(text)
    first, second = int(match["a"]), int(match["b"])
    if match["sep"] == "." or first > 12:
        order = DMY
    elif second > 12:
        order = MDY
    else:
        order = ISO if first == second else AMBIGUOUS  # 2/2/2026 reads the same either way
    if not _valid(int(match["y"]), *((first, second) if order == MDY else (second, first))):
        raise BadValue(text)
    return DateShape(order)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year if year >= 100 else 2000 + year, month, day)
    except ValueError:
        return False
    return True


def _named(cleaned: str) -> datetime | None:
    """A date with its month's name (`Mar 4, 2026`); only such a cell is tried, strptime being slow."""
    if not _LETTER.search(cleaned):
        return None
    for pattern in _NAMED_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern)
        except ValueError:
            continue
    return None


def parse_datetime(text: str, order: str | None, zone: ZoneInfo) -> datetime:
    """An aware instant; a cell without a time or an offset is read in the workspace's timezone.
    `order` (`dmy` or `mdy`) decides cells `classify_date` calls ambiguous."""
    moment = fast_iso(text)
    if moment is None:
        naive, offset = _local(text, order)
        moment = naive.replace(tzinfo=_zone_of(offset, zone))
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_date(text: str, order: str | None) -> date:
    """A calendar date (a close date), as written."""
    moment = fast_iso(text)
    return moment.date() if moment is not None else _local(text, order)[0].date()


def _local(text: str, order: str | None) -> tuple[datetime, str | None]:
    """The cell as a naive date and time, and its UTC offset if it gives one."""
    cleaned = _clean_date(text)
    named = _named(cleaned)
    if named is not None:
        return named, None
    match = _ISO.match(cleaned)
    if match:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    else:
        match = _NUMERIC.match(cleaned)
        if match is None:
            raise BadValue(text)
        shape = classify_date(cleaned).order
        order = {ISO: DMY, AMBIGUOUS: order}.get(shape, shape)
        if order not in (DMY, MDY):
            raise BadValue(text)
        first, second = int(match["a"]), int(match["b"])
        day, month = (first, second) if order == DMY else (second, first)
        year = int(match["y"])
        year = year if year >= 100 else 2000 + year
    if year < EARLIEST_YEAR:
        raise BadValue(text)  # a Solar Hijri (Jalali) date, or a typo: not read as a Gregorian one
    try:
        return datetime.combine(date(year, month, day), _time_of(match)), match["zone"]
    except ValueError:
        raise BadValue(text) from None


def _time_of(match: re.Match[str]) -> time:
    if not match["time"]:
        return time()
    parts = match["time"].split(":")
    hour, minute = int(parts[0]), int(parts[1])
    second = int(float(parts[2])) if len(parts) > 2 else 0
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError(match.string)
        hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
    return time(hour, minute, second)


def _zone_of(offset: str | None, zone: ZoneInfo) -> tzinfo:
    if offset is None:
        return zone
    if offset == "Z":
        return UTC
    parsed = datetime.strptime(offset.replace(":", ""), "%z").tzinfo
    assert parsed is not None
    return parsed


# ----- amounts -------------------------------------------------------------------------------------

_CURRENCY = re.compile(r"[$€£¥₹﷼₽]|\b[A-Za-z]{3}\b|ریال|تومان|[\s\u00a0\u202f'’]")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?$")


def parse_amount(text: str) -> Decimal:
    """An amount: currency symbols and codes, spaces and thousands separators dropped; `(12)` is −12.

    With both `.` and `,` the later one is the decimal point; a lone separator followed by exactly
    three digits, or one that repeats, separates thousands; otherwise it is the decimal point."""
    cleaned = _CURRENCY.sub("", western_digits(text).strip())
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    cleaned = cleaned.strip("()")
    if negative and cleaned.startswith("-"):
        raise BadValue(text)
    if "," in cleaned and "." in cleaned:
        decimal_mark = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        cleaned = cleaned.replace(thousands, "").replace(decimal_mark, ".")
    else:
        for mark in (",", "."):
            if mark in cleaned:
                head, _, tail = cleaned.rpartition(mark)
                if cleaned.count(mark) > 1 or (len(tail) == 3 and head.lstrip("-")):
                    cleaned = cleaned.replace(mark, "")
                else:
                    cleaned = cleaned.replace(mark, ".")
    if not _PLAIN_NUMBER.match(cleaned):
        raise BadValue(text)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue(text) from None
    return -amount if negative else amount


# ----- periods -------------------------------------------------------------------------------------

_QUARTER = (
    re.compile(r"(?P<y>\d{4})\s*[-/ ]?\s*Q(?P<q>[1-4])$", re.I),
    re.compile(r"Q(?P<q>[1-4])\s*[-/ ]?\s*(?P<y>\d{4})$", re.I),
)
_MONTH = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})$")
_WEEK = re.compile(r"(?P<y>\d{4})-?W(?P<w>\d{1,2})$", re.I)


def parse_period(text: str) -> str:
    """A forecast period, canonical: `2026-Q3` (also `Q3 2026`), `2026-07`, `2026-W27`."""
    cleaned = western_digits(text).strip()
    for pattern in _QUARTER:
        match = pattern.match(cleaned)
        if match:
            return f"{match['y']}-Q{match['q']}"
    match = _MONTH.match(cleaned)
    if match and 1 <= int(match["m"]) <= 12:
        return f"{match['y']}-{int(match['m']):02d}"
    match = _WEEK.match(cleaned)
    if match and 1 <= int(match["w"]) <= 53:
        return f"{match['y']}-W{int(match['w']):02d}"
    raise BadValue(text)


# ----- words ---------------------------------------------------------------------------------------

_TRUE = {"true", "yes", "y", "1", "won", "بله", "آری", "درست"}
_FALSE = {"false", "no", "n", "0", "lost", "خیر", "نه", "نادرست"}


def _word(text: str) -> str:
    return " ".join(re.split(r"[\s_]+", western_digits(text).strip().lower()))


def parse_flag(text: str) -> bool:
    word = _word(text)
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadValue(text)


_LEAD_DECISIONS = {
    ACCEPTED: {
        "accepted",
        "sales accepted",
        "sal",
        "qualified",
        "working",
        "working - contacted",
        "in progress",
        "connected",
        "open deal",
        "closed - converted",
        "converted",
        "پذیرفته",
        "پذیرفته شده",
        "تایید شده",
    },
    REJECTED: {
        "rejected",
        "unqualified",
        "disqualified",
        "closed - not converted",
        "not converted",
        "رد",
        "رد شده",
    },
}


def lead_decision(text: str) -> str | None:
    """What sales decided about a lead, from a Salesforce or HubSpot lead status; None while undecided."""
    word = _word(text)
    return next((decision for decision, words in _LEAD_DECISIONS.items() if word in words), None)


def deal_outcome(stage: str) -> str | None:
    """`won` or `lost` from a stage such as Salesforce's `Closed Won` or HubSpot's `closedlost`."""
    word = _word(stage).replace(" ", "")
    if word in ("closedwon", "won", "برنده", "موفق"):
        return WON
    if word in ("closedlost", "lost", "بازنده", "ناموفق"):
        return LOST
    return None


_SOURCES = {
    MARKETING: {
        "marketing",
        "web",
        "website",
        "organic search",
        "paid search",
        "email marketing",
        "social media",
        "paid social",
        "organic social",
        "other campaigns",
        "advertisement",
        "trade show",
        "seminar",
        "webinar",
        "direct traffic",
        "referrals",
        "purchased list",
        "content",
        "event",
        "بازاریابی",
    },
    SALES: {
        "sales",
        "outbound",
        "cold call",
        "sales prospecting",
        "prospecting",
        "offline sources",
        "offline",
        "partner referral",
        "employee referral",
        "phone inquiry",
        "فروش",
    },
}


def deal_source(text: str) -> str | None:
    """Marketing or sales, from a lead source (Salesforce) or original source (HubSpot); None if neither."""
    word = _word(text)
    return next((source for source, words in _SOURCES.items() if word in words), None)
