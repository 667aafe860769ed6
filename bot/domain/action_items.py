"""Action items: what leaders took on from a nudge, and the digest's follow-up of whether it moved.

A nudge's key names its topic (`low_dimension:<dimension>`, `gap:<dimension or statement>`, …).
An action item remembers the figures shown for that topic when it was taken: the dimension's means
for sales, marketing and everyone, or the company's score when the nudge has no dimension. A later
digest compares them with the figures it shows itself, group by group, and only where both are
shown: a withheld group is never a number, then or now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bot.domain.scoring import Results
from bot.domain.vocabulary import DEPARTMENTS, EVERYONE

OPEN, DONE, DROPPED = "open", "done", "dropped"
STATUSES = (OPEN, DONE, DROPPED)
#: The digest follows up this many action items at most, the newest first.
MAX_FOLLOW_UPS = 3
#: A closed item is followed up for this many days after it was closed; an open one until closed.
FOLLOW_UP_DAYS = 56
#: What the baseline holds when the nudge has no dimension: the company's 20–100 score.
SCORE = "score"


@dataclass(frozen=True)
class ActionItem:
    id: int
    nudge_key: str
    title: str
    owner: str
    due: date
    status: str
    taken_on: date
    dimension: str | None
    baseline: Mapping[str, float]
    """Group → the figure shown when it was taken (a dimension mean, or the score under `SCORE`)."""
    closed_on: date | None = None


@dataclass(frozen=True)
class Movement:
    group: str
    then: float
    now: float


@dataclass(frozen=True)
class FollowUp:
    """One line of the digest: who took what on when, and how its topic has moved since."""

    item: ActionItem
    movements: tuple[Movement, ...]


def dimension_of_nudge(nudge_key: str, dimension_of: Mapping[str, str], dimensions: set[str]) -> str | None:
    """The dimension a nudge is about, if any: named in its key, or the dimension of the statement named."""
    _kind, _sep, subject = nudge_key.partition(":")
    if subject in dimensions:
        return subject
    return dimension_of.get(subject)


def shown_figures(results: Results | None, dimension: str | None) -> dict[str, float]:
    """The figures a digest may show for a topic: per group, the dimension's mean, or the company's
    score for a nudge without a dimension; a withheld group is left out."""
    if results is None:
        return {}
    if dimension is None:
        composite = results.composites.get(EVERYONE)
        return {SCORE: composite.score} if composite is not None and not composite.withheld else {}
    figures = {}
    for group in (*DEPARTMENTS, EVERYONE):
        figure = results.dimensions.get((group, dimension))
        if figure is not None and not figure.withheld:
            figures[group] = figure.mean
    return figures


def follow_ups(items: list[ActionItem], now: Results, today: date) -> tuple[FollowUp, ...]:
    """The action items the digest follows up (open ones, and those closed in the last weeks; never
    dropped ones), newest first, each with the movements of the groups shown both then and now."""
    recent = [
        item
        for item in items
        if item.taken_on <= today
        and (
            item.status == OPEN
            or (item.status == DONE and item.closed_on and (today - item.closed_on).days <= FOLLOW_UP_DAYS)
        )
    ]
    recent.sort(key=lambda item: (item.taken_on, item.id), reverse=True)
    found = []
    for item in recent[:MAX_FOLLOW_UPS]:
        current = shown_figures(now, item.dimension)
        movements = tuple(
            Movement(group, item.baseline[group], current[group])
            for group in (*DEPARTMENTS, EVERYONE, SCORE)
            if group in item.baseline and group in current
        )
        if item.dimension is not None:  # the teams; everyone only when neither team can be compared
            by_team = tuple(m for m in movements if m.group in DEPARTMENTS)
            movements = by_team or tuple(m for m in movements if m.group == EVERYONE)
        found.append(FollowUp(item, movements))
    return tuple(found)
