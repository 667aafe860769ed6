"""Properties of the rotation, over random item counts, round sizes, seeds and numbers of rounds.

With n rotating items and p per round (fixed set of items), the rotation guarantees:
- every round asks min(p, n) distinct rotating items, plus the anchor (last) when it is active;
- the asks, read in order, are back-to-back cycles of n asks, each asking every item exactly once
  (so ask counts never differ by more than one, and every item is asked in any
  ceil((2n - 1) / p) consecutive rounds);
- when n >= 2p, no item is asked in two consecutive rounds;
- after items are added or removed mid-cycle, the rest of the current cycle (including the new
  items) is asked before any item repeats, and back-to-back cycles resume.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain.rotation import choose_items, wheel_rounds, window_coverage

counts = st.integers(min_value=1, max_value=40)
per_rounds = st.integers(min_value=1, max_value=5)
seeds = st.text(max_size=12)
round_counts = st.integers(min_value=0, max_value=30)


def ids(n: int, prefix: str = "q") -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def run(active, per_round, seed, rounds, anchor=None, history=()) -> list[tuple[str, ...]]:
    history = list(history)
    for _ in range(rounds):
        history.append(choose_items(active, per_round, history, seed, anchor))
    return history


def asks(rounds, anchor=None) -> list[str]:
    return [item for round_ids in rounds for item in round_ids if item != anchor]


def assert_back_to_back_cycles(stream: list[str], items: list[str]) -> None:
    """Every complete block of n asks is a permutation of the items; the last, partial one repeats nothing."""
    n = len(items)
    for start in range(0, len(stream), n):
        block = stream[start : start + n]
        assert len(set(block)) == len(block)
        if len(block) == n:
            assert sorted(block) == sorted(items)


@given(counts, per_rounds, seeds, round_counts)
def test_the_same_inputs_give_the_same_rounds(n, per_round, seed, rounds):
    history = run(ids(n), per_round, seed, rounds)
    assert run(ids(n), per_round, seed, rounds) == history
    assert choose_items(ids(n), per_round, history, seed) == choose_items(ids(n), per_round, history, seed)


def test_rounds_do_not_depend_on_the_process():
    # `random.Random` seeded with a string is stable across processes (no hash randomisation).
    assert run(ids(6), 2, "cadence-1", 3) == [("q03", "q00"), ("q04", "q01"), ("q02", "q05")]


@given(counts, per_rounds, seeds, round_counts)
def test_the_order_of_the_active_ids_does_not_matter(n, per_round, seed, rounds):
    assert run(ids(n)[::-1], per_round, seed, rounds) == run(ids(n), per_round, seed, rounds)


@given(counts, per_rounds, seeds, round_counts)
def test_every_round_asks_min_p_n_distinct_active_items(n, per_round, seed, rounds):
    for round_ids in run(ids(n), per_round, seed, rounds):
        assert len(round_ids) == len(set(round_ids)) == min(per_round, n)
        assert set(round_ids) <= set(ids(n))


@given(counts, per_rounds, seeds, round_counts)
def test_asks_form_back_to_back_cycles_of_every_item(n, per_round, seed, rounds):
    assert_back_to_back_cycles(asks(run(ids(n), per_round, seed, rounds)), ids(n))


@given(counts, per_rounds, seeds, round_counts)
def test_ask_counts_differ_by_at_most_one_after_every_round(n, per_round, seed, rounds):
    history = run(ids(n), per_round, seed, rounds)
    for end in range(1, len(history) + 1):
        stream = asks(history[:end])
        tally = [stream.count(item) for item in ids(n)]
        assert max(tally) - min(tally) <= 1


@given(counts, per_rounds, seeds)
def test_every_item_is_asked_in_any_window_of_ceil_2n_minus_1_over_p_rounds(n, per_round, seed):
    window = math.ceil((2 * n - 1) / per_round)
    history = run(ids(n), per_round, seed, window + 10)
    for start in range(len(history) - window + 1):
        assert set(asks(history[start : start + window])) == set(ids(n))


@given(counts, per_rounds, seeds)
def test_a_cycle_starting_with_the_cadence_is_covered_in_ceil_n_over_p_rounds(n, per_round, seed):
    history = run(ids(n), per_round, seed, math.ceil(n / per_round))
    assert set(asks(history)) == set(ids(n))


@given(counts, per_rounds, seeds, round_counts)
def test_no_item_in_consecutive_rounds_when_there_are_at_least_2p_items(n, per_round, seed, rounds):
    assume(n >= 2 * per_round)
    history = run(ids(n), per_round, seed, rounds)
    for before, after in zip(history, history[1:], strict=False):
        assert not set(before) & set(after)


@given(counts, per_rounds, seeds, round_counts, st.data())
def test_the_anchor_rides_along_last_and_never_rotates(n, per_round, seed, rounds, data):
    active = ids(n + 1)
    anchor = data.draw(st.sampled_from(active))
    rotating = [item for item in active if item != anchor]
    history = run(active, per_round, seed, rounds, anchor=anchor)
    for round_ids in history:
        assert round_ids[-1] == anchor
        assert anchor not in round_ids[:-1]
        assert len(round_ids) == min(per_round, n) + 1
    assert_back_to_back_cycles(asks(history, anchor), rotating)


def test_an_inactive_anchor_is_not_asked():
    assert "gone" not in choose_items(ids(5), 2, [], "s", anchor="gone")
    assert len(choose_items(ids(5), 2, [], "s", anchor="gone")) == 2


def test_an_anchor_alone_is_asked_alone():
    assert choose_items(["a"], 3, [], "s", anchor="a") == ("a",)


def test_no_active_items_means_no_round():
    assert choose_items([], 3, [], "s") == ()
    assert choose_items([], 3, [["q00", "q01"]], "s", anchor="q00") == ()


def test_fewer_items_than_per_round_are_all_asked():
    assert sorted(choose_items(ids(2), 5, [], "s")) == ids(2)


def test_per_round_must_be_positive():
    with pytest.raises(ValueError, match="per_round"):
        choose_items(ids(3), 0, [], "s")


@given(counts, per_rounds, seeds, round_counts, st.data())
def test_items_added_or_removed_mid_cycle_join_or_leave_the_current_cycle(n, per_round, seed, rounds, data):
    before = ids(n)
    removed = set(data.draw(st.lists(st.sampled_from(before), unique=True)))
    added = ids(data.draw(st.integers(min_value=0, max_value=10)), prefix="new")
    after = [item for item in before if item not in removed] + added
    assume(after)
    history = run(before, per_round, seed, rounds)

    # The current cycle is the partial last block of asks, or the last full one when there is none
    # (from history alone, a complete cycle may still be waiting for items added since).
    stream = asks(history)
    in_cycle = (len(stream) % n or n) if stream else 0
    asked = set(stream[len(stream) - in_cycle :]) & set(after)
    remaining = set(after) - asked or set(after)

    more = math.ceil(2 * len(after) / per_round) + 2
    continued = asks(run(after, per_round, seed, more, history=history)[len(history) :])
    assert not set(continued) & removed
    assert set(continued[: len(remaining)]) == remaining
    assert_back_to_back_cycles(continued[len(remaining) :], after)


# ----- the scored statements on their wheel ------------------------------------------------------


def scored_run(scored, others, per_round, seed, rounds, window_rounds, anchor="anchor", history=()):
    active = [*scored, *others, anchor]
    history = list(history)
    for _ in range(rounds):
        history.append(
            choose_items(active, per_round, history, seed, anchor, scored=scored, window_rounds=window_rounds)
        )
    return history


def fewest_in_any_window(rounds, scored, width) -> int:
    return min(
        len({item for round_ids in rounds[start : start + width] for item in round_ids if item in scored})
        for start in range(len(rounds) - width + 1)
    )


@pytest.mark.parametrize(
    ("per_round", "switched_off", "custom"),
    [(3, 0, 0), (3, 2, 0), (3, 0, 4), (4, 1, 3), (5, 0, 0)],
)
def test_with_the_default_window_every_scored_statement_is_asked_in_every_window(
    per_round, switched_off, custom
):
    """The packaged bank (19 scored statements on the wheel, the anchor, 17 others), a weekly cadence
    and the 8-week window: every 8 consecutive rounds ask every active scored statement, and one
    skipped round (7 in the window) still does; with statements switched off or added too."""
    scored = ids(19 - switched_off, "hbr")
    others = ids(17 + custom, "ext")
    rounds = scored_run(scored, others, per_round, "seed", 40, window_rounds=8)
    for width in (8, 7):
        assert fewest_in_any_window(rounds, scored, width) == len(scored)
        assert window_coverage(len(scored), per_round, 8, anchored=True) == len(scored) + 1
    assert all(len(round_ids) == per_round + 1 and round_ids[-1] == "anchor" for round_ids in rounds)
    # the other statements share the slots left over evenly
    asked = [item for round_ids in rounds for item in round_ids if item in others]
    counts = [asked.count(item) for item in others]
    assert asked and max(counts) - min(counts) <= 1


@given(st.integers(1, 25), st.integers(0, 20), per_rounds, seeds, st.integers(1, 12))
def test_every_window_asks_what_window_coverage_promises(n_scored, n_others, per_round, seed, window_rounds):
    """Whatever the settings, `window_coverage` (what the admins are told) is what every window gets."""
    scored = ids(n_scored, "hbr")
    rounds = scored_run(scored, ids(n_others, "ext"), per_round, seed, 30, window_rounds)
    promised = window_coverage(n_scored, per_round, window_rounds)
    assert fewest_in_any_window(rounds, scored, window_rounds) == promised
    if per_round * (window_rounds - 1) >= n_scored:
        assert promised == n_scored


@pytest.mark.parametrize(("per_round", "wheel", "covered"), [(1, 19, 9), (2, 10, 16)])
def test_too_few_per_round_for_the_window_is_what_it_costs(per_round, wheel, covered):
    """One or two statements a round cannot cover 19 in 8 weeks: the wheel is longer than the window."""
    assert wheel_rounds(19, per_round, 8) == wheel
    assert window_coverage(19, per_round, 8, anchored=True) == covered
    rounds = scored_run(ids(19, "hbr"), ids(17, "ext"), per_round, "seed", 40, window_rounds=8)
    assert fewest_in_any_window(rounds, ids(19, "hbr"), 8) == covered - 1
