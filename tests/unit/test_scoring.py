"""The scoring model: a hand-computed golden case, and properties for any answers at all."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import t as student_t

from bot.domain.scoring import (
    BAND_FLOORS,
    EVERYONE,
    GROUPS,
    MARKETING,
    SALES,
    STAGES,
    Composite,
    ItemMeta,
    Response,
    score,
    settled_stage,
    stage_of,
    suppress,
)

ITEMS = {
    "A": ItemMeta("d1", scored=True),
    "B": ItemMeta("d1", scored=True),
    "C": ItemMeta("d2", scored=False),
}


def answers(department: str, prefix: str, item: str, scores: list[int]) -> list[Response]:
    return [Response(f"{prefix}{n}", item, department, s) for n, s in enumerate(scores)]


GOLDEN = [
    *answers(SALES, "s", "A", [2, 3, 4]),
    *answers(SALES, "s", "B", [2, 2, 2]),
    *answers(SALES, "s", "C", [1, 5]),
    *answers(MARKETING, "m", "A", [4, 4, 5]),
    *answers(MARKETING, "m", "B", [3, 4, 5]),
]


def test_golden_hand_computed_results():
    results = score(GOLDEN, ITEMS, threshold=3)
    assert results.items[SALES, "A"].mean == pytest.approx(3.0)
    assert results.items[SALES, "A"].distribution == (0, 1, 1, 1, 0)
    assert results.items[MARKETING, "A"].mean == pytest.approx(13 / 3)
    assert results.items[EVERYONE, "A"].mean == pytest.approx(22 / 6)
    assert results.items[MARKETING, "B"].favourable == pytest.approx(2 / 3)
    # 20 × the mean of item means
    assert results.composites[SALES].score == pytest.approx(50.0)
    assert results.composites[MARKETING].score == pytest.approx(20 * (13 / 3 + 4) / 2)
    # the company is the mean of the two teams, not the pooled answers (marketing would weigh less)
    assert results.composites[EVERYONE].score == pytest.approx((50 + 20 * (13 / 3 + 4) / 2) / 2)
    assert [results.composites[g].stage for g in (SALES, MARKETING, EVERYONE)] == [
        "defined",
        "integrated",
        "aligned",
    ]
    # sales, per person (1/2)·Σ (rating − statement mean)/3: −1/6, 0, 1/6, so the variance of the
    # score is 3/2 · 2/36 = 1/12 on the 1–5 scale, with t at 2 degrees of freedom
    spread = 20 * student_t.ppf(0.975, 2) * math.sqrt(1 / 12)
    assert results.composites[SALES].low == pytest.approx(50 - spread)
    assert results.composites[SALES].high == pytest.approx(50 + spread)
    # marketing: −2/9, −1/18, 5/18 → 7/36; the company: (1/12 + 7/36) / 4, Welch's 100/29 freedoms
    company = results.composites[EVERYONE]
    spread = 20 * student_t.ppf(0.975, 100 / 29) * math.sqrt((1 / 12 + 7 / 36) / 4)
    assert company.high - company.score == pytest.approx(spread)
    assert (company.items, company.of_items, company.respondents) == (2, 2, 6)
    assert results.item_gaps == {"A": pytest.approx(4 / 3), "B": pytest.approx(2.0)}
    assert results.dimension_gaps == {"d1": pytest.approx((13 / 3 + 4) / 2 - 2.5)}
    assert results.dimensions[SALES, "d1"].mean == pytest.approx(2.5)
    # Item C: two sales respondents only — withheld everywhere, with no count either.
    assert results.items[SALES, "C"].withheld and results.items[SALES, "C"].respondents is None
    assert results.items[EVERYONE, "C"].withheld
    assert "C" not in results.item_gaps


def test_bands():
    assert [stage_of(s) for s in (20, 39.99, 40, 59.99, 60, 79.99, 80, 100)] == [
        "undefined",
        "undefined",
        "defined",
        "defined",
        "aligned",
        "aligned",
        "integrated",
        "integrated",
    ]


def test_a_small_department_is_not_revealed_by_subtraction():
    shown = suppress({SALES: 7, MARKETING: 2, EVERYONE: 9}, threshold=5)
    assert shown == {EVERYONE}  # showing sales would reveal marketing's two people as everyone − sales
    assert suppress({SALES: 7, MARKETING: 6, EVERYONE: 13}, threshold=5) == {SALES, MARKETING, EVERYONE}
    # two people of unknown team: hiding marketing too makes the hidden part 8, safe to imply
    assert suppress({SALES: 7, MARKETING: 6, EVERYONE: 15}, threshold=5) == {SALES, EVERYONE}
    assert suppress({SALES: 7, MARKETING: 0, EVERYONE: 7}, threshold=5) == {SALES, EVERYONE}
    assert suppress({SALES: 4, MARKETING: 0, EVERYONE: 4}, threshold=5) == set()


def test_the_stage_changes_only_when_the_interval_clears_the_boundary():
    wobble = Composite(respondents=20, score=61.0, low=55.0, high=67.0)
    assert settled_stage("defined", wobble) == "defined"
    clear = Composite(respondents=40, score=66.0, low=61.0, high=71.0)
    assert settled_stage("defined", clear) == "aligned"
    assert settled_stage("aligned", Composite(respondents=40, score=57.0, low=52.0, high=59.5)) == "defined"
    assert settled_stage(None, wobble) == "aligned"
    assert settled_stage("defined", Composite()) == "defined"


departments = st.sampled_from([SALES, MARKETING, None])
responses = st.lists(
    st.builds(
        Response,
        respondent=st.integers(0, 25).map(lambda n: f"r{n}"),
        item_id=st.sampled_from(sorted(ITEMS)),
        department=departments,
        score=st.integers(1, 5),
    ),
    max_size=150,
)


def consistent(rows: list[Response]) -> list[Response]:
    """A respondent has one department, as in the bot (the first one drawn wins)."""
    department = {}
    return [
        Response(r.respondent, r.item_id, department.setdefault(r.respondent, r.department), r.score)
        for r in rows
    ]


@settings(max_examples=300, deadline=None)
@given(responses, st.integers(3, 10))
def test_no_figure_for_a_group_below_the_threshold_even_by_subtraction(rows, threshold):
    rows = consistent(rows)
    results = score(rows, ITEMS, threshold)
    for figures, key_of in (
        (results.items, lambda r: r.item_id),
        (results.dimensions, lambda r: ITEMS[r.item_id].dimension),
    ):
        for key in {k for _g, k in figures}:
            counts = {
                group: len(
                    {
                        r.respondent
                        for r in rows
                        if key_of(r) == key and (group == EVERYONE or r.department == group)
                    }
                )
                for group in GROUPS
            }
            shown = {g for g in GROUPS if (g, key) in figures and not figures[g, key].withheld}
            for group in shown:
                assert counts[group] >= threshold
                assert figures[group, key].respondents == counts[group]
            if EVERYONE in shown:
                hidden = counts[EVERYONE] - sum(counts[d] for d in (SALES, MARKETING) if d in shown)
                assert hidden == 0 or hidden >= threshold
            for group in set(GROUPS) - shown:
                if (group, key) in figures:
                    figure = figures[group, key]
                    assert (figure.mean, figure.favourable, figure.distribution, figure.respondents) == (
                        None,
                    ) * 4


@settings(max_examples=300, deadline=None)
@given(responses, st.integers(3, 10))
def test_scores_stay_on_the_scale_with_their_interval_around_them(rows, threshold):
    results = score(consistent(rows), ITEMS, threshold)
    for composite in results.composites.values():
        if composite.withheld:
            assert composite.respondents is None
            continue
        assert 20 <= composite.low <= composite.score <= composite.high <= 100
        assert composite.stage == stage_of(composite.score)
        assert composite.respondents >= threshold


@given(st.floats(20, 100), st.floats(0, 30), st.sampled_from(STAGES))
def test_settled_stage_moves_only_to_the_band_of_the_score(point, width, previous):
    composite = Composite(
        respondents=10, score=point, low=max(20, point - width), high=min(100, point + width)
    )
    settled = settled_stage(previous, composite)
    assert settled in (previous, stage_of(point))
    index = STAGES.index(previous)
    floor = BAND_FLOORS[index]
    ceiling = BAND_FLOORS[index + 1] if index + 1 < 4 else math.inf
    if floor <= composite.low and composite.high < ceiling:
        assert settled == previous


@given(responses)
def test_gaps_exist_only_where_both_departments_are_shown(rows):
    results = score(consistent(rows), ITEMS, threshold=3)
    for item, gap in results.item_gaps.items():
        sales, marketing = results.items[SALES, item], results.items[MARKETING, item]
        assert gap == pytest.approx(marketing.mean - sales.mean)
        assert -4 <= gap <= 4


@settings(max_examples=300, deadline=None)
@given(responses, st.integers(3, 10))
def test_both_teams_weigh_the_same_and_neither_stands_in_for_the_company(rows, threshold):
    results = score(consistent(rows), ITEMS, threshold)
    sales, marketing, company = (results.composites[g] for g in (SALES, MARKETING, EVERYONE))
    if sales.withheld or marketing.withheld:
        assert company.withheld
        if sales.withheld != marketing.withheld:
            assert company.withheld_team == (SALES if sales.withheld else MARKETING)
    else:
        assert company.score == pytest.approx((sales.score + marketing.score) / 2)
        assert company.respondents == sales.respondents + marketing.respondents


def test_a_team_twice_the_size_does_not_outweigh_the_other():
    small = answers(MARKETING, "m", "A", [5, 5, 5]) + answers(MARKETING, "m", "B", [5, 5, 5])
    large = answers(SALES, "s", "A", [1] * 6) + answers(SALES, "s", "B", [1] * 6)
    results = score(small + large, ITEMS, threshold=3)
    assert results.composites[EVERYONE].score == pytest.approx(60.0)  # (20 + 100) / 2, not 20 + 80/3
    assert results.items[EVERYONE, "A"].mean == pytest.approx(7 / 3)  # statements still pool everyone


def test_the_same_people_answering_everything_widen_the_interval():
    """Twelve people each giving one rating to both statements, against twelve different people per
    statement: the first is one sample of people, not two, so its interval is wider."""
    ratings = [1, 2, 3, 4, 5, 3, 2, 4, 1, 5, 3, 3]
    same = answers(SALES, "s", "A", ratings) + answers(SALES, "s", "B", ratings)
    different = answers(SALES, "s", "A", ratings) + answers(SALES, "t", "B", ratings)
    wide, narrow = (score(rows, ITEMS, threshold=3).composites[SALES] for rows in (same, different))
    assert wide.score == narrow.score
    assert wide.high - wide.low > 1.3 * (narrow.high - narrow.low)


def test_statements_not_asked_widen_the_interval():
    """With only A of the two scored statements asked, the score stands for both and says so."""
    ratings = [1, 2, 3, 4, 5, 3, 2, 4, 1, 5, 3, 3]
    both = answers(SALES, "s", "A", ratings) + answers(SALES, "s", "B", [5 - r + 1 for r in ratings])
    one = answers(SALES, "s", "A", ratings)
    whole, part = (score(rows, ITEMS, threshold=3).composites[SALES] for rows in (both, one))
    assert (whole.items, whole.of_items, part.items, part.of_items) == (2, 2, 1, 2)
    assert part.high - part.low > whole.high - whole.low
