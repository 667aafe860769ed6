"""Student's t quantile without scipy, against scipy's (which only the tests and benchmarks have)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import t as student_t

from bot.domain import student_t as ours

#: Whole and fractional degrees of freedom, from below one (Welch–Satterthwaite of two tiny teams)
#: to a million; about either side of 200, where log B(ν/2, 1/2) changes how it is computed.
FREEDOMS = (0.5, 0.73, 1, 1.3, 2, 2.5, 3.7, 5, 9.3, 17.2, 30, 99.5, 199.9, 200.1, 313.7, 1000, 2399, 12_345.6)
FREEDOMS += (1e5, 333_333.3, 1e6)
PROBABILITIES = (1e-10, 1e-6, 1e-4, 0.001, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.250001, 0.3, 0.4)
PROBABILITIES += (0.49, 0.4999)
PROBABILITIES += tuple(1 - p for p in PROBABILITIES)


@pytest.mark.parametrize("freedom", FREEDOMS)
def test_the_quantile_is_scipys_to_a_billionth(freedom):
    for probability in PROBABILITIES:
        assert ours.quantile(probability, freedom) == pytest.approx(
            student_t.ppf(probability, freedom), rel=1e-9, abs=0
        ), probability


@given(
    probability=st.floats(1e-12, 1 - 1e-12).filter(lambda p: abs(p - 0.5) > 1e-6),
    freedom=st.floats(0.5, 1e6),
)
def test_any_quantile_is_scipys_to_a_billionth(probability, freedom):
    assert ours.quantile(probability, freedom) == pytest.approx(
        student_t.ppf(probability, freedom), rel=1e-9, abs=0
    )


@pytest.mark.parametrize("offset", [1e-12, 1e-9, 1e-6])
def test_near_the_centre_it_keeps_its_digits(offset):
    """Where scipy's lose some (p − 1/2 is exact, 1 − p less so), against the closed forms."""
    for probability in (0.5 - offset, 0.5 + offset):
        centred = probability - 0.5
        cauchy = math.tan(math.pi * centred)
        two = 2 * centred / math.sqrt(2 * probability * (1 - probability))
        assert ours.quantile(probability, 1) == pytest.approx(cauchy, rel=1e-12)
        assert ours.quantile(probability, 2) == pytest.approx(two, rel=1e-12)
    assert ours.quantile(0.5, 7.5) == 0.0
