"""Windows read from weekly counts equal the windows counted answer by answer."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.scoring import ItemMeta, Response, score_tally, tally
from bot.domain.tallies import MAX_WEEKS, WEEK, People, RoundRatings, WeeklyCounts, week_back
from bot.domain.vocabulary import DEPARTMENTS, SALES

ITEMS = {
    "A": ItemMeta("d1", scored=True),
    "B": ItemMeta("d1", scored=True),
    "C": ItemMeta("d2", scored=False),
}
AT = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)

answers = st.lists(
    st.tuples(
        st.integers(0, 11),  # week back
        st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
        st.sampled_from(["sales", "marketing", None]),
        st.sampled_from(["A", "B", "C", "gone"]),
        st.integers(0, 6),  # out-of-range ratings are ignored on both paths
    ),
    max_size=80,
)


def unique(rows):
    """One rating per person, statement and week, as the database keeps them."""
    return list(
        {(week, person, item): (week, person, d, item, r) for week, person, d, item, r in rows}.values()
    )


def weekly_counts(rows, weeks: int, threshold: int) -> WeeklyCounts:
    """Feed the counts as the digest does: each week one round, a row per person and department."""
    counts = WeeklyCounts(ITEMS, weeks, threshold)
    people = People()
    counts.add_rounds(
        round_of(week, [row for row in rows if row[0] == week], people)
        for week in sorted({r[0] for r in rows})
    )
    return counts


def round_of(week: int, rows, people: People) -> RoundRatings:
    """A week's answers as its rollup holds them: out-of-range ratings are no rating."""
    items = tuple(sorted({item for _, _, _, item, _ in rows}))
    departments = tuple(sorted({d for _, _, d, _, _ in rows}, key=str))
    scores: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0] * len(items))
    for _, person, department, item, rating in rows:
        scores[person, department][items.index(item)] = rating if 1 <= rating <= 5 else 0
    keys = list(scores)
    return RoundRatings(
        week=week,
        items=items,
        people=numpy.array([people[person] for person, _ in keys], dtype=numpy.int64),
        departments=departments,
        department_of=numpy.array([departments.index(d) for _, d in keys], dtype=numpy.int64),
        scores=numpy.array([scores[key] for key in keys], dtype=numpy.int64).reshape(len(keys), len(items)),
    )


def cells(rows) -> dict[tuple, set[str]]:
    people: dict[tuple, set[str]] = defaultdict(set)
    for week, person, department, item, rating in rows:
        if 1 <= rating <= 5:
            people[week, department, item].add(person)
    return people


@settings(deadline=None)  # numpy's fixed costs, on a shared machine, outlast the default 200 ms
@given(answers, st.integers(1, 8), st.integers(1, 5), st.integers(1, 3))
def test_every_window_matches_counting_its_answers_one_by_one(rows, length, count, threshold):
    """…leaving out a department's ratings of a statement in a week when fewer than `threshold` gave them."""
    rows = unique(rows)
    small = {cell for cell, people in cells(rows).items() if len(people) < threshold}
    windows = weekly_counts(rows, 12, threshold).windows(length, count)
    for start, window in enumerate(windows):
        inside = [
            Response(person, item, department, rating)
            for week, person, department, item, rating in rows
            if start <= week < start + length and (week, department, item) not in small
        ]
        expected = tally(inside, ITEMS)
        assert {k: tuple(v) for k, v in window.ratings.items() if sum(v)} == {
            k: tuple(v) for k, v in expected.ratings.items()
        }
        assert window.item_people == expected.item_people
        assert window.dimension_people == expected.dimension_people
        assert window.scored_people == expected.scored_people
        for department in DEPARTMENTS:
            assert window.moments[department].cross == expected.moments[department].cross


def test_weeks_back_close_on_the_right():
    """A round exactly one week before `at` belongs to week 0, as the window [at − 1 week, at) holds it."""
    assert week_back(AT, AT - timedelta(seconds=1)) == 0
    assert week_back(AT, AT - WEEK) == 0
    assert week_back(AT, AT - WEEK - timedelta(seconds=1)) == 1
    assert week_back(AT, AT - 8 * WEEK) == 7


def test_windows_cannot_reach_past_the_weeks_counted():
    with pytest.raises(ValueError):
        WeeklyCounts(ITEMS, MAX_WEEKS + 1, threshold=3)
    with pytest.raises(ValueError):
        WeeklyCounts(ITEMS, 8, threshold=3).windows(8, 2)


def test_two_digests_a_week_apart_do_not_reveal_a_small_week():
    """Five salespeople rated A two weeks ago; last week two more did. Side by side, the window
    ending now and the one ending a week ago must not show what those two said."""
    earlier = [(1, f"s{n}", "sales", "A", 4) for n in range(5)]
    latest = [(0, "late1", "sales", "A", 1), (0, "late2", "sales", "A", 1)]
    now, week_ago = weekly_counts(earlier + latest, 9, threshold=3).windows(8, 2)
    shown_now = score_tally(now, ITEMS, threshold=3).items[SALES, "A"]
    shown_before = score_tally(week_ago, ITEMS, threshold=3).items[SALES, "A"]
    assert shown_now == shown_before
    assert shown_now.mean == 4.0 and shown_now.respondents == 5
