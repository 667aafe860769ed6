"""Action items' follow-up: which items a digest follows up, and only figures it may show."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.action_items import (
    MAX_FOLLOW_UPS,
    ActionItem,
    Movement,
    dimension_of_nudge,
    follow_ups,
    shown_figures,
)
from bot.domain.people import SlackUser, may_lead
from bot.domain.scoring import EVERYONE, MARKETING, SALES, Composite, Figure, Results

TODAY = date(2026, 5, 25)
DIMENSIONS = {"information_sharing", "shared_language"}
DIMENSION_OF = {"hbr04": "information_sharing", "hbr07": "shared_language"}


def results(sales: float | None, marketing: float | None, everyone: float | None, score=None) -> Results:
    def figure(mean):
        return Figure(respondents=None if mean is None else 6, mean=mean)

    dimension = "information_sharing"
    return Results(
        items={},
        dimensions={
            (SALES, dimension): figure(sales),
            (MARKETING, dimension): figure(marketing),
            (EVERYONE, dimension): figure(everyone),
        },
        composites={EVERYONE: Composite(respondents=12, score=score) if score else Composite()},
        item_gaps={},
        dimension_gaps={},
    )


def item(n: int = 1, status: str = "open", taken: date = TODAY - timedelta(weeks=4), **changes) -> ActionItem:
    values = {
        "id": n,
        "nudge_key": "low_dimension:information_sharing",
        "title": "Agree one lead definition",
        "owner": "U0ANA",
        "due": TODAY,
        "status": status,
        "taken_on": taken,
        "dimension": "information_sharing",
        "baseline": {SALES: 2.4, MARKETING: 2.9, EVERYONE: 2.6},
        "closed_on": None if status == "open" else TODAY - timedelta(days=3),
    }
    return ActionItem(**(values | changes))


def test_a_nudge_s_dimension_comes_from_its_key_or_its_statement():
    assert dimension_of_nudge("low_dimension:shared_language", DIMENSION_OF, DIMENSIONS) == "shared_language"
    assert dimension_of_nudge("gap:information_sharing", DIMENSION_OF, DIMENSIONS) == "information_sharing"
    assert dimension_of_nudge("gap:hbr07", DIMENSION_OF, DIMENSIONS) == "shared_language"
    assert dimension_of_nudge("next_stage:step_roles", DIMENSION_OF, DIMENSIONS) is None
    assert dimension_of_nudge("participation:sales", DIMENSION_OF, DIMENSIONS) is None


def test_the_figures_kept_are_the_shown_ones_or_the_score_without_a_dimension():
    assert shown_figures(results(2.4, None, 2.6), "information_sharing") == {SALES: 2.4, EVERYONE: 2.6}
    assert shown_figures(results(2.4, 2.9, 2.6, score=55.0), None) == {"score": 55.0}
    assert shown_figures(results(None, None, None), None) == {}
    assert shown_figures(None, "information_sharing") == {}


def test_the_follow_up_says_how_each_team_moved_since_it_was_taken():
    (found,) = follow_ups([item()], results(3.1, 3.0, 3.05), TODAY)
    assert found.movements == (Movement(SALES, 2.4, 3.1), Movement(MARKETING, 2.9, 3.0))


def test_a_team_withheld_then_or_now_is_left_out_and_everyone_stands_in_for_both():
    (one_side,) = follow_ups([item(baseline={SALES: 2.4, EVERYONE: 2.6})], results(3.1, 3.0, 3.05), TODAY)
    assert one_side.movements == (Movement(SALES, 2.4, 3.1),)
    (neither,) = follow_ups([item()], results(None, None, 3.05), TODAY)
    assert neither.movements == (Movement(EVERYONE, 2.6, 3.05),)
    (nothing,) = follow_ups([item()], results(None, None, None), TODAY)
    assert nothing.movements == ()


def test_open_and_recently_done_items_are_followed_up_newest_first_never_dropped_ones():
    items = [
        item(1, taken=TODAY - timedelta(weeks=6)),
        item(2, "done", taken=TODAY - timedelta(weeks=5)),
        item(3, "dropped", taken=TODAY - timedelta(weeks=4)),
        item(4, "done", taken=TODAY - timedelta(weeks=20), closed_on=TODAY - timedelta(weeks=9)),
        item(5, taken=TODAY + timedelta(days=1)),  # taken after this digest's reading
    ]
    assert [f.item.id for f in follow_ups(items, results(3.0, 3.0, 3.0), TODAY)] == [2, 1]
    many = [item(n, taken=TODAY - timedelta(days=n)) for n in range(1, 6)]
    assert [f.item.id for f in follow_ups(many, results(3.0, 3.0, 3.0), TODAY)] == [1, 2, 3]
    assert MAX_FOLLOW_UPS == 3


means = st.none() | st.sampled_from([1.5, 2.0, 2.4, 3.0, 3.7, 4.2])


@settings(max_examples=200, deadline=None)
@given(means, means, means, means, means, means)
def test_every_number_in_a_follow_up_was_shown_then_and_is_shown_now(s0, m0, e0, s1, m1, e1):
    then = shown_figures(results(s0, m0, e0), "information_sharing")
    now = results(s1, m1, e1)
    shown_now = shown_figures(now, "information_sharing")
    (found,) = follow_ups([item(baseline=then)], now, TODAY)
    for movement in found.movements:
        assert then[movement.group] == movement.then and shown_now[movement.group] == movement.now


def person(user_id: str = "U1", **flags) -> SlackUser:
    return SlackUser.from_api({"id": user_id, **flags})


def test_leaders_are_admins_named_leaders_and_the_leadership_channel_s_members():
    assert may_lead(person(is_admin=True), (), (), ())
    assert may_lead(person(), {"U1"}, (), ())
    assert may_lead(person(), (), ["U1"], ())
    assert may_lead(person(), (), (), ["U1"])
    assert not may_lead(person(), {"U2"}, ["U2"], ["U2"])
    assert not may_lead(person(is_restricted=True), (), ["U1"], ["U1"])  # a guest
    assert not may_lead(person(deleted=True), (), ["U1"], ["U1"])
