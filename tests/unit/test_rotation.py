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

from bot.domain.rotation import choose_items

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
