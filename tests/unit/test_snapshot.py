"""The threshold a snapshot is read with: the one in force at its instant, a change applying after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.snapshot import ThresholdChange, threshold_at

SETUP = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CHANGES = [
    ThresholdChange("U0OWNER01", SETUP, None, 5),
    ThresholdChange("U0ADMIN01", SETUP + timedelta(days=3), 5, 3),
    ThresholdChange("U0OWNER01", SETUP + timedelta(days=9), 3, 7),
]


def test_no_history_no_threshold():
    assert threshold_at([], SETUP) is None


def test_each_instant_reads_the_threshold_in_force_then():
    assert threshold_at(CHANGES, SETUP + timedelta(days=1)) == 5
    assert threshold_at(CHANGES, SETUP + timedelta(days=5)) == 3
    assert threshold_at(CHANGES, SETUP + timedelta(days=30)) == 7


def test_a_change_applies_after_its_instant_not_at_it():
    """A snapshot taken at the very instant of a change may have been read before it."""
    assert threshold_at(CHANGES, SETUP + timedelta(days=3)) == 5
    assert threshold_at(CHANGES, SETUP + timedelta(days=3, microseconds=1)) == 3


def test_before_the_history_the_first_threshold_set():
    assert threshold_at(CHANGES, SETUP) == 5
    assert threshold_at(CHANGES, SETUP - timedelta(days=1)) == 5
    started_later = [ThresholdChange("U0OWNER01", SETUP, 4, 6)]  # a history begun by an upgrade
    assert threshold_at(started_later, SETUP - timedelta(days=1)) == 4
