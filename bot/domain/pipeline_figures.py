"""What the pipeline says, per week or per quarter, each figure with its change since the period before.

- forecast accuracy: 1 − |actual − forecast| ÷ forecast, for the period's forecast (a quarter's own,
  or the sum of its months' when only months were forecast);
- MQL→SQL conversion: of the leads that became MQLs in the period, the share that became SQLs;
- rejected MQLs: of the same leads, the share sales rejected, with the most frequent reasons;
- median hours from becoming an MQL to the first sales touch, for those MQLs touched;
- marketing's share of won revenue: of the deals won (closed) in the period whose source is known,
  the share of the amount that marketing sourced.

Privacy: a figure is computed only from at least `threshold` records, and, where the export named
owners, from at least `threshold` different owners; otherwise it is withheld, like a small group's
answers. No figure is ever computed per owner: owners are only counted.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.pipeline import MARKETING, REJECTED, SALES, WON, Deal, Forecast, Lead

WEEK, QUARTER = "week", "quarter"
FORECAST_ACCURACY = "forecast_accuracy"
MQL_TO_SQL = "mql_to_sql"
MQL_REJECTED = "mql_rejected"
HOURS_TO_FIRST_TOUCH = "hours_to_first_touch"
MARKETING_SHARE_OF_WON = "marketing_share_of_won"
FIGURES = (FORECAST_ACCURACY, MQL_TO_SQL, MQL_REJECTED, HOURS_TO_FIRST_TOUCH, MARKETING_SHARE_OF_WON)
TOP_REASONS = 3

STATEMENTS: dict[str, tuple[str, ...]] = {
    FORECAST_ACCURACY: ("hbr01", "hbr15"),
    MQL_TO_SQL: ("hbr07", "ext06"),
    MQL_REJECTED: ("hbr07", "ext06"),
    HOURS_TO_FIRST_TOUCH: ("ext06",),
    MARKETING_SHARE_OF_WON: ("hbr16", "hbr12"),
}
"""The pulse statements (bot/domain/question_bank.toml) each figure speaks to."""


def period_of(day: date, granularity: str) -> str:
    """`2026-W05` (ISO week) or `2026-Q1`."""
    if granularity == WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_before(period: str) -> str:
    year, _, rest = period.partition("-")
    if rest.startswith("W"):
        monday = date.fromisocalendar(int(year), int(rest[1:]), 1)
        return period_of(monday - timedelta(days=7), WEEK)
    quarter = int(rest[1:])
    return f"{int(year) - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"


def _months_of(quarter: str) -> tuple[str, ...]:
    year, _, rest = quarter.partition("-Q")
    first = (int(rest) - 1) * 3 + 1
    return tuple(f"{year}-{month:02d}" for month in range(first, first + 3))


@dataclass(frozen=True)
class Figure:
    """One figure for a period: `value` None when there is nothing to compute it from or it is
    withheld (`withheld`: too few records or owners behind it)."""

    name: str
    value: float | None
    previous: float | None
    count: int
    withheld: bool = False

    @property
    def change(self) -> float | None:
        return None if self.value is None or self.previous is None else self.value - self.previous


@dataclass(frozen=True)
class PipelineFigures:
    period: str
    figures: dict[str, Figure]
    reasons: tuple[tuple[str, int], ...] = ()
    """The most frequent rejection reasons this period, with how many MQLs each; empty when withheld."""

    @property
    def any_shown(self) -> bool:
        return any(figure.value is not None for figure in self.figures.values())


@dataclass
class _Tally:
    """What one period's records add up to."""

    owners: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in FIGURES})
    counts: Counter[str] = field(default_factory=Counter)
    mqls: int = 0
    sqls: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    touch_hours: list[float] = field(default_factory=list)
    won: float = 0.0
    won_by_marketing: float = 0.0

    def note(self, name: str, owner: str | None) -> None:
        self.counts[name] += 1
        if owner:
            self.owners[name].add(owner)


def compute(
    leads: Iterable[Lead],
    deals: Iterable[Deal],
    forecasts: Iterable[Forecast],
    period: str,
    zone: ZoneInfo,
    threshold: int,
) -> PipelineFigures:
    """The figures for `period` (a week or a quarter, see `period_of`) and the period before it."""
    granularity = WEEK if "-W" in period else QUARTER
    before = period_before(period)
    tallies = {period: _Tally(), before: _Tally()}

    def tally_for(moment: datetime | date | None) -> _Tally | None:
        if moment is None:
            return None
        day = moment.astimezone(zone).date() if isinstance(moment, datetime) else moment
        return tallies.get(period_of(day, granularity))

    for lead in leads:
        tally = tally_for(lead.mql_at)
        if tally is None or lead.mql_at is None:
            continue
        tally.mqls += 1
        for name in (MQL_TO_SQL, MQL_REJECTED):
            tally.note(name, lead.owner)
        tally.sqls += lead.sql_at is not None
        if lead.decision == REJECTED:
            tally.rejected += 1
            if lead.rejection_reason:
                tally.reasons[lead.rejection_reason.strip()] += 1
        if lead.first_touch_at is not None and lead.first_touch_at >= lead.mql_at:
            tally.touch_hours.append((lead.first_touch_at - lead.mql_at).total_seconds() / 3600)
            tally.note(HOURS_TO_FIRST_TOUCH, lead.owner)
    for deal in deals:
        tally = tally_for(deal.close_date)
        if (
            tally is None
            or deal.outcome != WON
            or deal.amount is None
            or deal.source not in (MARKETING, SALES)
        ):
            continue
        tally.note(MARKETING_SHARE_OF_WON, deal.owner)
        tally.won += float(deal.amount)
        tally.won_by_marketing += float(deal.amount) if deal.source == MARKETING else 0.0
    by_period = {forecast.period: forecast for forecast in forecasts}
    accuracy = {key: _accuracy(by_period, key) for key in (period, before)}

    def figure(name: str) -> Figure:
        now, then = tallies[period], tallies[before]
        value, previous = _value(name, now, accuracy[period]), _value(name, then, accuracy[before])
        count = 1 if name == FORECAST_ACCURACY and value is not None else now.counts[name]
        if name != FORECAST_ACCURACY:
            if _too_few(now, name, threshold):
                return Figure(name, None, None, count, withheld=now.counts[name] > 0)
            previous = None if _too_few(then, name, threshold) else previous
        return Figure(name, value, previous, count)

    figures = {name: figure(name) for name in FIGURES}
    shown_reasons = () if figures[MQL_REJECTED].value is None else _top_reasons(tallies[period], threshold)
    return PipelineFigures(period, figures, shown_reasons)


def _too_few(tally: _Tally, name: str, threshold: int) -> bool:
    owners = tally.owners[name]
    return tally.counts[name] < threshold or (bool(owners) and len(owners) < threshold)


def _top_reasons(tally: _Tally, threshold: int) -> tuple[tuple[str, int], ...]:
    """Reasons given for at least `threshold` MQLs, so a rare reason cannot point at one lead's owner."""
    common = [(reason, count) for reason, count in tally.reasons.most_common() if count >= threshold]
    return tuple(common[:TOP_REASONS])


def _value(name: str, tally: _Tally, accuracy: float | None) -> float | None:
    if name == FORECAST_ACCURACY:
        return accuracy
    if name == MQL_TO_SQL:
        return tally.sqls / tally.mqls if tally.mqls else None
    if name == MQL_REJECTED:
        return tally.rejected / tally.mqls if tally.mqls else None
    if name == HOURS_TO_FIRST_TOUCH:
        return statistics.median(tally.touch_hours) if tally.touch_hours else None
    return tally.won_by_marketing / tally.won if tally.won else None


def _accuracy(by_period: dict[str, Forecast], period: str) -> float | None:
    """1 − |actual − forecast| ÷ forecast, for the period's own forecast or (a quarter) its months'."""
    chosen = [by_period[period]] if period in by_period else []
    if not chosen and "-Q" in period:
        chosen = [by_period[month] for month in _months_of(period) if month in by_period]
    known = [forecast for forecast in chosen if forecast.actual is not None]
    if not known or len(known) < len(chosen):
        return None
    forecast_total = sum(float(forecast.forecast) for forecast in known)
    actual_total = sum(float(forecast.actual or 0) for forecast in known)
    if forecast_total <= 0:
        return None
    return 1 - abs(actual_total - forecast_total) / forecast_total
