"""The weekly leadership digest as values: what it says, before any template turns it into text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.domain.nudges import Nudge
from bot.domain.scoring import Composite, DimensionMean, Results
from bot.domain.snapshot import Snapshot
from bot.domain.vocabulary import DEPARTMENTS, EVERYONE, MARKETING, SALES

if TYPE_CHECKING:
    from bot.domain.action_items import FollowUp
    from bot.domain.meetings import Adherence
    from bot.domain.pipeline_digest import PipelineSection

MAX_GAPS = 3
MAX_COMMENTS = 3
MAX_NUDGES = 4
COMMENT_LENGTH = 280


@dataclass(frozen=True)
class Gap:
    item_id: str
    sales: float
    marketing: float

    @property
    def gap(self) -> float:
        return self.marketing - self.sales


@dataclass(frozen=True)
class TrendPoint:
    """One week of composite scores; None is a group withheld under the anonymity threshold."""

    week: date
    sales: float | None
    marketing: float | None
    everyone: float | None
    low: float | None = None
    """The 95 % interval of the company (everyone) score, drawn as a band around its line."""
    high: float | None = None
    baseline: bool = False
    """A baseline (every scored statement, once) was sent in this week: the chart marks it."""


@dataclass(frozen=True)
class DimensionRow:
    """One dimension's mean (1–5) for sales and marketing and the gap between them (marketing −
    sales); None where a group is withheld, and the gap only when both are shown."""

    dimension: str
    sales: float | None
    marketing: float | None
    gap: float | None


def dimension_rows(results: Results) -> tuple[DimensionRow, ...]:
    """Every dimension either department has a figure for, withheld or not, in id order."""
    dimensions = sorted({dimension for group, dimension in results.dimensions if group in DEPARTMENTS})

    def mean(group: str, dimension: str) -> float | None:
        figure = results.dimensions.get((group, dimension))
        return None if figure is None else figure.mean

    return tuple(
        DimensionRow(
            dimension,
            mean(SALES, dimension),
            mean(MARKETING, dimension),
            results.dimension_gaps.get(dimension),
        )
        for dimension in dimensions
    )


@dataclass(frozen=True)
class DigestView:
    week: date
    stage: str | None
    """The settled stage (it changes only when the interval clears a band boundary)."""
    composites: Mapping[str, Composite]
    change_week: float | None
    change_month: float | None
    gaps: tuple[Gap, ...]
    weakest: DimensionMean | None
    strongest: DimensionMean | None
    participation: Mapping[str, float | None]
    comments: tuple[str, ...]
    nudges: tuple[Nudge, ...] = ()
    meetings: Adherence | None = None
    """Joint meetings held against planned lately; counts of meetings, never of people."""
    snapshot: Snapshot | None = None
    """What the figures rest on: the closed rounds, and the threshold in force."""
    answering: int | None = None
    """The preview only: people who answered a round still open so far, when at least the threshold."""
    away: int = 0
    """People of the week's rounds who were away, on leave or on a holiday of theirs: not asked, so
    never counted as not answering."""
    own_time: bool = False
    """Some of the week's rounds went at each person's own time, and closed when the last window ended."""
    follow_ups: tuple[FollowUp, ...] = ()
    """Action items leaders took on, and how their topics moved since."""
    pipeline: PipelineSection | None = None
    """What the CRM pipeline says, beside the statements it speaks to (bot/domain/pipeline_digest.py)."""


def change(now: Composite, then: Composite | None) -> float | None:
    """Points gained or lost on the 20–100 scale; None unless both weeks are shown."""
    if then is None or now.withheld or then.withheld:
        return None
    return now.score - then.score


def widest_gaps(results: Results, limit: int = MAX_GAPS) -> tuple[Gap, ...]:
    """The statements on which marketing and sales disagree most (either way)."""
    gaps = [
        Gap(item_id, results.items[SALES, item_id].mean, results.items[MARKETING, item_id].mean)
        for item_id in results.item_gaps
    ]
    gaps.sort(key=lambda g: (-abs(g.gap), g.item_id))
    return tuple(gaps[:limit])


def extreme_dimensions(results: Results) -> tuple[DimensionMean | None, DimensionMean | None]:
    """The weakest and strongest dimension for everyone (None when fewer than two are shown)."""
    shown = sorted(
        (
            DimensionMean(dimension, figure.mean)
            for (group, dimension), figure in results.dimensions.items()
            if group == EVERYONE and not figure.withheld
        ),
        key=lambda d: (d.mean, d.dimension),
    )
    if len(shown) < 2:
        return None, None
    return shown[0], shown[-1]


def shareable_comments(
    comments: Sequence[tuple[str | None, str]], results: Results, limit: int = MAX_COMMENTS
) -> tuple[str, ...]:
    """Comments from departments whose results are shown (so the group is large enough), newest
    first, shortened; never from people whose department is unknown or from a withheld group."""
    shown = {d for d in DEPARTMENTS if not results.composites[d].withheld}
    picked = []
    for department, text in comments:
        if department in shown and text.strip():
            text = " ".join(text.split())
            picked.append(text if len(text) <= COMMENT_LENGTH else text[: COMMENT_LENGTH - 1] + "…")
        if len(picked) == limit:
            break
    return tuple(picked)


def compose(
    week: date,
    now: Results,
    last_week: Results | None,
    month_ago: Results | None,
    stage: str | None,
    participation: Mapping[str, float | None],
    comments: Sequence[tuple[str | None, str]],
    nudges: Sequence[Nudge] = (),
    meetings: Adherence | None = None,
    snapshot: Snapshot | None = None,
) -> DigestView:
    weakest, strongest = extreme_dimensions(now)
    everyone = now.composites[EVERYONE]
    return DigestView(
        week=week,
        stage=stage,
        composites=now.composites,
        change_week=change(everyone, last_week.composites[EVERYONE] if last_week else None),
        change_month=change(everyone, month_ago.composites[EVERYONE] if month_ago else None),
        gaps=widest_gaps(now),
        weakest=weakest,
        strongest=strongest,
        participation=participation,
        comments=shareable_comments(comments, now),
        nudges=tuple(nudges),
        meetings=meetings,
        snapshot=snapshot,
    )
