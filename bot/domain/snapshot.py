"""What every figure is read from, so that no two readings can be subtracted to find one person.

A figure counts only rounds and meeting checks that have closed: while one is open, each tap
would move the figures, and two readings minutes apart would give that tap back. The surfaces
read at the snapshot instant, the latest close, with the anonymity threshold in force then:
every reader sees the same figures until the next round or check closes, whatever the clock,
the comments or the threshold did in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class ThresholdChange:
    """An admin saved a new anonymity threshold (`old` is None at the first setup)."""

    changed_by: str
    changed_at: datetime
    old: int | None
    new: int


def threshold_at(changes: Sequence[ThresholdChange], at: datetime) -> int | None:
    """The threshold figures read at `at` use, from the changes oldest first; None when there are none.

    A change applies after its instant: a snapshot taken at that very instant may have been read
    before it. Before the first change, the one it replaced (or, at the first setup, the one it set).
    """
    in_force = None
    for change in changes:
        if change.changed_at >= at:
            break
        in_force = change.new
    if in_force is None and changes:
        first = changes[0]
        return first.old if first.old is not None else first.new
    return in_force


@dataclass(frozen=True)
class Snapshot:
    """The rounds and meeting checks closed by `as_of`, read with the threshold in force then."""

    as_of: datetime
    threshold: int
    rounds: tuple[date, ...]
    """When each closed pulse round of the window was sent, oldest first."""
