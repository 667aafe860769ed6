"""From answers to results: item and dimension figures, the 20–100 score, its stage, the gap.

Pure functions over plain values; nothing here knows Slack or the database. Every figure
carries its respondent count and is withheld — mean, share and distribution all `None` —
when its group is smaller than the anonymity threshold, or when showing it would let a
reader work out a smaller group by subtraction (see `suppress`).

numpy is imported by the functions that compute with it, not here: a server that reads nothing
(idle, or only answering taps) does without its 16 MB.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.domain import student_t
from bot.domain.vocabulary import DEPARTMENTS, EVERYONE, GROUPS, MARKETING, SALES

if TYPE_CHECKING:
    import numpy

#: The article's bands on the 20–100 scale: 20–39, 40–59, 60–79, 80–100.
STAGES = ("undefined", "defined", "aligned", "integrated")
BAND_FLOORS = (20.0, 40.0, 60.0, 80.0)
CONFIDENCE = 0.95
#: The rolling window, in weeks, that every figure is computed over.
WINDOW_WEEKS = 8


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
    """The 20–100 score of a group over the scored items, with a 95 % interval.

    The company's score is the mean of the two departments' (see `company_composite`).
    """

    respondents: int | None = None
    score: float | None = None
    low: float | None = None
    high: float | None = None
    items: int = 0
    """How many scored statements the score rests on (for the company: those both teams rated)."""
    of_items: int = 0
    """How many scored statements the instrument has: the score measures all of them."""
    withheld_team: str | None = None
    """The company only: the department whose score is withheld, so the company's is withheld too
    rather than silently being the other team's."""
    variance: float | None = field(default=None, repr=False, compare=False)
    """The score's variance on the 1–5 scale, and its degrees of freedom (for combining)."""
    freedom: float | None = field(default=None, repr=False, compare=False)

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


def _no_sums() -> numpy.ndarray:
    import numpy  # with the first reading, not at import: see the module docstring

    return numpy.zeros((3, 0, 0))


@dataclass(frozen=True)
class Moments:
    """What the interval needs about how one department's people answered, and nothing of any one of them.

    For each pair of scored statements (k, l), sums over the department's people of products of
    each person's window total and count of ratings: Σ tₖ·tₗ, Σ tₖ·nₗ, Σ nₖ·nₗ. A person who rated
    k and l, or k twice, makes these differ from independent ratings; that is exactly what the
    interval has to account for. Held as a (3, statements, statements) array (`bot.domain.tallies`
    works them out from the rollups).
    """

    statements: tuple[str, ...] = ()
    sums: numpy.ndarray = field(default_factory=_no_sums, compare=False, repr=False)

    @classmethod
    def of_pairs(cls, cross: Mapping[tuple[str, str], Sequence[float]]) -> Moments:
        import numpy  # with the first reading, not at import: see the module docstring

        statements = tuple(sorted({k for k, _ in cross} | {l for _, l in cross}))  # noqa: E741
        at = {statement: index for index, statement in enumerate(statements)}
        sums = numpy.zeros((3, len(statements), len(statements)))
        for (k, l), values in cross.items():  # noqa: E741
            sums[:, at[k], at[l]] = values
        return cls(statements, sums)

    @property
    def cross(self) -> dict[tuple[str, str], tuple[float, float, float]]:
        """(k, l) → the three sums, for the pairs someone rated both of."""
        return {
            (k, l): (float(self.sums[0, a, b]), float(self.sums[1, a, b]), float(self.sums[2, a, b]))
            for a, k in enumerate(self.statements)
            for b, l in enumerate(self.statements)  # noqa: E741
            if self.sums[2, a, b]
        }

    def among(self, ids: Sequence[str]) -> numpy.ndarray:
        """The sums between the given statements, (3, len(ids), len(ids)); zero for one nobody rated."""
        import numpy  # with the first reading, not at import: see the module docstring

        at = {statement: index for index, statement in enumerate(self.statements)}
        known = [index for index, statement in enumerate(ids) if statement in at]
        where = [at[ids[index]] for index in known]
        found = numpy.zeros((3, len(ids), len(ids)))
        found[numpy.ix_(range(3), known, known)] = self.sums[numpy.ix_(range(3), where, where)]
        return found


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
    moments: Mapping[str, Moments] = field(default_factory=dict)
    """department → its people's cross-statement sums, for the interval."""


def tally(responses: Iterable[Response], items: Mapping[str, ItemMeta]) -> Tally:
    """Count single responses; ratings outside 1–5 and unknown items are ignored."""
    ratings: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    dimension_people: dict[tuple[str, str], set[str]] = defaultdict(set)
    scored_people: dict[str, set[str]] = defaultdict(set)
    totals: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for response in responses:
        meta = items.get(response.item_id)
        if meta is None or not 1 <= response.score <= 5:
            continue
        if meta.scored and response.department in DEPARTMENTS:
            total = totals[response.department, response.respondent][response.item_id]
            total[0] += response.score
            total[1] += 1
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
        moments={
            department: moments_of(person for (d, _), person in totals.items() if d == department)
            for department in DEPARTMENTS
        },
    )


def moments_of(people: Iterable[Mapping[str, Sequence[int]]]) -> Moments:
    """The cross-statement sums of a department from each person's {statement: (total, count)}."""
    cross: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for person in people:
        for k, (t_k, n_k) in person.items():
            for l, (t_l, n_l) in person.items():  # noqa: E741 — k and l are the statements' usual names
                sums = cross[k, l]
                sums[0] += t_k * t_l
                sums[1] += t_k * n_l
                sums[2] += n_k * n_l
    return Moments.of_pairs(cross)


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
    instrument = sum(1 for meta in items.values() if meta.scored)
    composite_counts = {group: counted.scored_people.get(group, 0) for group in GROUPS}
    shown = suppress(composite_counts, threshold)
    composites = {}
    for department in DEPARTMENTS:
        per_item = {i: c for (g, i), c in ratings.items() if g == department and items[i].scored}
        if department in shown and per_item:
            composites[department] = _composite(
                per_item,
                composite_counts[department],
                counted.moments.get(department, Moments()),
                instrument,
            )
        else:
            composites[department] = Composite(of_items=instrument)
    scored_by = {d: {i for (g, i) in ratings if g == d and items[i].scored} for d in DEPARTMENTS}
    composites[EVERYONE] = company_composite(
        composites[SALES], composites[MARKETING], len(scored_by[SALES] & scored_by[MARKETING])
    )
    return Results(
        items=item_figures,
        dimensions=dimension_figures,
        composites=composites,
        item_gaps=_gaps(item_figures),
        dimension_gaps=_gaps(dimension_figures),
    )


def _mean(counts: Sequence[int]) -> float:
    return sum(value * n for value, n in enumerate(counts, start=1)) / sum(counts)


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


def _composite(
    per_item: Mapping[str, Sequence[int]], respondents: int, moments: Moments, instrument: int
) -> Composite:
    """20 × the mean of item means, with a 95 % interval for the score of the whole instrument.

    The interval has two parts. People: the variance of the mean of means by linearisation with
    each person as a cluster (the sandwich estimator survey statistics uses), so a person's several
    ratings — of one statement in several rounds, or of several statements — count as the one
    person they are; from the cross-statement sums of `Moments`. Statements: when the window holds
    only m of the instrument's K scored statements, the mean of the m stands for the mean of all
    K, and the spread of the statement means, times (1 − m/K), adds the uncertainty of that
    sample. The quantile is Student's t with one degree of freedom fewer than the people.
    """
    import numpy  # with the first reading, not at import: see the module docstring

    ids = sorted(per_item)
    m = len(ids)
    totals = numpy.array([sum(v * n for v, n in enumerate(per_item[i], start=1)) for i in ids], dtype=float)
    counts = numpy.array([sum(per_item[i]) for i in ids], dtype=float)
    means = totals / counts
    mean = float(means.mean())
    tt, tn, nn = moments.among(ids)
    residual = tt - tn * means[None, :] - tn.T * means[:, None] + nn * numpy.outer(means, means)
    weights = 1.0 / (m * counts)
    people = max(respondents, 2)
    variance = people / (people - 1) * max(float(weights @ residual @ weights), 0.0)
    if m < instrument:
        spread = float(means.var(ddof=1)) if m > 1 else 1.0
        variance += (1 - m / instrument) * spread / m
    return _bounded(
        Composite(
            respondents=respondents,
            score=20 * mean,
            items=m,
            of_items=instrument,
            variance=variance,
            freedom=float(people - 1),
        )
    )


def company_composite(sales: Composite, marketing: Composite, common_items: int) -> Composite:
    """The company's score: the mean of the two departments', so both teams weigh the same.

    Withheld when either is, saying which: a company figure made of one team would be that team's,
    and beside a withheld team's count it would let no one subtract anything only while it is
    not shown. Its variance is the mean's (the teams are different people), with Welch–Satterthwaite
    degrees of freedom.
    """
    withheld = [team.withheld for team in (sales, marketing)]
    if any(withheld):
        missing = SALES if withheld == [True, False] else MARKETING if withheld == [False, True] else None
        return Composite(of_items=sales.of_items or marketing.of_items, withheld_team=missing)
    variance = (sales.variance + marketing.variance) / 4
    parts = (sales.variance**2 / sales.freedom + marketing.variance**2 / marketing.freedom) / 16
    return _bounded(
        Composite(
            respondents=sales.respondents + marketing.respondents,
            score=(sales.score + marketing.score) / 2,
            items=common_items,
            of_items=sales.of_items,
            variance=variance,
            freedom=variance**2 / parts if parts > 0 else sales.freedom + marketing.freedom,
        )
    )


def _bounded(composite: Composite) -> Composite:
    """The composite with its interval, cut to the 20–100 scale."""
    spread = 20 * student_t.quantile((1 + CONFIDENCE) / 2, composite.freedom) * math.sqrt(composite.variance)
    return replace(
        composite,
        low=max(20.0, composite.score - spread),
        high=min(100.0, composite.score + spread),
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
