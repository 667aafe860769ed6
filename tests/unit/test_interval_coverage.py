"""The interval's coverage, by the simulation in `bench.interval_coverage` with fewer companies.

The full run (1,000 companies, the figure in docs/MODEL.md) takes minutes; this one checks, on a
fixed seed, that the nominal 95 % interval still covers the true score about as often as it says.
"""

from __future__ import annotations

from bench.interval_coverage import coverage, simulate
from bot.domain.vocabulary import EVERYONE, MARKETING, SALES


def test_the_nominal_95_percent_interval_covers_the_true_score_about_95_percent_of_the_time():
    outcomes = simulate(companies=80, seed=3)
    for group in (EVERYONE, SALES, MARKETING):
        share, companies = coverage(outcomes, group)
        assert companies >= 75
        assert 0.87 <= share <= 1.0, (group, share)
