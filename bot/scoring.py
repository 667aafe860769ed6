"""From answers to results: item and dimension figures, the 20–100 score, its stage, the gap.

Pure functions over plain values; nothing here knows Slack or the database. Every figure
carries its respondent count and is withheld — mean, share and distribution all `None` —
when its group is smaller than the anonymity threshold, or when showing it would let a
reader work out a smaller group by subtraction (see `suppress`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SALES, MARKETING, EVERYONE = "sales", "marketing", "everyone"
DEPARTMENTS = (SALES, MARKETING)
GROUPS = (SALES, MARKETING, EVERYONE)
#: The article's bands on the 20–100 scale: 20–39, 40–59, 60–79, 80–100.
STAGES = ("undefined", "defined", "aligned", "integrated")
BAND_FLOORS = (20.0, 40.0, 60.0, 80.0)
Z_95 = 1.96


@dataclass(frozen=True)
class Response:
    """One rating. `respondent` is any stable pseudonym: only distinct counts are used."""

    respondent: str
    item_id: str
    department: str | None
    score: int


@dataclass(frozen=True)
class ItemMeta:
    dimension: str
    scored: bool


@dataclass(frozen=True)
class Figure:
    """A group's result on one item or dimension; every number is None when withheld."""

    respondents: int | None = None
    """None when withheld: a small group shows "not enough responses", never a count."""
    mean: float | None = None
    favourable: float | None = None
    """Share of 4s and 5s."""
    distribution: tuple[int, ...] | None = None
    """Counts of 1s … 5s (items only)."""

    @property
    def withheld(self) -> bool:
        return self.mean is None


@dataclass(frozen=True)
class Composite:
    """The 20–100 score of a group over the scored items, with a 95 % interval."""

    respondents: int | None = None
    score: float | None = None
    low: float | None = None
    high: float | None = None
    items: int = 0

    @property
    def withheld(self) -> bool:
        return self.score is None

    @property
    def stage(self) -> str | None:
        return stage_of(self.score) if self.score is not None else None


@dataclass(frozen=True)
class Results:
    items: Mapping[tuple[str, str], Figure]
    """(group, item id) → figure."""
    dimensions: Mapping[tuple[str, str], Figure]
    """(group, dimension id) → figure."""
    composites: Mapping[str, Composite]
    item_gaps: Mapping[str, float]
    """Marketing minus sales, per item, only where both groups are shown."""
    dimension_gaps: Mapping[str, float]


def stage_of(score: float) -> str:
    """The band a 20–100 score falls in (a mean rating below 2.0 is Undefined, and so on)."""
    index = sum(1 for floor in BAND_FLOORS[1:] if score >= floor)
    return STAGES[index]


def settled_stage(previous: str | None, composite: Composite) -> str | None:
    """The stage to report: it changes only when the whole interval has left the previous band.

    So a score wobbling around a boundary does not flip the stage from week to week.
    """
    if composite.withheld:
        return previous
    if previous is None:
        return composite.stage
    index = STAGES.index(previous)
    floor = BAND_FLOORS[index]
    ceiling = BAND_FLOORS[index + 1] if index + 1 < len(BAND_FLOORS) else math.inf
    if composite.low >= ceiling or composite.high < floor:
        return composite.stage
    return previous


def group_of(department: str | None) -> tuple[str, ...]:
    """The groups a response counts in: its department (if known) and everyone."""
    return (department, EVERYONE) if department in DEPARTMENTS else (EVERYONE,)


def suppress(counts: Mapping[str, int], threshold: int) -> set[str]:
    """The groups that may be shown, given each group's respondent count.

    A department is shown only with at least `threshold` respondents; and since everyone =
    sales + marketing + people of unknown department, whatever is hidden must add up to none or
    at least `threshold` people, or subtracting the shown departments from "everyone" would
    reveal it. Departments are hidden, smallest first, until that holds.
    """
    total = counts.get(EVERYONE, 0)
    shown = {d for d in DEPARTMENTS if counts.get(d, 0) >= threshold}
    hidden = total - sum(counts.get(d, 0) for d in shown)
    while 0 < hidden < threshold and shown:
        smallest = min(shown, key=lambda d: (counts.get(d, 0), d))
        shown.discard(smallest)
        hidden += counts.get(smallest, 0)
    if total >= threshold:
        shown.add(EVERYONE)
    return shown


def _figure(scores: Sequence[int], respondents: int, with_distribution: bool) -> Figure:
    distribution = tuple(scores.count(value) for value in range(1, 6)) if with_distribution else None
    return Figure(
        respondents=respondents,
        mean=sum(scores) / len(scores),
        favourable=sum(1 for s in scores if s >= 4) / len(scores),
        distribution=distribution,
    )


def _composite(per_item: Mapping[str, list[int]], respondents: int, pooled_variance: float) -> Composite:
    """20 × the mean of item means, with a normal interval from each item mean's variance."""
    means = [sum(scores) / len(scores) for scores in per_item.values()]
    k = len(means)
    variance = 0.0
    for scores in per_item.values():
        n = len(scores)
        item_variance = _sample_variance(scores) if n > 1 else pooled_variance
        variance += item_variance / n
    spread = Z_95 * math.sqrt(variance) / k
    mean = sum(means) / k
    return Composite(
        respondents=respondents,
        score=20 * mean,
        low=max(20.0, 20 * (mean - spread)),
        high=min(100.0, 20 * (mean + spread)),
        items=k,
    )


def _sample_variance(scores: Sequence[int]) -> float:
    mean = sum(scores) / len(scores)
    return sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)


def score(responses: Iterable[Response], items: Mapping[str, ItemMeta], threshold: int) -> Results:
    """Everything the digest, the Home tab and the export show, withheld where it must be."""
    scores: dict[tuple[str, str], list[int]] = defaultdict(list)
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    dimension_people: dict[tuple[str, str], set[str]] = defaultdict(set)
    scored_people: dict[str, set[str]] = defaultdict(set)
    all_scores: list[int] = []
    for response in responses:
        meta = items.get(response.item_id)
        if meta is None or not 1 <= response.score <= 5:
            continue
        all_scores.append(response.score)
        for group in group_of(response.department):
            scores[group, response.item_id].append(response.score)
            people[group, response.item_id].add(response.respondent)
            dimension_people[group, meta.dimension].add(response.respondent)
            if meta.scored:
                scored_people[group].add(response.respondent)

    item_figures = _by_group(
        {key: len(p) for key, p in people.items()},
        threshold,
        lambda key, n: _figure(scores[key], n, with_distribution=True),
    )
    dimension_scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (group, item_id), values in scores.items():
        dimension_scores[group, items[item_id].dimension].append(sum(values) / len(values))
    dimension_figures = _by_group(
        {key: len(p) for key, p in dimension_people.items()},
        threshold,
        lambda key, n: Figure(
            respondents=n,
            mean=sum(dimension_scores[key]) / len(dimension_scores[key]),
            favourable=_favourable(scores, items, key),
        ),
    )
    pooled = _sample_variance(all_scores) if len(all_scores) > 1 else 1.0
    composite_counts = {group: len(scored_people.get(group, ())) for group in GROUPS}
    shown = suppress(composite_counts, threshold)
    composites = {}
    for group in GROUPS:
        per_item = {i: s for (g, i), s in scores.items() if g == group and items[i].scored}
        if group in shown and per_item:
            composites[group] = _composite(per_item, composite_counts[group], pooled)
        else:
            composites[group] = Composite()
    return Results(
        items=item_figures,
        dimensions=dimension_figures,
        composites=composites,
        item_gaps=_gaps(item_figures),
        dimension_gaps=_gaps(dimension_figures),
    )


def _favourable(
    scores: Mapping[tuple[str, str], list[int]], items: Mapping[str, ItemMeta], key: tuple[str, str]
) -> float:
    group, dimension = key
    values = [
        s for (g, i), ss in scores.items() if g == group and items[i].dimension == dimension for s in ss
    ]
    return sum(1 for s in values if s >= 4) / len(values)


def _by_group(counts: Mapping[tuple[str, str], int], threshold: int, build) -> dict[tuple[str, str], Figure]:
    """Figures for every (group, key), each subject by key to `suppress` across its groups."""
    keys = {key for _group, key in counts}
    figures = {}
    for key in keys:
        per_group = {group: counts.get((group, key), 0) for group in GROUPS}
        shown = suppress(per_group, threshold)
        for group in GROUPS:
            n = per_group[group]
            if n == 0:
                continue
            figures[group, key] = build((group, key), n) if group in shown else Figure()
    return figures


def _gaps(figures: Mapping[tuple[str, str], Figure]) -> dict[str, float]:
    keys = {key for _group, key in figures}
    gaps = {}
    for key in keys:
        sales, marketing = figures.get((SALES, key)), figures.get((MARKETING, key))
        if sales and marketing and not sales.withheld and not marketing.withheld:
            gaps[key] = marketing.mean - sales.mean
    return gaps
