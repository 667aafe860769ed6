"""Numbers and dates as each language writes them: Latin digits and ISO dates in English; Persian
digits, ٫ and ٪ and the Solar Hijri calendar (through jdatetime) in Persian."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import jdatetime
from hypothesis import given
from hypothesis import strategies as st

from bot.slack import formatting
from bot.slack.rendering import default_renderer

LATIN_DIGITS = set("0123456789")


def test_english_numbers_are_unchanged() -> None:
    assert formatting.number(42, "en") == "42"
    assert formatting.number(3.46, "en", 1) == "3.5"
    assert formatting.percent(0.875, "en") == "88%"
    assert formatting.signed(2.4, "en") == "+2"
    assert formatting.signed(-1.26, "en", 1) == "−1.3"


def test_persian_numbers_use_persian_digits_and_decimal_separator() -> None:
    assert formatting.number(1405, "fa") == "۱۴۰۵"
    assert formatting.number(3.46, "fa", 1) == "۳٫۵"
    assert formatting.signed(0.7, "fa", 1) == "+۰٫۷"
    assert formatting.signed(-2, "fa") == "−۲"


def test_a_persian_percentage_has_one_persian_percent_sign() -> None:
    assert formatting.percent(0.42, "fa") == "۴۲٪"
    assert formatting.percent(1, "fa") == "۱۰۰٪"


def test_a_change_that_rounds_to_zero_is_a_plain_plus_zero() -> None:
    assert formatting.signed(-0.2, "en") == "+0"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(min_value=0, max_value=2))
def test_persian_numbers_never_carry_a_latin_digit_and_read_back_to_the_english(value, places) -> None:
    persian = formatting.number(value, "fa", places)

    assert not LATIN_DIGITS & set(persian)
    back = persian.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹٫", "0123456789."))
    assert back == formatting.number(value, "en", places)


def test_english_dates_stay_gregorian_iso() -> None:
    assert formatting.calendar_date(date(2026, 5, 25), "en") == "2026-05-25"


def test_persian_dates_are_solar_hijri_with_the_month_name() -> None:
    assert formatting.calendar_date(date(2026, 5, 25), "fa") == "۴ خرداد ۱۴۰۵"
    assert formatting.calendar_date(date(2026, 3, 21), "fa") == "۱ فروردین ۱۴۰۵"  # Nowruz
    assert formatting.calendar_date(date(2026, 3, 20), "fa") == "۲۹ اسفند ۱۴۰۴"


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_persian_dates_agree_with_jdatetime(day) -> None:
    solar = jdatetime.date.fromgregorian(date=day)
    expected = f"{solar.day} {jdatetime.date.j_months_fa[solar.month - 1]} {solar.year}"

    written = formatting.calendar_date(day, "fa")

    assert written.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")) == expected
    assert not LATIN_DIGITS & set(written)


def test_times_and_instants() -> None:
    assert formatting.clock(time(9, 30), "en") == "09:30"
    assert formatting.clock(time(9, 30), "fa") == "۰۹:۳۰"
    tehran = datetime(2026, 5, 25, 9, 30, tzinfo=ZoneInfo("Asia/Tehran"))
    assert formatting.moment(datetime(2026, 5, 25, 13, 0, tzinfo=UTC), "en") == "2026-05-25 13:00 UTC"
    assert formatting.moment(tehran, "fa") == "۴ خرداد ۱۴۰۵، ۰۹:۳۰ (+۰۳۳۰)"


def test_chart_tick_dates_and_years() -> None:
    assert formatting.short_date(date(2026, 5, 25), "en") == "05-25"
    assert formatting.short_date(date(2026, 5, 25), "fa") == "۰۳/۰۴"
    assert formatting.year_of(date(2026, 3, 20), "fa") == "۱۴۰۴"
    assert formatting.year_of(date(2026, 3, 20), "en") == "2026"


def test_the_templates_filters_follow_the_readers_language() -> None:
    environments = default_renderer()._environments
    source = "{{ 0.425 | percent }} {{ 3.25 | number(1) }} {{ day | date }} {{ 7 | number }}"
    day = date(2026, 5, 25)

    english = environments["en"].from_string(source).render(day=day)
    persian = environments["fa"].from_string(source).render(day=day)

    assert english == "42% 3.2 2026-05-25 7"
    assert persian == "۴۲٪ ۳٫۲ ۴ خرداد ۱۴۰۵ ۷"
