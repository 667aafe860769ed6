"""Does the nominal 95 % interval cover the true score 95 % of the time? A simulation.

Each simulated company has 10 to 500 people (log-uniform), split between sales and marketing,
who answer the default weekly pulse for eight weeks: the packaged bank, 3 statements a round
chosen by the bot's own rotation, the anchor in every round, each round started somewhere on
the wheel. Every person answers a round with probability 0.7. A rating is a latent value
rounded and cut to 1–5:

    department level + statement effect (per department) + person + person × statement + occasion

so the same person's ratings agree across statements (person) and across repeats of a
statement (person × statement), as real answers do. The true score of a department is
20 × the mean, over the 20 scored statements, of the expected rating of its population; the
company's is the mean of the two. Each company is scored by `bot.domain.scoring.score`, with
the anonymity threshold at 3 (its lowest, so the smallest teams are kept), and the interval
checked against the truth.

    .venv/bin/python -m bench.interval_coverage [--companies 1000] [--seed 12]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy

from bench.common import machine
from bot.domain.question_bank import load_bank
from bot.domain.rotation import choose_items
from bot.domain.scoring import ItemMeta, Response, score
from bot.domain.vocabulary import EVERYONE, MARKETING, SALES

WEEKS = 8
PER_ROUND = 3
ANSWERS = 0.7
THRESHOLD = 3
PERSON, PERSON_ITEM, OCCASION, ITEM = 0.6, 0.4, 0.6, 0.5
SIZE_BANDS = ((10, 30), (31, 100), (101, 500))


@dataclass(frozen=True)
class Outcome:
    people: int
    covered: dict[str, bool]
    """group → whether its interval held the true score (groups withheld are left out)."""
    widths: dict[str, float]


def simulate(companies: int, seed: int) -> list[Outcome]:
    """`companies` simulated companies, the same ones for the same seed."""
    bank = load_bank()
    meta = {item.id: ItemMeta(item.dimension, item.scored) for item in bank.items}
    pulse = [item.id for item in bank.pulse_items]
    scored = [item.id for item in bank.items if item.scored]
    anchor = bank.default_anchor().id
    rng = numpy.random.default_rng(seed)
    return [_company(rng, meta, pulse, scored, anchor, f"cadence{number}") for number in range(companies)]


def _company(rng, meta, pulse: Sequence[str], scored: Sequence[str], anchor: str, seed: str) -> Outcome:
    people = int(round(math.exp(rng.uniform(math.log(10), math.log(500)))))
    in_sales = int(numpy.clip(round(people * rng.uniform(0.35, 0.65)), 1, people - 1))
    departments = [SALES] * in_sales + [MARKETING] * (people - in_sales)
    level = {SALES: rng.uniform(2.0, 4.2), MARKETING: rng.uniform(2.0, 4.2)}
    effect = {d: dict(zip(pulse, rng.normal(0, ITEM, len(pulse)), strict=True)) for d in level}
    person = rng.normal(0, PERSON, people)
    person_item = rng.normal(0, PERSON_ITEM, (people, len(pulse)))
    column = {item: index for index, item in enumerate(pulse)}
    history: list[tuple[str, ...]] = []
    for _ in range(int(rng.integers(0, 21))):  # start anywhere on the wheel
        history.append(choose_items(pulse, PER_ROUND, history, seed, anchor, scored, WEEKS))
    responses = []
    for _week in range(WEEKS):
        asked = choose_items(pulse, PER_ROUND, history, seed, anchor, scored, WEEKS)
        history.append(asked)
        answering = rng.random(people) < ANSWERS
        for i in numpy.flatnonzero(answering):
            department = departments[i]
            for item in asked:
                own = person[i] + person_item[i, column[item]]
                latent = level[department] + effect[department][item] + own
                rating = int(numpy.clip(numpy.rint(latent + rng.normal(0, OCCASION)), 1, 5))
                responses.append(Response(f"p{i}", item, department, rating))
    truth = {d: _true_score(level[d], [effect[d][item] for item in scored]) for d in level}
    truth[EVERYONE] = (truth[SALES] + truth[MARKETING]) / 2
    composites = score(responses, meta, THRESHOLD).composites
    shown = {group: c for group, c in composites.items() if not c.withheld}
    return Outcome(
        people=people,
        covered={group: c.low <= truth[group] <= c.high for group, c in shown.items()},
        widths={group: c.high - c.low for group, c in shown.items()},
    )


def _true_score(level: float, effects: Sequence[float]) -> float:
    """20 × the mean expected rating of a population over the statements: a rounded normal cut to 1–5."""
    spread = math.sqrt(PERSON**2 + PERSON_ITEM**2 + OCCASION**2)
    expected = [
        1 + sum(1 - NormalDist(level + effect, spread).cdf(step + 0.5) for step in range(1, 5))
        for effect in effects
    ]
    return 20 * float(numpy.mean(expected))


def coverage(outcomes: Sequence[Outcome], group: str, low: int = 0, high: int = 10**9) -> tuple[float, int]:
    """The share of companies of `low`–`high` people whose interval for `group` held the truth."""
    held = [o.covered[group] for o in outcomes if group in o.covered and low <= o.people <= high]
    return (sum(held) / len(held) if held else math.nan), len(held)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes = simulate(args.companies, args.seed)
    elapsed = time.perf_counter() - started
    print(f"interval coverage: {args.companies} simulated companies, seed {args.seed}, {machine()}")
    print(
        f"  default pulse: weekly, {PER_ROUND} statements + the anchor, {WEEKS}-week window,"
        f" threshold {THRESHOLD}"
    )
    for group in (EVERYONE, SALES, MARKETING):
        share, n = coverage(outcomes, group)
        widths = [o.widths[group] for o in outcomes if group in o.widths]
        print(f"  {group:9}  {100 * share:5.1f} % of {n}  (median width {numpy.median(widths):4.1f} points)")
        for low, high in SIZE_BANDS:
            share, n = coverage(outcomes, group, low, high)
            print(f"      {low:3}–{high:3} people  {100 * share:5.1f} % of {n}")
    print(f"  ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
