"""Which statements a pulse round asks.

Everyone in a round gets the same statements, so both departments answer every item equally often
and each item's answer groups stay as large as the anonymity threshold needs.

**The scored statements come first, on a fixed wheel.** With s scored statements besides the anchor
and p per round, they sit in a fixed order (drawn once from the cadence's seed) on a wheel of
L ≥ ceil(s / p) rounds: slot j of the wheel's L·p slots is asked in round j mod L, the first s slots
holding the scored statements. So every scored statement is asked exactly once in any L consecutive
rounds, and a scoring window holding L rounds holds the whole instrument. L is the window's rounds
minus one (a skipped or missed round costs nothing), or ceil(s / p) when that is longer; a switched-off
statement leaves the wheel, and the others keep their relative order.

**The other statements take the slots left over**, in cycles of their own, as below. With no scored
statement active, every statement rotates that way. With n rotating items and p per round, for a
fixed set of items:

- the asks, read round after round in the order returned, are back-to-back cycles in which every
  item appears exactly once, so no item is ever more than one ask ahead of another, and every
  item is asked in any ceil((2n - 1) / p) consecutive rounds;
- when n >= 2p, no item is asked in two consecutive rounds;
- an item added mid-cycle joins the current cycle as not yet asked; a removed one is not chosen.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Sequence


def wheel_rounds(scored: int, per_round: int, window_rounds: int | None) -> int:
    """L, the rounds in which the wheel asks every scored statement (besides the anchor) once."""
    shortest = max(1, math.ceil(scored / per_round))
    return max(shortest, window_rounds - 1) if window_rounds else shortest


def window_coverage(scored: int, per_round: int, window_rounds: int, anchored: bool = False) -> int:
    """How many scored statements any `window_rounds` consecutive rounds ask, at the least (the
    anchor among them when `anchored`): all of them when the window holds the wheel."""
    if window_rounds < 1:
        return 0
    length = wheel_rounds(scored, per_round, window_rounds)
    fewest = min(
        sum(1 for slot in range(scored) if (slot % length - first) % length < window_rounds)
        for first in range(length)
    )
    return fewest + anchored


def choose_items(
    active_ids: Sequence[str],
    per_round: int,
    history: Sequence[Sequence[str]],
    seed: str,
    anchor: str | None = None,
    scored: Collection[str] = (),
    window_rounds: int | None = None,
) -> tuple[str, ...]:
    """The next round's item ids: `per_round` rotating items, then the anchor if it is active.

    `history` holds the ids asked in each earlier round of the cadence, oldest first; the wheel's
    place and the cycle state are recovered from it, so nothing else needs storing. Ties are broken
    by a shuffle seeded with the cadence's seed and round number, so the same inputs always give the
    same round, in any process. `window_rounds`: how many rounds the cadence holds in a scoring window.
    """
    if per_round < 1:
        raise ValueError(f"per_round must be at least 1, not {per_round}")
    riding = (anchor,) if anchor in set(active_ids) else ()
    wheel = sorted(set(active_ids) & set(scored) - {anchor}, key=lambda item: (_draw(seed, item), item))
    if not wheel:
        return _cycle(active_ids, per_round, history, seed, anchor) + riding
    length = wheel_rounds(len(wheel), per_round, window_rounds)
    place = len(history) % length
    chosen = tuple(wheel[slot] for slot in range(place, len(wheel), length))
    others = [item for item in active_ids if item not in set(wheel) | {anchor}]
    free = per_round - len(chosen)
    if free and others:
        earlier = [[item for item in round_ids if item in set(others)] for round_ids in history]
        chosen += _cycle(others, free, earlier, seed, None)
    return chosen + riding


def _draw(seed: str, item: str) -> float:
    """The item's place on the cadence's wheel: fixed for the cadence, whatever else is active."""
    return random.Random(f"{seed}:wheel:{item}").random()


def _cycle(
    active_ids: Sequence[str], per_round: int, history: Sequence[Sequence[str]], seed: str, anchor: str | None
) -> tuple[str, ...]:
    """`per_round` of the active items other than the anchor, in cycles (see the module's notes)."""
    active = set(active_ids)
    rotating = sorted(active - {anchor})
    asked = _asked_this_cycle(rotating, history, anchor)
    previous = set(history[-1]) if history else set()
    random.Random(f"{seed}:{len(history)}").shuffle(rotating)
    # With fewer than 2p items a repeat across rounds is unavoidable, so covering the cycle comes first.
    strict = len(rotating) >= 2 * per_round
    candidates = [item for item in rotating if not (strict and item in previous)]
    candidates.sort(key=lambda item: (item in asked, item in previous))
    return tuple(candidates[:per_round])


def _asked_this_cycle(
    rotating: Collection[str], history: Sequence[Sequence[str]], anchor: str | None
) -> set[str]:
    """The rotating items asked since the current cycle began.

    Any item asked a second time, even one removed since, marks the start of a new cycle: the
    rotation repeats an item only after all the items active at the time were asked. Items added
    since then join the cycle in progress. A cycle that already covers every rotating item is
    complete, so the next round starts a new one.
    """
    in_cycle: set[str] = set()
    for item in (item for round_ids in history for item in round_ids if item != anchor):
        if item in in_cycle:
            in_cycle = set()
        in_cycle.add(item)
    asked = in_cycle & set(rotating)
    return set() if len(asked) == len(rotating) else asked
