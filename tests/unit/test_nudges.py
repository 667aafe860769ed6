"""Nudge rules: each fires at its boundary and not before, withheld figures never show through."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.nudges import (
    ACTIONS,
    DIMENSION_ACTIONS,
    KINDS,
    PLAYBOOK,
    Nudge,
    WeekSnapshot,
    nudges,
    still_readable,
)
from bot.domain.pipeline_digest import PipelineLine, PipelineSection
from bot.domain.pipeline_figures import FORECAST_ACCURACY, MQL_REJECTED
from bot.domain.pipeline_figures import Figure as PipelineFigure
from bot.domain.question_bank import load_bank
from bot.domain.scoring import (
    BAND_FLOORS,
    EVERYONE,
    MARKETING,
    SALES,
    STAGES,
    Composite,
    Figure,
    ItemMeta,
    Response,
    Results,
    score,
    settled_stage,
)

DIMENSION_OF = {
    "hbr04": "information_sharing",
    "hbr05": "information_sharing",
    "hbr07": "shared_language",
    "ext01": "joint_meetings",
}
ITEMS = {
    "hbr04": ItemMeta("information_sharing", scored=True),
    "hbr05": ItemMeta("information_sharing", scored=True),
    "hbr07": ItemMeta("shared_language", scored=True),
    "ext01": ItemMeta("joint_meetings", scored=False),
}
MONDAY = date(2025, 3, 3)


def shown(mean: float, respondents: int = 10) -> Figure:
    return Figure(respondents=respondents, mean=mean, favourable=0.5)


def gaps(figures: dict[tuple[str, str], Figure]) -> dict[str, float]:
    """Marketing minus sales where both are shown, as the scoring model reports it."""
    return {
        key: figures[MARKETING, key].mean - figures[SALES, key].mean
        for group, key in figures
        if group == SALES
        and (MARKETING, key) in figures
        and not figures[SALES, key].withheld
        and not figures[MARKETING, key].withheld
    }


def results(
    dimensions: dict[tuple[str, str], Figure] | None = None,
    items: dict[tuple[str, str], Figure] | None = None,
) -> Results:
    dimensions, items = dimensions or {}, items or {}
    return Results(
        items=items,
        dimensions=dimensions,
        composites={},
        item_gaps=gaps(items),
        dimension_gaps=gaps(dimensions),
    )


def history(
    *weeks: Results, stages: list[str | None] | None = None, participation=None
) -> list[WeekSnapshot]:
    stages = stages or [None] * len(weeks)
    return [
        WeekSnapshot(
            week=MONDAY + timedelta(weeks=n),
            results=week,
            stage=stage,
            participation=participation or {},
        )
        for n, (week, stage) in enumerate(zip(weeks, stages, strict=True))
    ]


def everyone(dimension: str, mean: float) -> Results:
    return results({(EVERYONE, dimension): shown(mean)})


def kinds(found: list[Nudge]) -> list[str]:
    return [nudge.kind for nudge in found]


def without_step(found: list[Nudge]) -> list[Nudge]:
    return [nudge for nudge in found if nudge.kind != "next_stage"]


# ----- low dimension ------------------------------------------------------------------------------


def test_a_dimension_below_the_next_stage_for_three_weeks_calls_for_its_action():
    found = nudges(history(*[everyone("information_sharing", 2.3)] * 3, stages=["defined"] * 3), DIMENSION_OF)
    assert found[0] == Nudge(
        key="low_dimension:information_sharing",
        kind="low_dimension",
        action="sales_feedback_loop",
        evidence={
            "dimension": "information_sharing",
            "mean": 2.3,
            "respondents": 10,
            "target_stage": "aligned",
            "target": 3.0,
            "weeks": 3,
        },
        audience="leaders",
        priority=2,
    )
    assert kinds(found) == ["low_dimension", "next_stage"]


@pytest.mark.parametrize(
    ("stage", "target", "low", "fine"),
    [
        (None, 2.0, 1.9, 2.0),
        ("undefined", 2.0, 1.9, 2.0),
        ("defined", 3.0, 2.9, 3.0),
        ("aligned", 4.0, 3.0, 4.0),
    ]
    + [("integrated", 4.0, 3.9, 4.5)],
)
def test_the_mark_is_where_the_next_stage_begins(stage, target, low, fine):
    """Aligned is held to Integrated's floor: its weakest dimension at 3.0 of 5 gets advice."""
    found = without_step(nudges(history(*[everyone("knowledge", low)] * 3, stages=[stage] * 3), DIMENSION_OF))
    assert [n.evidence["target"] for n in found] == [target]
    assert (
        without_step(nudges(history(*[everyone("knowledge", fine)] * 3, stages=[stage] * 3), DIMENSION_OF))
        == []
    )


def test_a_low_dimension_shows_both_teams_when_both_are_shown():
    week = results(
        {
            (EVERYONE, "key_accounts"): shown(2.5),
            (SALES, "key_accounts"): shown(2.0, 6),
            (MARKETING, "key_accounts"): shown(3.1, 7),
        }
    )
    found = nudges(history(week, week, week, stages=["defined"] * 3), DIMENSION_OF)
    evidence = found[0].evidence
    assert (evidence["sales"], evidence["marketing"], evidence["gap"]) == (2.0, 3.1, pytest.approx(1.1))
    # the gap nudge on the same dimension would say the same sentence: it is left out
    assert kinds(found) == ["low_dimension", "next_stage"]


def test_two_low_weeks_are_not_enough_and_the_streak_counts_every_low_week():
    assert nudges(history(everyone("knowledge", 3.5), *[everyone("knowledge", 1.5)] * 2), DIMENSION_OF) == []
    found = nudges(history(*[everyone("knowledge", 1.5)] * 5), DIMENSION_OF)
    assert [(n.action, n.evidence["weeks"]) for n in found] == [("cross_training", 5)]


@pytest.mark.parametrize("week", range(3))
def test_exactly_the_band_floor_in_any_week_breaks_the_streak(week):
    means = [1.9, 1.9, 1.9]
    means[week] = 2.0
    assert nudges(history(*[everyone("culture_trust", m) for m in means]), DIMENSION_OF) == []
    means[week] = 1.99
    assert kinds(nudges(history(*[everyone("culture_trust", m) for m in means]), DIMENSION_OF)) == [
        "low_dimension"
    ]


@pytest.mark.parametrize("gap_week", [results({(EVERYONE, "shared_language"): Figure()}), results()])
def test_a_withheld_or_unasked_week_breaks_the_streak(gap_week):
    low = everyone("shared_language", 1.5)
    assert nudges(history(low, gap_week, low, low), DIMENSION_OF) == []
    assert nudges(history(low, low, low, gap_week), DIMENSION_OF) == []


def test_department_figures_alone_do_not_make_a_dimension_low():
    low_sales = results({(SALES, "key_accounts"): shown(1.0), (EVERYONE, "key_accounts"): shown(2.1)})
    assert nudges(history(low_sales, low_sales, low_sales), DIMENSION_OF) == []


def test_every_dimension_of_the_bank_has_its_own_action():
    assert set(DIMENSION_ACTIONS) == {dimension.id for dimension in load_bank().dimensions}
    assert len(set(DIMENSION_ACTIONS.values())) == len(DIMENSION_ACTIONS)
    assert DIMENSION_ACTIONS["shared_language"] == "write_lead_definition"
    assert DIMENSION_ACTIONS["joint_meetings"] == "review_meeting_usefulness"


# ----- wide gap -----------------------------------------------------------------------------------


def test_a_wide_item_gap_is_a_prompt_for_both_teams_to_talk_with_its_dimension_s_action():
    week = results(items={(SALES, "hbr05"): shown(2.1, 6), (MARKETING, "hbr05"): shown(3.4, 7)})
    narrow = results(items={(SALES, "hbr05"): shown(3.1, 6), (MARKETING, "hbr05"): shown(3.4, 7)})
    [found] = nudges(history(narrow, week, week), DIMENSION_OF)
    assert (found.key, found.kind, found.action, found.audience) == (
        "gap:hbr05",
        "wide_gap",
        "sales_feedback_loop",
        "both_teams",
    )
    assert found.evidence == {
        "item": "hbr05",
        "dimension": "information_sharing",
        "sales": 2.1,
        "marketing": 3.4,
        "sales_respondents": 6,
        "marketing_respondents": 7,
        "more_positive": "marketing",
        "gap": pytest.approx(1.3),
        "weeks": 2,
    }


def test_a_wide_dimension_gap_names_the_more_positive_side():
    week = results({(SALES, "decision_rights"): shown(4.5), (MARKETING, "decision_rights"): shown(2.0)})
    [found] = nudges(history(week), DIMENSION_OF)
    assert found.key == "gap:decision_rights"
    assert found.evidence["more_positive"] == "sales"
    assert found.evidence["gap"] == 2.5
    assert "item" not in found.evidence


def test_an_item_missing_from_dimension_of_is_named_alone():
    week = results(items={(SALES, "custom9"): shown(1.0), (MARKETING, "custom9"): shown(3.0)})
    [found] = nudges(history(week), DIMENSION_OF)
    assert found.evidence["item"] == "custom9" and "dimension" not in found.evidence
    assert found.action == "discuss_gap"


def test_a_gap_of_exactly_one_point_is_not_wide_even_with_float_noise():
    week = results(items={(SALES, "hbr07"): shown(2.0), (MARKETING, "hbr07"): shown(3.0)})
    assert nudges(history(week), DIMENSION_OF) == []
    # 7/3 − 4/3 comes out as 1.0000000000000002
    rows = [Response(f"s{n}", "hbr07", SALES, s) for n, s in enumerate([1, 1, 2])]
    rows += [Response(f"m{n}", "hbr07", MARKETING, s) for n, s in enumerate([2, 2, 3])]
    scored = score(rows, ITEMS, threshold=3)
    assert scored.item_gaps["hbr07"] > 1.0
    assert nudges(history(scored), DIMENSION_OF) == []
    rows[-1] = Response("m2", "hbr07", MARKETING, 4)
    assert [n.key for n in nudges(history(score(rows, ITEMS, threshold=3)), DIMENSION_OF)] == [
        "gap:shared_language"
    ]


def test_no_gap_when_one_department_is_withheld():
    rows = [Response(f"s{n}", "hbr04", SALES, 1) for n in range(5)]
    rows += [Response(f"m{n}", "hbr04", MARKETING, 5) for n in range(2)]
    scored = score(rows, ITEMS, threshold=3)
    assert scored.items[MARKETING, "hbr04"].withheld
    assert nudges(history(scored), DIMENSION_OF) == []


def test_one_gap_nudge_per_dimension_the_widest_first():
    week = results(
        {(SALES, "information_sharing"): shown(2.0), (MARKETING, "information_sharing"): shown(3.2)},
        {
            (SALES, "hbr04"): shown(2.0),
            (MARKETING, "hbr04"): shown(3.1),
            (SALES, "hbr05"): shown(2.0),
            (MARKETING, "hbr05"): shown(3.5),
            (SALES, "hbr07"): shown(4.0),
            (MARKETING, "hbr07"): shown(2.9),
        },
    )
    assert [n.key for n in nudges(history(week), DIMENSION_OF)] == ["gap:hbr05", "gap:hbr07"]


def test_an_equally_wide_dimension_gap_wins_over_its_item():
    week = results(
        {(SALES, "shared_language"): shown(2.0), (MARKETING, "shared_language"): shown(3.5)},
        {(SALES, "hbr07"): shown(2.0), (MARKETING, "hbr07"): shown(3.5)},
    )
    assert [n.key for n in nudges(history(week), DIMENSION_OF)] == ["gap:shared_language"]


# ----- participation, stage, next step, meetings --------------------------------------------------


def test_low_participation_per_department_below_forty_percent():
    week = history(results(), participation={SALES: 0.39, MARKETING: 0.4, EVERYONE: 0.1, "unknown": 0.0})
    [found] = nudges(week, DIMENSION_OF)
    assert (found.key, found.action, found.evidence, found.audience) == (
        "participation:sales",
        "explain_and_act",
        {"group": SALES, "share": 0.39},
        "leaders",
    )
    assert nudges(history(results(), participation={SALES: None, MARKETING: None}), DIMENSION_OF) == []


def test_the_lower_share_comes_first_and_the_same_advice_is_not_given_twice():
    week = history(results(), participation={SALES: 0.3, MARKETING: 0.1})
    assert [n.key for n in nudges(week, DIMENSION_OF)] == ["participation:marketing"]
    assert [n.key for n in nudges(week, DIMENSION_OF, quiet={"participation:marketing"})] == [
        "participation:sales"
    ]


def stage_history(*stages: str | None) -> list[WeekSnapshot]:
    return history(*[results()] * len(stages), stages=list(stages))


def drops(found: list[Nudge]) -> list[dict]:
    return [dict(n.evidence) for n in found if n.kind == "stage_drop"]


def test_a_drop_below_the_stage_four_weeks_ago():
    found = nudges(stage_history("aligned", "aligned", "aligned", "defined", "defined"), DIMENSION_OF)
    assert drops(found) == [{"previous_stage": "aligned", "stage": "defined", "weeks": 4}]
    assert found[0].action == "review_what_changed" and found[0].key == "stage_drop"
    # five weeks ago no longer counts
    assert drops(nudges(stage_history("aligned", *["defined"] * 5), DIMENSION_OF)) == []
    # fewer weeks: compare with the earliest
    assert drops(nudges(stage_history("integrated", "undefined"), DIMENSION_OF)) == [
        {"previous_stage": "integrated", "stage": "undefined", "weeks": 1}
    ]


@pytest.mark.parametrize(
    "stages",
    [("defined", "aligned"), ("aligned", "aligned"), (None, "defined"), ("aligned",), ("aligned", None)],
)
def test_no_drop_when_the_stage_held_rose_or_is_unknown(stages):
    assert drops(nudges(stage_history(*stages), DIMENSION_OF)) == []


@pytest.mark.parametrize("stage", STAGES)
def test_one_step_of_the_current_stage_s_playbook(stage):
    [found] = nudges(stage_history(stage), DIMENSION_OF)
    assert (found.key, found.kind, found.audience) == (
        f"next_stage:{found.action}",
        "next_stage",
        "both_teams",
    )
    assert found.action in PLAYBOOK[stage]
    following = STAGES[min(STAGES.index(stage) + 1, len(STAGES) - 1)]
    assert found.evidence == {"stage": stage, "target_stage": following}


@pytest.mark.parametrize("stage", STAGES)
def test_the_steps_rotate_week_by_week_through_the_whole_playbook(stage):
    steps = PLAYBOOK[stage]
    assert len(steps) >= 3
    seen = []
    for week in range(len(steps)):
        snapshot = WeekSnapshot(MONDAY + timedelta(weeks=week), results(), stage, {})
        [found] = nudges([snapshot], DIMENSION_OF)
        seen.append(found.action)
    assert sorted(seen) == sorted(steps)
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False))


def test_a_step_acted_on_or_snoozed_gives_way_to_the_next_one():
    snapshot = WeekSnapshot(MONDAY, results(), "aligned", {})
    [first] = nudges([snapshot], DIMENSION_OF)
    [second] = nudges([snapshot], DIMENSION_OF, quiet={first.key})
    assert second.kind == "next_stage" and second.action != first.action
    every_step = {f"next_stage:{step}" for step in PLAYBOOK["aligned"]}
    assert nudges([snapshot], DIMENSION_OF, quiet=every_step) == []


def test_the_step_shows_the_score_it_rests_on():
    composite = Composite(respondents=12, score=61.0, low=55.0, high=67.0, items=20)
    week = Results(items={}, dimensions={}, composites={EVERYONE: composite}, item_gaps={}, dimension_gaps={})
    [found] = nudges(history(week, stages=["aligned"]), DIMENSION_OF)
    assert found.evidence == {"stage": "aligned", "target_stage": "integrated", "score": 61.0}


def test_no_next_step_while_the_stage_is_unknown():
    assert nudges(stage_history(None), DIMENSION_OF) == []


def test_a_month_without_a_useful_joint_meeting():
    [found] = nudges(history(results()), DIMENSION_OF, days_since_useful_meeting=31)
    assert (found.key, found.action, found.evidence) == (
        "no_useful_meeting",
        "hold_useful_joint_meeting",
        {"days": 31},
    )
    assert nudges(history(results()), DIMENSION_OF, days_since_useful_meeting=30) == []
    assert nudges(history(results()), DIMENSION_OF) == []
    assert kinds(nudges([], DIMENSION_OF, days_since_useful_meeting=45)) == ["no_useful_meeting"]


# ----- ordering, cutting, snoozing ----------------------------------------------------------------


def busy_week() -> list[WeekSnapshot]:
    """Every rule fires: a drop, a low dimension, low participation, two gaps."""
    week = results(
        {
            (EVERYONE, "joint_planning"): shown(2.0),
            (SALES, "culture_trust"): shown(2.0),
            (MARKETING, "culture_trust"): shown(3.2),
        },
        {(SALES, "hbr05"): shown(1.5), (MARKETING, "hbr05"): shown(4.0)},
    )
    return history(week, week, week, stages=["aligned", "defined", "defined"], participation={MARKETING: 0.2})


def test_order_by_priority_then_strength_and_the_step_always_has_the_last_slot():
    everything = nudges(busy_week(), DIMENSION_OF, days_since_useful_meeting=40, max_nudges=10)
    step = everything[-1]
    assert [n.key for n in everything] == [
        "stage_drop",
        "low_dimension:joint_planning",
        "participation:marketing",
        "no_useful_meeting",
        "gap:hbr05",
        "gap:culture_trust",
        step.key,
    ]
    assert step.kind == "next_stage" and step.action in PLAYBOOK["defined"]
    assert [n.priority for n in everything] == sorted(n.priority for n in everything)
    assert nudges(busy_week(), DIMENSION_OF, days_since_useful_meeting=40) == [*everything[:3], step]
    assert nudges(busy_week(), DIMENSION_OF, max_nudges=1) == [step]
    assert nudges(busy_week(), DIMENSION_OF, max_nudges=0) == []
    with pytest.raises(ValueError):
        nudges(busy_week(), DIMENSION_OF, max_nudges=-1)


def test_snoozed_nudges_are_dropped_and_free_their_slot():
    everything = nudges(busy_week(), DIMENSION_OF, max_nudges=10)
    left = nudges(busy_week(), DIMENSION_OF, quiet={"stage_drop", "gap:hbr05", "not:a:key"})
    assert [n.key for n in left] == [
        "low_dimension:joint_planning",
        "participation:marketing",
        "gap:culture_trust",
        everything[-1].key,
    ]


def test_the_same_input_in_any_mapping_order_gives_the_same_nudges():
    week = busy_week()[-1].results
    reordered = Results(
        items=dict(reversed(week.items.items())),
        dimensions=dict(reversed(week.dimensions.items())),
        composites={},
        item_gaps=dict(reversed(week.item_gaps.items())),
        dimension_gaps=dict(reversed(week.dimension_gaps.items())),
    )
    same = [
        WeekSnapshot(s.week, reordered, s.stage, dict(reversed(s.participation.items()))) for s in busy_week()
    ]
    dimension_of = dict(reversed(DIMENSION_OF.items()))
    assert nudges(same, dimension_of, max_nudges=10) == nudges(busy_week(), DIMENSION_OF, max_nudges=10)


def test_every_code_is_listed_for_the_templates():
    found = nudges(busy_week(), DIMENSION_OF, days_since_useful_meeting=40, max_nudges=10)
    found += nudges(lead_weeks(forecast=(2.0, 3.5)), DIMENSION_OF, pipeline=crm(), max_nudges=10)
    assert {n.action for n in found} <= set(ACTIONS)
    assert set(kinds(found)) == set(KINDS)
    assert len(set(ACTIONS)) == len(ACTIONS)


# ----- the pipeline beside the perception -----------------------------------------------------------


def crm(
    rejected: tuple[float | None, float | None] = (0.30, 0.20),
    accuracy: float | None = 0.94,
    *,
    rejected_withheld: bool = False,
    in_week: bool = False,
) -> PipelineSection:
    """A digest's pipeline section: the MQLs rejected in the last quarter (now, the quarter before) or,
    `in_week`, only in the last week, and the last quarter's forecast accuracy."""
    nothing = PipelineFigure(MQL_REJECTED, None, None, 0)
    if rejected_withheld:
        shown_rejected = PipelineFigure(MQL_REJECTED, None, None, 3, withheld=True)
    else:
        shown_rejected = PipelineFigure(MQL_REJECTED, *rejected, 40)
    week, quarter = (shown_rejected, nothing) if in_week else (nothing, shown_rejected)
    return PipelineSection(
        "2025-W13",
        "2025-Q1",
        (
            PipelineLine(MQL_REJECTED, week, quarter, ()),
            PipelineLine(
                FORECAST_ACCURACY,
                PipelineFigure(FORECAST_ACCURACY, None, None, 0),
                PipelineFigure(FORECAST_ACCURACY, accuracy, None, 1),
                (),
            ),
        ),
        (),
    )


def lead_weeks(
    gap_from: float = 0.2,
    gap_to: float = 1.5,
    *,
    sales_now: Figure | None = None,
    forecast: tuple[float, float] | None = None,
) -> list[WeekSnapshot]:
    """Five weeks in which the teams' gap on "what counts as a qualified lead" (hbr07) goes from
    `gap_from` to `gap_to` (marketing rating higher); `forecast`: this week's (sales, marketing) means
    on "our actual sales land close to the forecast" (hbr01)."""
    weeks = []
    for n in range(5):
        gap = gap_from + (gap_to - gap_from) * n / 4
        items = {(SALES, "hbr07"): shown(3.0 - gap / 2), (MARKETING, "hbr07"): shown(3.0 + gap / 2)}
        if n == 4 and sales_now is not None:
            items[SALES, "hbr07"] = sales_now
        if n == 4 and forecast is not None:
            items |= {(SALES, "hbr01"): shown(forecast[0]), (MARKETING, "hbr01"): shown(forecast[1])}
        weeks.append(results(items=items))
    return history(*weeks)


def test_rising_rejections_with_a_widening_lead_gap_call_for_one_lead_definition():
    found = nudges(lead_weeks(), DIMENSION_OF, pipeline=crm())
    assert found == [
        Nudge(
            key="pipeline_leads",
            kind="pipeline_leads",
            action="agree_lead_definition",
            evidence={
                "item": "hbr07",
                "sales": 2.25,
                "marketing": 3.75,
                "sales_respondents": 10,
                "marketing_respondents": 10,
                "more_positive": MARKETING,
                "gap": 1.5,
                "gap_before": pytest.approx(0.2),
                "weeks": 4,
                "rejected": 0.30,
                "rejected_before": 0.20,
                "period": "2025-Q1",
                "records": 40,
            },
            audience="both_teams",
            priority=2,
        )
    ]
    assert still_readable(found[0])
    weekly = nudges(lead_weeks(), DIMENSION_OF, pipeline=crm(in_week=True))
    assert [n.evidence["period"] for n in weekly] == ["2025-W13"]


@pytest.mark.parametrize(
    ("rejected", "gaps", "fires"),
    [
        ((0.25, 0.20), (0.2, 0.7), True),  # both exactly at their boundary
        ((0.249, 0.20), (0.2, 1.5), False),  # rejections up by less than 5 points
        ((0.30, 0.20), (0.2, 0.69), False),  # the gap widened by less than half a point
        ((0.10, 0.20), (0.2, 1.5), False),  # rejections fell
        ((0.30, 0.20), (1.5, 0.2), False),  # the gap narrowed
        ((0.30, None), (0.2, 1.5), False),  # no figure for the quarter before
    ],
)
def test_the_lead_definition_nudge_fires_at_its_boundaries(rejected, gaps, fires):
    found = nudges(lead_weeks(*gaps), DIMENSION_OF, pipeline=crm(rejected))
    assert ("pipeline_leads" in kinds(found)) is fires


def test_no_lead_definition_nudge_from_withheld_figures():
    """The wide gap alone is still said where both teams' ratings are shown, without the CRM's figure."""
    for found in (
        nudges(lead_weeks(), DIMENSION_OF, pipeline=crm(rejected_withheld=True)),
        nudges(lead_weeks(), DIMENSION_OF),
        nudges(lead_weeks()[-1:], DIMENSION_OF, pipeline=crm()),
    ):
        assert kinds(found) == ["wide_gap"] and "rejected" not in found[0].evidence
    assert nudges(lead_weeks(sales_now=Figure()), DIMENSION_OF, pipeline=crm()) == []


def test_an_accurate_forecast_rated_low_is_a_matter_of_trust():
    found = nudges(lead_weeks(0.2, 0.2, forecast=(2.0, 3.5)), DIMENSION_OF, pipeline=crm())
    assert found == [
        Nudge(
            key="pipeline_forecast",
            kind="pipeline_forecast",
            action="review_forecast_together",
            evidence={
                "item": "hbr01",
                "sales": 2.0,
                "marketing": 3.5,
                "sales_respondents": 10,
                "marketing_respondents": 10,
                "more_positive": MARKETING,
                "accuracy": 0.94,
                "period": "2025-Q1",
            },
            audience="both_teams",
            priority=2,
        )
    ]
    assert still_readable(found[0])


@pytest.mark.parametrize(
    ("accuracy", "forecast", "fires"),
    [
        (0.9, (2.5, 4.0), True),  # both exactly at their boundary
        (0.89, (2.0, 4.0), False),  # the forecast missed by more than 10 %: accuracy is the problem
        (0.94, (2.6, 2.6), False),  # neither team rates it low
        (None, (2.0, 4.0), False),  # no forecast with its actual
    ],
)
def test_the_forecast_trust_nudge_fires_at_its_boundaries(accuracy, forecast, fires):
    found = nudges(lead_weeks(0.2, 0.2, forecast=forecast), DIMENSION_OF, pipeline=crm(accuracy=accuracy))
    assert ("pipeline_forecast" in kinds(found)) is fires


def test_no_forecast_trust_nudge_when_a_team_is_below_the_threshold():
    weeks = lead_weeks(0.2, 0.2, forecast=(2.0, 3.5))
    last = weeks[-1].results
    items = {**last.items, (MARKETING, "hbr01"): Figure()}
    weeks[-1] = WeekSnapshot(weeks[-1].week, results(items=items), None, {})
    assert nudges(weeks, DIMENSION_OF, pipeline=crm()) == []


# ----- privacy: nothing from a withheld group ------------------------------------------------------

share = st.none() | st.floats(0, 1)
#: How a group tends to rate: anywhere, low or high, so low dimensions and wide gaps do occur.
moods = st.sampled_from([(1, 5), (1, 2), (1, 3), (3, 5), (4, 5)])


@st.composite
def companies(draw) -> list[tuple[list[Response], dict[str, float | None]]]:
    """A few weeks of answers from up to 20 people, each in one department (or none) throughout."""
    department_of = draw(st.lists(st.sampled_from([SALES, MARKETING, None]), min_size=20, max_size=20))
    mood = {group: draw(moods) for group in (SALES, MARKETING, None)}
    weeks = []
    for _week in range(draw(st.integers(1, 5))):
        # each person may answer each item once: None is a skipped question
        picks = draw(
            st.lists(st.none() | st.integers(0, 4), min_size=20 * len(ITEMS), max_size=20 * len(ITEMS))
        )
        rows = []
        for (person, item), pick in zip(product(range(20), sorted(ITEMS)), picks, strict=True):
            if pick is not None:
                low, high = mood[department_of[person]]
                rows.append(
                    Response(f"r{person}", item, department_of[person], low + pick % (high - low + 1))
                )
        weeks.append((rows, draw(st.fixed_dictionaries({SALES: share, MARKETING: share}))))
    return weeks


def shown_numbers(snapshot: WeekSnapshot) -> set[float]:
    """Every number this week's results show; a withheld figure contributes none."""
    figures = [*snapshot.results.items.values(), *snapshot.results.dimensions.values()]
    numbers = {n for f in figures if not f.withheld for n in (f.mean, f.respondents)}
    numbers |= {
        abs(g) for g in (*snapshot.results.item_gaps.values(), *snapshot.results.dimension_gaps.values())
    }
    numbers |= {c.score for c in snapshot.results.composites.values() if not c.withheld}
    return numbers | {s for s in snapshot.participation.values() if s is not None}


@settings(max_examples=300, deadline=None)
@given(companies(), st.integers(3, 6), st.integers(0, 8))
def test_every_number_in_a_nudge_comes_from_a_shown_figure(weeks, threshold, max_nudges):
    snapshots, stage = [], None
    for n, (rows, participation) in enumerate(weeks):
        scored = score(rows, ITEMS, threshold)
        stage = settled_stage(stage, scored.composites[EVERYONE])
        snapshots.append(WeekSnapshot(MONDAY + timedelta(weeks=n), scored, stage, participation))
    found = nudges(snapshots, DIMENSION_OF, max_nudges=max_nudges)

    assert len(found) <= max_nudges
    assert len({n.key for n in found}) == len(found)
    assert [n.priority for n in found] == sorted(n.priority for n in found)
    current = snapshots[-1]
    # the stage's step is never crowded out, and no two nudges say the same sentence
    if current.stage is not None and max_nudges > 0:
        assert found[-1].kind == "next_stage" and found[-1].action in PLAYBOOK[current.stage]
    assert "next_stage" not in kinds(found)[:-1]
    assert len({n.action for n in found}) == len(found)
    allowed = shown_numbers(current)
    for nudge in found:
        assert nudge.evidence  # every nudge says what triggered it
        for name, value in nudge.evidence.items():
            if isinstance(value, str):
                continue
            if name == "weeks":
                assert 1 <= value <= len(snapshots)
            elif name == "target":
                assert value * 20 in BAND_FLOORS
            else:
                assert value in allowed, (nudge.key, name, value)
        if nudge.kind == "low_dimension":
            dimension = nudge.evidence["dimension"]
            assert {"mean", "target", "weeks"} <= set(nudge.evidence)
            for snapshot in snapshots[-nudge.evidence["weeks"] :]:
                figure = snapshot.results.dimensions[EVERYONE, dimension]
                assert not figure.withheld and figure.mean < nudge.evidence["target"]
        if nudge.kind == "wide_gap":
            figures = current.results.items if "item" in nudge.evidence else current.results.dimensions
            key = nudge.evidence.get("item", nudge.evidence.get("dimension"))
            assert not figures[SALES, key].withheld and not figures[MARKETING, key].withheld
    assert nudges(snapshots, DIMENSION_OF, max_nudges=max_nudges) == found


def test_a_nudge_stored_by_an_earlier_version_is_left_out_rather_than_shown_half():
    """A meeting reminder's agenda keeps its nudges as JSON; an upgrade may rename an action or add
    evidence the templates read, and re-rendering such a reminder must not fail."""
    current = Nudge(
        "k",
        "low_dimension",
        ACTIONS[0],
        {"dimension": "d", "target": 3.0, "target_stage": "aligned"},
        "leaders",
        1,
    )
    renamed = Nudge(
        "k", "next_stage", "define_processes_and_roles", {"target_stage": "defined"}, "leaders", 1
    )
    missing_target = Nudge("k", "low_dimension", ACTIONS[0], {"dimension": "d", "mean": 2.1}, "leaders", 1)
    assert still_readable(current)
    assert not still_readable(renamed)
    assert not still_readable(missing_target)
