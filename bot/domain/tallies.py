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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import numpy

from bot.domain.scoring import ItemMeta, Moments, Tally, group_of
from bot.domain.vocabulary import DEPARTMENTS

WEEK = timedelta(weeks=1)
#: Masks are 64-bit integers in both databases; one bit is kept clear for the sign.
MAX_WEEKS = 63


def week_back(at: datetime, moment: datetime) -> int:
    """Which week before `at` a moment falls in: 0 for (at − 1 week, at), 1 for the one before, …

    The right end is closed so that week k is exactly what a window ending k weeks before `at`
    no longer holds (windows cover [end − length, end)).
    """
    return -((moment - at) // WEEK) - 1


class WeeklyCounts:
    """One workspace's counts over the last `weeks` weeks, fed by the database, read per window."""

    def __init__(self, items: Mapping[str, ItemMeta], weeks: int, threshold: int) -> None:
        if not 0 < weeks <= MAX_WEEKS:
            raise ValueError(f"between 1 and {MAX_WEEKS} weeks, not {weeks}")
        self.items, self.weeks, self.threshold = items, weeks, threshold
        self._small: dict[tuple[str | None, str], int] = defaultdict(int)
        """(department, item id) → mask of the weeks in which too few of them rated it."""
        self._ratings: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0] * 5)
        self._masks: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self._keys: dict[tuple[str | None, str], tuple[tuple[str, ...], ...]] = {}
        """(department, item id) → what `_counted_in` says, worked out once."""
        self._cross: dict[tuple[str, str, int, str, int], tuple[float, float, float]] = {}
        """(department, statement k, its week, statement l, its week) → the sums of `Moments`."""

    def add_cell(self, week: int, department: str | None, item_id: str, people: int) -> None:
        """How many people of `department` rated `item_id` in `week`; give every cell before anything else."""
        if 0 < people < self.threshold:
            self._small[department, item_id] |= 1 << week

    def add_ratings(self, week: int, department: str | None, item_id: str, rating: int, count: int) -> None:
        """`count` ratings of `rating` given to `item_id` by `department` in `week`."""
        if item_id in self.items and 1 <= rating <= 5 and not self._small[department, item_id] >> week & 1:
            for group in group_of(department):
                self._ratings[week, group, item_id][rating - 1] += count

    def add_moments(
        self,
        department: str,
        k: str,
        week_k: int,
        l: str,  # noqa: E741 — the statements are k and l, as in `Moments`
        week_l: int,
        sums: tuple[float, float, float],
    ) -> None:
        """A department's Σ tₖ·tₗ, Σ tₖ·nₗ, Σ nₖ·nₗ over its people, for k rated in one week and l in
        another (see `storage.insights.weekly_moments`)."""
        self._cross[department, k, week_k, l, week_l] = sums

    def add_person(self, answered: Iterable[tuple[str | None, str, int]]) -> None:
        """One person's (department, item id, mask of the weeks they rated it in)."""
        union: dict[tuple[str, ...], int] = {}
        for department, item_id, mask in answered:
            mask &= ~self._small[department, item_id]
            if mask:
                keys = self._keys.get((department, item_id))
                if keys is None:
                    keys = self._keys[department, item_id] = self._counted_in(department, item_id)
                for key in keys:
                    union[key] = union.get(key, 0) | mask
        for key, mask in union.items():
            self._masks[key].append(mask)

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

    def windows(self, length: int, count: int) -> list[Tally]:
        """The tallies of `count` windows of `length` weeks, ending 0, 1, … weeks back."""
        if length + count - 1 > self.weeks:
            raise ValueError("the windows reach further back than the weeks counted")
        masks = {key: numpy.array(values, dtype=numpy.int64) for key, values in self._masks.items()}
        return [self._window(start, length, masks) for start in range(count)]

    def _window(self, start: int, length: int, masks: Mapping[tuple[str, ...], numpy.ndarray]) -> Tally:
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
        cross: dict[str, dict[tuple[str, str], list[float]]] = {d: {} for d in DEPARTMENTS}
        for (department, k, week_k, l, week_l), sums in self._cross.items():  # noqa: E741
            in_window = start <= week_k < start + length and start <= week_l < start + length
            if (
                not in_window
                or self._small[department, k] >> week_k & 1
                or self._small[department, l] >> week_l & 1
            ):
                continue
            total = cross[department].setdefault((k, l), [0.0, 0.0, 0.0])
            for index, value in enumerate(sums):
                total[index] += value
        return Tally(
            ratings=dict(ratings),
            item_people=people["item"],
            dimension_people=people["dimension"],
            scored_people=people["scored"],
            moments={d: Moments({key: tuple(sums) for key, sums in cross[d].items()}) for d in DEPARTMENTS},
        )
