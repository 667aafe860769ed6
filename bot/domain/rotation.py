"""Which statements a pulse round asks.

Everyone in a round gets the same statements, so both departments answer every item equally often
and each item's answer groups stay as large as the anonymity threshold needs. A few items rotate
through each round, in cycles: an item is asked a second time only once every active item has been
asked in the current cycle. With n rotating items and p per round, for a fixed set of items:

- the asks, read round after round in the order returned, are back-to-back cycles in which every
  item appears exactly once, so no item is ever more than one ask ahead of another, and every
  item is asked in any ceil((2n - 1) / p) consecutive rounds;
- when n >= 2p, no item is asked in two consecutive rounds;
- an item added mid-cycle joins the current cycle as not yet asked; a removed one is not chosen.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence


def choose_items(
    active_ids: Sequence[str],
    per_round: int,
    history: Sequence[Sequence[str]],
    seed: str,
    anchor: str | None = None,
) -> tuple[str, ...]:
    """The next round's item ids: `per_round` rotating items, then the anchor if it is active.

    `history` holds the ids asked in each earlier round of the cadence, oldest first; the cycle state
    is recovered from it, so nothing else needs storing. Ties are broken by a shuffle seeded with the
    cadence's seed and round number, so the same inputs always give the same round, in any process.
    """
    if per_round < 1:
        raise ValueError(f"per_round must be at least 1, not {per_round}")
    active = set(active_ids)
    rotating = sorted(active - {anchor})
    asked = _asked_this_cycle(rotating, history, anchor)
    previous = set(history[-1]) if history else set()
    random.Random(f"{seed}:{len(history)}").shuffle(rotating)
    # With fewer than 2p items a repeat across rounds is unavoidable, so covering the cycle comes first.
    strict = len(rotating) >= 2 * per_round
    candidates = [item for item in rotating if not (strict and item in previous)]
    candidates.sort(key=lambda item: (item in asked, item in previous))
    riding = (anchor,) if anchor in active else ()
    return tuple(candidates[:per_round]) + riding


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
