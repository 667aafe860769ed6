"""Student's t quantile for any positive degrees of freedom, in pure Python.

The score's interval needs one quantile per composite, with Welch–Satterthwaite degrees of freedom
that are seldom whole numbers. scipy computes it, but its special functions keep about 8 MB (25 MB
alone) in a long-running server for that one number (issue 13: `serve` at most 100 MB), so scipy is
for the tests and the benchmarks only, which check this against `scipy.stats.t.ppf`.
"""

from __future__ import annotations

import math
from statistics import NormalDist

#: Newton's relative step in t below which t has converged. The convergence is quadratic, so the
#: step after it would be below 1e-17; and the steps the continued fraction's own rounding makes
#: (about 1e-17 × the degrees of freedom) stay below it up to tens of millions of them.
CONVERGED = 1e-9
#: More terms of the continued fraction than it ever needs (about √a near its threshold).
MAX_TERMS = 10_000
#: Stands in for a zero denominator in the continued fraction (Lentz's method).
TINY = 1e-300


def quantile(probability: float, freedom: float) -> float:
    """The t with P(T ≤ t) = `probability` for Student's t with `freedom` degrees of freedom.

    Newton's method on the logarithms of t and of the probability beyond t (or, near the centre,
    within ±t, which keeps the precision there), from the normal quantile corrected by
    Cornish–Fisher: both logarithms are concave in log t, so it converges from any start.
    """
    tail = min(probability, 1 - probability)
    if tail == 0.5:
        return 0.0
    central = tail > 0.25
    target = math.log(1 - 2 * tail) if central else math.log(tail)
    z = NormalDist().inv_cdf(1 - tail)
    t = z + (z**3 + z) / (4 * freedom) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * freedom**2)
    half = freedom / 2
    log_beta = _log_beta_half(half)
    for _ in range(100):
        # x = ν / (ν + t²) and 1 − x with their logarithms, each computed directly, so that none
        # loses its digits to a subtraction
        ratio = t * t / freedom
        log_x = -math.log1p(ratio)
        log_y = math.log(ratio) + log_x
        density = math.exp(-log_beta - math.log(freedom) / 2 + (half + 0.5) * log_x)
        if central:
            area = _incomplete_beta(math.exp(log_y), log_y, log_x, 0.5, half, log_beta)
            step = (target - math.log(area)) * area / (2 * t * density)
        else:
            area = _incomplete_beta(math.exp(log_x), log_x, log_y, half, 0.5, log_beta) / 2
            step = (math.log(area) - target) * area / (t * density)
        t *= math.exp(step)
        if abs(step) < CONVERGED:
            return t if probability > 0.5 else -t
    raise ArithmeticError(
        f"the t quantile of {probability} with {freedom} degrees of freedom did not converge"
    )


def _log_beta_half(a: float) -> float:
    """log B(a, 1/2). For large a, from Stirling's series, where lgamma(a) − lgamma(a + 1/2) would
    lose the digits the interval needs (about 1e-9 of it at a million degrees of freedom)."""
    if a < 100:
        return math.lgamma(a) + math.lgamma(0.5) - math.lgamma(a + 0.5)
    return (
        (math.log(math.pi) - math.log(a)) / 2
        + (0.5 - a * math.log1p(0.5 / a))
        + _stirling_remainder(a)
        - _stirling_remainder(a + 0.5)
    )


def _stirling_remainder(x: float) -> float:
    """lgamma(x) − ((x − 1/2)·log x − x + log(2π)/2), to a double's precision for x ≥ 100."""
    return (1 / 12 - (1 / 360 - 1 / (1260 * x * x)) / (x * x)) / x


def _incomplete_beta(
    x: float, log_x: float, log_complement: float, a: float, b: float, log_beta: float
) -> float:
    """The regularized incomplete beta function I_x(a, b), given log x and log(1 − x) too.

    Its continued fraction (Numerical Recipes, 6.4) converges fast below x = (a + 1) / (a + b + 2);
    above, it is 1 − I_{1−x}(b, a).
    """
    if x > (a + 1) / (a + b + 2):
        return 1 - _incomplete_beta(math.exp(log_complement), log_complement, log_x, b, a, log_beta)
    front = math.exp(a * log_x + b * log_complement - log_beta) / a
    c, d = 1.0, 1 / (1 - (a + b) * x / (a + 1) or TINY)
    fraction = d
    for m in range(1, MAX_TERMS):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 / (1 + numerator * d or TINY)
            c = 1 + numerator / c or TINY
            fraction *= c * d
        if abs(c * d - 1) < 1e-15:
            return front * fraction
    raise ArithmeticError(f"I_x(a, b) did not converge for x={x}, a={a}, b={b}")
