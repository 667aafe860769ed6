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

from bot.domain.vocabulary import DEPARTMENTS, EVERYONE, GROUPS, MARKETING, SALES

#: The article's bands on the 20–100 scale: 20–39, 40–59, 60–79, 80–100.
STAGES = ("undefined", "defined", "aligned", "integrated")
BAND_FLOORS = (20.0, 40.0, 60.0, 80.0)
Z_95 = 1.96


@dataclass(frozen=True)
class DimensionMean:
    dimension: str
    mean: float


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


@dataclass(frozen=True)
class Tally:
    """What scoring needs to know about a window's answers: counts only, no one's answers.

    The database can produce it (see `bot.domain.tallies`), so a window of a million answers never has
    to travel to Python one rating at a time; `tally` builds it from single responses.
    """

    ratings: Mapping[tuple[str, str], Sequence[int]]
    """(group, item id) → how many 1s … 5s."""
    item_people: Mapping[tuple[str, str], int]
    """(group, item id) → distinct people who rated the item."""
    dimension_people: Mapping[tuple[str, str], int]
    """(group, dimension id) → distinct people who rated any of its items."""
    scored_people: Mapping[str, int]
    """group → distinct people who rated any scored item."""


def tally(responses: Iterable[Response], items: Mapping[str, ItemMeta]) -> Tally:
    """Count single responses; ratings outside 1–5 and unknown items are ignored."""
    ratings: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    dimension_people: dict[tuple[str, str], set[str]] = defaultdict(set)
    scored_people: dict[str, set[str]] = defaultdict(set)
    for response in responses:
        meta = items.get(response.item_id)
        if meta is None or not 1 <= response.score <= 5:
            continue
        for group in group_of(response.department):
            ratings[group, response.item_id][response.score - 1] += 1
            people[group, response.item_id].add(response.respondent)
            dimension_people[group, meta.dimension].add(response.respondent)
            if meta.scored:
                scored_people[group].add(response.respondent)
    return Tally(
        ratings=dict(ratings),
        item_people={key: len(p) for key, p in people.items()},
        dimension_people={key: len(p) for key, p in dimension_people.items()},
        scored_people={group: len(p) for group, p in scored_people.items()},
    )


def score(responses: Iterable[Response], items: Mapping[str, ItemMeta], threshold: int) -> Results:
    """Everything the digest, the Home tab and the export show, withheld where it must be."""
    return score_tally(tally(responses, items), items, threshold)


def score_tally(counted: Tally, items: Mapping[str, ItemMeta], threshold: int) -> Results:
    """The results of a window from its counts (see `score` for single responses)."""
    ratings = {key: tuple(counts) for key, counts in counted.ratings.items() if sum(counts)}
    item_figures = _by_group(
        {key: n for key, n in counted.item_people.items() if key in ratings},
        threshold,
        lambda key, n: _figure(ratings[key], n, with_distribution=True),
    )
    per_dimension: dict[tuple[str, str], list[tuple[int, ...]]] = defaultdict(list)
    for (group, item_id), counts in ratings.items():
        per_dimension[group, items[item_id].dimension].append(counts)
    dimension_figures = _by_group(
        {key: n for key, n in counted.dimension_people.items() if key in per_dimension},
        threshold,
        lambda key, n: Figure(
            respondents=n,
            mean=sum(_mean(counts) for counts in per_dimension[key]) / len(per_dimension[key]),
            favourable=_favourable(_pooled(per_dimension[key])),
        ),
    )
    everyone = _pooled([counts for (group, _), counts in ratings.items() if group == EVERYONE])
    pooled = _variance(everyone) if sum(everyone) > 1 else 1.0
    composite_counts = {group: counted.scored_people.get(group, 0) for group in GROUPS}
    shown = suppress(composite_counts, threshold)
    composites = {}
    for group in GROUPS:
        per_item = [c for (g, i), c in ratings.items() if g == group and items[i].scored]
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


def _mean(counts: Sequence[int]) -> float:
    return sum(value * n for value, n in enumerate(counts, start=1)) / sum(counts)


def _variance(counts: Sequence[int]) -> float:
    """The sample variance of the ratings counted in `counts` (at least two of them)."""
    mean = _mean(counts)
    return sum(n * (value - mean) ** 2 for value, n in enumerate(counts, start=1)) / (sum(counts) - 1)


def _favourable(counts: Sequence[int]) -> float:
    """Share of 4s and 5s."""
    return (counts[3] + counts[4]) / sum(counts)


def _pooled(many: Iterable[Sequence[int]]) -> tuple[int, ...]:
    """The counts of several items added up, rating by rating."""
    return tuple(map(sum, zip(*many, strict=True))) or (0,) * 5


def _figure(counts: Sequence[int], respondents: int, with_distribution: bool) -> Figure:
    return Figure(
        respondents=respondents,
        mean=_mean(counts),
        favourable=_favourable(counts),
        distribution=tuple(counts) if with_distribution else None,
    )


def _composite(per_item: Sequence[Sequence[int]], respondents: int, pooled_variance: float) -> Composite:
    """20 × the mean of item means, with a normal interval from each item mean's variance."""
    k = len(per_item)
    variance = sum(
        (_variance(counts) if sum(counts) > 1 else pooled_variance) / sum(counts) for counts in per_item
    )
    spread = Z_95 * math.sqrt(variance) / k
    mean = sum(_mean(counts) for counts in per_item) / k
    return Composite(
        respondents=respondents,
        score=20 * mean,
        low=max(20.0, 20 * (mean - spread)),
        high=min(100.0, 20 * (mean + spread)),
        items=k,
    )


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
