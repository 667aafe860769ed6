"""Numbers, shares, dates and times as a reader of each language writes them.

English keeps Latin digits and the Gregorian calendar (dates as ISO 8601, as before). Persian gets
Persian digits, the Persian decimal separator (٫) and percent sign (٪), and the Solar Hijri
(Jalali) calendar, converted by `jdatetime`. The templates print every number and date through
these functions (as the `number`, `percent`, `date`, `clock` and `moment` filters of
bot/slack/rendering.py), and the charts label their axes with them.
"""

from __future__ import annotations

from datetime import date, datetime, time

import jdatetime

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
PERSIAN_DECIMAL_SEPARATOR = "\u066b"  # ٫
PERSIAN_PERCENT_SIGN = "\u066a"  # ٪
MINUS_SIGN = "\u2212"  # −, the typographic minus both languages print
_JALALI_MONTHS = jdatetime.date.j_months_fa  # فروردین … اسفند


def persian_digits(text: str) -> str:
    return text.translate(PERSIAN_DIGITS)


def number(value: float | int, language: str, places: int = 0) -> str:
    """`value` rounded to `places` decimals: "3.5" in English, "۳٫۵" in Persian."""
    text = f"{value:.{places}f}".replace("-", MINUS_SIGN)
    if language != "fa":
        return text
    return persian_digits(text.replace(".", PERSIAN_DECIMAL_SEPARATOR))


def signed(value: float | int, language: str, places: int = 0) -> str:
    """A change with its sign always shown: "+3", "−2.5"; zero counts as a gain ("+0")."""
    rounded = round(value, places)
    return ("+" if rounded >= 0 else "") + number(rounded if rounded else 0, language, places)


def percent(share: float, language: str) -> str:
    """A share from 0 to 1 as a whole percentage: "42%", "۴۲٪"."""
    whole = number(share * 100, language)
    return whole + (PERSIAN_PERCENT_SIGN if language == "fa" else "%")


def jalali(day: date) -> jdatetime.date:
    return jdatetime.date.fromgregorian(date=day)


def calendar_date(day: date, language: str) -> str:
    """ "2026-05-25" in English; "۴ خرداد ۱۴۰۵" (day, month name, Solar Hijri year) in Persian."""
    if isinstance(day, datetime):
        day = day.date()
    if language != "fa":
        return day.isoformat()
    solar = jalali(day)
    return persian_digits(f"{solar.day} {_JALALI_MONTHS[solar.month - 1]} {solar.year}")


def short_date(day: date, language: str) -> str:
    """A chart tick: "05-25" in English, "۰۳/۰۴" (Jalali month/day) in Persian."""
    if language != "fa":
        return f"{day:%m-%d}"
    solar = jalali(day)
    return persian_digits(f"{solar.month:02d}/{solar.day:02d}")


def year_of(day: date, language: str) -> str:
    """The year a date falls in, in the reader's calendar: "2026", "۱۴۰۵"."""
    return persian_digits(str(jalali(day).year)) if language == "fa" else str(day.year)


def clock(moment: time | datetime, language: str) -> str:
    """A time of day on the 24-hour clock: "09:30", "۰۹:۳۰"."""
    text = f"{moment:%H:%M}"
    return persian_digits(text) if language == "fa" else text


def moment(instant: datetime, language: str) -> str:
    """An instant in its own timezone, named: "2026-05-25 09:30 UTC", "۴ خرداد ۱۴۰۵، ۰۹:۳۰ (UTC)"."""
    zone = instant.tzname() or "UTC"
    if language != "fa":
        return f"{instant:%Y-%m-%d %H:%M} {zone}"
    return f"{calendar_date(instant.date(), language)}، {clock(instant, language)} ({persian_digits(zone)})"
