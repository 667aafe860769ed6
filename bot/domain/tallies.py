"""Rolling windows from weekly counts, so the database does the counting and not Python.

The digest looks at many overlapping windows (an 8-week window ending this week, last week, …).
Ratings add up across weeks, so the database counts them once per week. People do not add
up: someone who answered in two weeks of a window is one respondent. So for each person and
statement the database gives the set of weeks they answered in, as a bit mask (bit k = k weeks
back), and a window counts everyone whose mask meets its own weeks. No rating of any one
person leaves the database.

Windows a week apart differ by one week in and one week out, so two digests side by side would
show what a single week's answers added. A week's ratings of a statement by one department
therefore count only when at least `threshold` people gave them: otherwise comparing two
weeks could single out a few people, however large each window is.

numpy is imported by the functions that count, not here: a server that reads nothing (idle, or
only answering taps) does without its 16 MB.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.scoring import ItemMeta, Moments, Tally, group_of
from bot.domain.vocabulary import DEPARTMENTS

if TYPE_CHECKING:
    import numpy

WEEK = timedelta(weeks=1)
#: Masks are 64-bit integers in both databases; one bit is kept clear for the sign.
MAX_WEEKS = 63


def week_back(at: datetime, moment: datetime) -> int:
    """Which week before `at` a moment falls in: 0 for (at − 1 week, at), 1 for the one before, …

    The right end is closed so that week k is exactly what a window ending k weeks before `at`
    no longer holds (windows cover [end − length, end)).
    """
    return -((moment - at) // WEEK) - 1


class People(dict[str, int]):
    """Each person read, numbered from 0 in the order first seen (`people[user_id]`), so that
    readings of different sources number one person alike."""

    def __missing__(self, person: str) -> int:
        self[person] = number = len(self)
        return number


@dataclass(frozen=True)
class RoundRatings:
    """One closed round's ratings, a row per person and department (see `storage.rollups`)."""

    week: int
    items: tuple[str, ...]
    """The round's statements: column j of `scores` is `items[j]`."""
    people: numpy.ndarray
    """Each row's person, as a number standing for them in this reading only."""
    departments: tuple[str | None, ...]
    department_of: numpy.ndarray
    """Each row's department, as its index in `departments`."""
    scores: numpy.ndarray
    """(rows, statements): the rating 1–5, or 0 where the row's person gave none."""


class WeeklyCounts:
    """One workspace's counts over the last `weeks` weeks, fed by the database, read per window."""

    def __init__(self, items: Mapping[str, ItemMeta], weeks: int, threshold: int) -> None:
        if not 0 < weeks <= MAX_WEEKS:
            raise ValueError(f"between 1 and {MAX_WEEKS} weeks, not {weeks}")
        self.items, self.weeks, self.threshold = items, weeks, threshold
        self._small: dict[tuple[str | None, str], int] = defaultdict(int)
        """(department, item id) → mask of the weeks in which too few of them rated it."""
        self._ratings: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0] * 5)
        self._pairs: dict[tuple[str | None, str], int] = {}
        """(department, item id) → its number in `_answered`."""
        self._answered: list[tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]] = []
        """(people, (department, item id) numbers, masks of weeks): who rated what when, in batches."""
        self._cross: dict[str, tuple[list[tuple[str, int]], numpy.ndarray]] = {}
        """department → its (statement, week) columns and the sums of `Moments` between every two
        columns, as a (3, columns, columns) array: Σ tₖ·tₗ, Σ tₖ·nₗ, Σ nₖ·nₗ."""

    def add_cell(self, week: int, department: str | None, item_id: str, people: int) -> None:
        """How many people of `department` rated `item_id` in `week`; give every cell before anything else."""
        if 0 < people < self.threshold:
            self._small[department, item_id] |= 1 << week

    def add_ratings(self, week: int, department: str | None, item_id: str, rating: int, count: int) -> None:
        """`count` ratings of `rating` given to `item_id` by `department` in `week`."""
        if item_id in self.items and 1 <= rating <= 5 and not self._small[department, item_id] >> week & 1:
            for group in group_of(department):
                self._ratings[week, group, item_id][rating - 1] += count

    def add_person(self, person: int, answered: Iterable[tuple[str | None, str, int]]) -> None:
        """One person's (department, item id, mask of the weeks they rated it in); a person is
        the same number in every call, and in `add_rounds`."""
        import numpy  # with the first reading, not at import: see the module docstring

        rows = list(answered)
        if rows:
            self._answered.append(
                (
                    numpy.full(len(rows), person, dtype=numpy.int64),
                    numpy.array([self._pair(d, item_id) for d, item_id, _ in rows], dtype=numpy.int64),
                    numpy.array([mask for _, _, mask in rows], dtype=numpy.int64),
                )
            )

    def add_rounds(self, rounds: Iterable[RoundRatings]) -> None:
        """The ratings of the closed rounds of the weeks counted, all in one call (a person's
        ratings in different weeks meet in the interval's sums). A round's ratings of a statement
        by one department count only when at least `threshold` people gave them, so no week's cell
        these add is ever smaller than that (`add_cell` is for the other sources)."""
        import numpy  # with the first reading, not at import: see the module docstring

        totals: dict[str, list[tuple[numpy.ndarray, tuple[str, int], numpy.ndarray]]] = defaultdict(list)
        for ratings in rounds:
            rated = (ratings.scores >= 1) & (ratings.scores <= 5)
            for code, department in enumerate(ratings.departments):
                mine = ratings.department_of == code
                for column, item_id in enumerate(ratings.items):
                    cell = rated[:, column] & mine
                    if item_id not in self.items or cell.sum() < self.threshold:
                        continue
                    scores = ratings.scores[cell, column]
                    for rating, count in enumerate(numpy.bincount(scores, minlength=6)[1:6], start=1):
                        if count:
                            self.add_ratings(ratings.week, department, item_id, rating, int(count))
                    people = ratings.people[cell]
                    self._answered.append(
                        (
                            people,
                            numpy.full(len(people), self._pair(department, item_id), dtype=numpy.int64),
                            numpy.full(len(people), 1 << ratings.week, dtype=numpy.int64),
                        )
                    )
                    if department in DEPARTMENTS and self.items[item_id].scored:
                        totals[department].append((people, (item_id, ratings.week), scores))
        for department, cells in totals.items():
            self._cross[department] = _cross_sums(cells)

    def _pair(self, department: str | None, item_id: str) -> int:
        return self._pairs.setdefault((department, item_id), len(self._pairs))

    def _counted_in(self, department: str | None, item_id: str) -> tuple[tuple[str, ...], ...]:
        """The people counts a rating of `item_id` by someone of `department` adds to."""
        meta = self.items.get(item_id)
        if meta is None:
            return ()
        keys = []
        for group in group_of(department):
            keys += [("item", group, item_id), ("dimension", group, meta.dimension)]
            if meta.scored:
                keys.append(("scored", group))
        return tuple(keys)

    def _masks(self) -> dict[tuple[str, ...], numpy.ndarray]:
        """Count key → for each person counted in it, the weeks they count in (their union over the
        statements the key takes in), leaving out the weeks too few people rated a statement in."""
        import numpy  # with the first reading, not at import: see the module docstring

        if not self._answered:
            return {}
        people, pairs, masks = (numpy.concatenate(part) for part in zip(*self._answered, strict=True))
        people, pairs, masks = _union(people, pairs, masks)  # each person's weeks per statement first
        small = numpy.array([self._small.get(pair, 0) for pair in self._pairs], dtype=numpy.int64)
        masks = masks & ~small[pairs]
        keys: dict[tuple[str, ...], int] = {}
        counted_in = [
            [keys.setdefault(key, len(keys)) for key in self._counted_in(*pair)] for pair in self._pairs
        ]
        width = numpy.array([len(k) for k in counted_in], dtype=numpy.int64)
        flat = numpy.array([key for k in counted_in for key in k], dtype=numpy.int64)
        offset = numpy.concatenate(([0], numpy.cumsum(width)[:-1]))
        repeat = width[pairs]
        entry = numpy.repeat(numpy.arange(len(pairs)), repeat)
        within = numpy.arange(len(entry)) - numpy.repeat(numpy.cumsum(repeat) - repeat, repeat)
        if not len(entry):
            return {}
        # Entries are in order of people; a stable sort by key (a radix sort, on 16 bits) keeps
        # that order within each key, so each person's entries of a key lie side by side.
        key = flat[offset[pairs][entry] + within].astype(numpy.int16)
        order = numpy.argsort(key, kind="stable")
        key, person, masks = key[order], people[entry][order], masks[entry][order]
        starts = numpy.flatnonzero(
            numpy.concatenate(([True], (key[1:] != key[:-1]) | (person[1:] != person[:-1])))
        )
        key, union = key[starts], numpy.bitwise_or.reduceat(masks, starts)
        bounds = numpy.searchsorted(key, numpy.arange(len(keys) + 1))
        return {name: union[bounds[number] : bounds[number + 1]] for name, number in keys.items()}

    def windows(self, length: int, count: int) -> list[Tally]:
        """The tallies of `count` windows of `length` weeks, ending 0, 1, … weeks back."""
        if length + count - 1 > self.weeks:
            raise ValueError("the windows reach further back than the weeks counted")
        masks = self._masks()
        return [self._window(start, length, masks) for start in range(count)]

    def _window(self, start: int, length: int, masks: Mapping[tuple[str, ...], numpy.ndarray]) -> Tally:
        import numpy  # with the first reading, not at import: see the module docstring

        weeks = ((1 << length) - 1) << start
        ratings: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 5)
        for (week, group, item_id), counts in self._ratings.items():
            if start <= week < start + length:
                total = ratings[group, item_id]
                for index, n in enumerate(counts):
                    total[index] += n
        people: dict[str, dict] = {"item": {}, "dimension": {}, "scored": {}}
        for (level, *key), values in masks.items():
            n = int(numpy.count_nonzero(values & weeks))
            if n:
                people[level][tuple(key) if len(key) > 1 else key[0]] = n
        return Tally(
            ratings=dict(ratings),
            item_people=people["item"],
            dimension_people=people["dimension"],
            scored_people=people["scored"],
            moments={d: self._moments(d, start, length) for d in DEPARTMENTS},
        )

    def _moments(self, department: str, start: int, length: int) -> Moments:
        """The department's cross-statement sums over the window's weeks."""
        import numpy  # with the first reading, not at import: see the module docstring

        if department not in self._cross:
            return Moments()
        columns, sums = self._cross[department]
        inside = [
            index
            for index, (item_id, week) in enumerate(columns)
            if start <= week < start + length and not self._small[department, item_id] >> week & 1
        ]
        statements = tuple(sorted({columns[index][0] for index in inside}))
        number = {item_id: n for n, item_id in enumerate(statements)}
        into = numpy.zeros((len(inside), len(statements)))
        into[numpy.arange(len(inside)), [number[columns[index][0]] for index in inside]] = 1.0
        return Moments(statements, into.T @ sums[:, inside][:, :, inside] @ into)


def _union(
    people: numpy.ndarray, pairs: numpy.ndarray, masks: numpy.ndarray
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """One entry per distinct (person, pair), its mask the union of theirs; in order of people."""
    import numpy  # with the first reading, not at import: see the module docstring

    code = people * (int(pairs.max()) + 1) + pairs
    order = numpy.argsort(code)
    code, masks = code[order], masks[order]
    starts = numpy.flatnonzero(numpy.concatenate(([True], code[1:] != code[:-1])))
    return people[order][starts], pairs[order][starts], numpy.bitwise_or.reduceat(masks, starts)


def _cross_sums(
    cells: list[tuple[numpy.ndarray, tuple[str, int], numpy.ndarray]],
) -> tuple[list[tuple[str, int], ...], numpy.ndarray]:
    """A department's (statement, week) columns, and between every two the sums over its people of
    products of each person's total and count of ratings in them: Σ tₖ·tₗ, Σ tₖ·nₗ, Σ nₖ·nₗ."""
    import numpy  # with the first reading, not at import: see the module docstring

    columns = sorted({column for _, column, _ in cells})
    number = {column: index for index, column in enumerate(columns)}
    people = numpy.concatenate([p for p, _, _ in cells])
    person, at = numpy.unique(people, return_inverse=True)
    column = numpy.concatenate([numpy.full(len(p), number[c]) for p, c, _ in cells])
    cell = at * len(columns) + column
    size = len(person) * len(columns)
    scores = numpy.concatenate([s for _, _, s in cells]).astype(numpy.float64)
    totals = numpy.bincount(cell, weights=scores, minlength=size).reshape(len(person), len(columns))
    counts = numpy.bincount(cell, minlength=size).astype(numpy.float64).reshape(len(person), len(columns))
    return columns, numpy.stack((totals.T @ totals, totals.T @ counts, counts.T @ counts))
