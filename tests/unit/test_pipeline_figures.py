"""The pipeline's figures, checked against sums done by hand; withheld below the anonymity threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.pipeline import ACCEPTED, LOST, MARKETING, REJECTED, SALES, WON, Deal, Forecast, Lead
from bot.domain.pipeline_figures import (
    FORECAST_ACCURACY,
    HOURS_TO_FIRST_TOUCH,
    MARKETING_SHARE_OF_WON,
    MQL_REJECTED,
    MQL_TO_SQL,
    QUARTER,
    WEEK,
    compute,
    period_before,
    period_of,
)

ZONE = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # 2026-W11, in 2026-Q1


def lead(n: int, mql_at: datetime, *, sql=False, rejected=None, touch_hours=None, owner=None) -> Lead:
    return Lead(
        record_id=f"L{n}",
        owner=owner if owner is not None else f"o{n}",
        created_at=mql_at - timedelta(days=1),
        mql_at=mql_at,
        decision=REJECTED if rejected else (ACCEPTED if sql else None),
        rejection_reason=rejected,
        sql_at=mql_at + timedelta(days=2) if sql else None,
        first_touch_at=mql_at + timedelta(hours=touch_hours) if touch_hours is not None else None,
    )


def deal(n: int, closed: date, amount: int, source: str, outcome: str = WON, owner=None) -> Deal:
    return Deal(f"D{n}", owner or f"o{n}", None, Decimal(amount), "Closed", closed, outcome, source)


def test_a_week_by_hand():
    # ten MQLs this week: 4 SQLs, 3 rejected (2 "No budget", 1 "Too small"), touched after 1…10 hours
    this_week = [
        lead(
            n,
            MONDAY + timedelta(hours=n),
            sql=n < 4,
            rejected=None if n < 7 else ("No budget" if n < 9 else "Too small"),
            touch_hours=n + 1,
        )
        for n in range(10)
    ]
    # last week: 5 MQLs, 1 SQL, 0 rejected
    last_week = [lead(20 + n, MONDAY - timedelta(days=7), sql=n == 0) for n in range(5)]
    deals = [
        deal(1, date(2026, 3, 10), 6000, MARKETING),
        deal(2, date(2026, 3, 11), 3000, SALES),
        deal(3, date(2026, 3, 11), 1000, MARKETING),
        deal(4, date(2026, 3, 12), 5000, MARKETING, outcome=LOST),  # lost: not revenue
        deal(5, date(2026, 3, 12), 500, MARKETING),
        deal(6, date(2026, 3, 13), 500, SALES),
    ]
    result = compute(this_week + last_week, deals, [], "2026-W11", ZONE, threshold=2)
    figures = result.figures
    assert figures[MQL_TO_SQL].value == pytest.approx(4 / 10)
    assert figures[MQL_TO_SQL].previous == pytest.approx(1 / 5)
    assert figures[MQL_TO_SQL].change == pytest.approx(0.2)
    assert figures[MQL_REJECTED].value == pytest.approx(3 / 10)
    assert result.reasons == (("No budget", 2),)  # "Too small" was given once: below the threshold of 2
    assert figures[HOURS_TO_FIRST_TOUCH].value == pytest.approx(5.5)  # median of 1…10
    assert figures[MARKETING_SHARE_OF_WON].value == pytest.approx(7500 / 11000)
    assert figures[FORECAST_ACCURACY].value is None


def test_forecast_accuracy_per_quarter_and_from_its_months():
    forecasts = [
        Forecast("2025-Q4", Decimal(120000), Decimal(112500)),
        Forecast("2026-01", Decimal(50000), Decimal(40000)),
        Forecast("2026-02", Decimal(50000), Decimal(55000)),
        Forecast("2026-03", Decimal(50000), Decimal(46000)),
    ]
    accuracy = compute([], [], forecasts, "2026-Q1", ZONE, threshold=5).figures[FORECAST_ACCURACY]
    assert accuracy.value == pytest.approx(1 - abs(141000 - 150000) / 150000)  # 0.94
    assert accuracy.previous == pytest.approx(1 - 7500 / 120000)  # 0.9375
    unfinished = forecasts[:3] + [Forecast("2026-03", Decimal(50000), None)]
    assert compute([], [], unfinished, "2026-Q1", ZONE, 5).figures[FORECAST_ACCURACY].value is None


def test_too_few_records_or_owners_withhold_a_figure():
    few = [lead(n, MONDAY, sql=True, touch_hours=2) for n in range(4)]
    figures = compute(few, [], [], "2026-W11", ZONE, threshold=5).figures
    assert figures[MQL_TO_SQL].value is None and figures[MQL_TO_SQL].withheld
    one_owner = [lead(n, MONDAY, sql=True, touch_hours=2, owner="same") for n in range(20)]
    figures = compute(one_owner, [], [], "2026-W11", ZONE, threshold=5).figures
    assert all(figures[name].value is None for name in (MQL_TO_SQL, MQL_REJECTED, HOURS_TO_FIRST_TOUCH))
    nothing = compute([], [], [], "2026-W11", ZONE, threshold=5).figures
    assert not nothing[MQL_TO_SQL].withheld and nothing[MQL_TO_SQL].value is None


def test_a_previous_period_too_small_to_show_gives_no_trend():
    now = [lead(n, MONDAY, sql=True) for n in range(5)]
    then = [lead(10 + n, MONDAY - timedelta(days=7)) for n in range(2)]
    figure = compute(now + then, [], [], "2026-W11", ZONE, threshold=5).figures[MQL_TO_SQL]
    assert (figure.value, figure.previous, figure.change) == (1.0, None, None)


def test_periods_follow_the_workspace_timezone():
    sunday_night_utc = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin: week 11
    figures = compute([lead(n, sunday_night_utc) for n in range(5)], [], [], "2026-W11", ZONE, 5).figures
    assert figures[MQL_TO_SQL].count == 5


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)), st.sampled_from([WEEK, QUARTER]))
def test_the_period_before_holds_the_day_before_the_period_starts(day, granularity):
    if granularity == WEEK:
        start = day - timedelta(days=day.weekday())
    else:
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    assert period_before(period_of(day, granularity)) == period_of(start - timedelta(days=1), granularity)
