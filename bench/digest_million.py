"""The weekly digest for a workspace with 1,000,000 stored answers, against its floor.

    .venv/bin/python -m bench.digest_million [--answers 1000000] [--postgres SERVER_URL]

A year of weekly rounds (52) to 4,800 people (half sales, half marketing), 4 statements each,
is inserted straight into the tables; then the digest is built as `/align digest preview`
builds it (five weekly snapshots for the nudges, comments, participation) and the trend chart's
12 weekly points. The floor is one SQL aggregate over the same 8-week window: per department
and statement, the count of distinct people, the mean and the share of 4s and 5s. Peak memory
is the Python heap's high-water mark during the digest (tracemalloc).
"""

from __future__ import annotations

import argparse
import logging
import random
import time
import tracemalloc
from datetime import timedelta

from sqlalchemy import case, func, insert, select

from bench.common import START, bench_database, machine, start_bot
from bot.domain.clock import ManualClock
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import generated_workspace
from storage.models import Answer, Cadence, Delivery, PulseRound

TEAM = "T0BENCH01"
ITEMS_PER_ROUND = 4
ROUNDS = 52


def fill(runtime, answers: int) -> None:
    """Rounds, deliveries and answers written in bulk, as a year of pulses would leave them."""
    people = answers // (ROUNDS * ITEMS_PER_ROUND)
    item_ids = [item.id for item in runtime.services.bank.items]
    rng = random.Random(7)
    with runtime.database.session() as session:
        cadence_id = session.scalar(select(Cadence.id))
    for number in range(ROUNDS):
        at = START + timedelta(weeks=number)
        items = [item_ids[(number * ITEMS_PER_ROUND + k) % len(item_ids)] for k in range(ITEMS_PER_ROUND)]
        with runtime.database.session() as session:
            round_id = session.execute(
                insert(PulseRound)
                .values(
                    team_id=TEAM,
                    cadence_id=cadence_id,
                    occurrence_key=at.isoformat(),
                    scheduled_at=at,
                    closes_at=at + timedelta(days=2),
                    status="closed",
                    closed_at=at + timedelta(days=2),
                    item_ids=items,
                    delivery="dm",
                    audience_size=people,
                    created_at=at,
                )
                .returning(PulseRound.id)
            ).scalar_one()
            departments = ["sales" if person % 2 else "marketing" for person in range(people)]
            session.execute(
                insert(Delivery),
                [
                    dict(
                        team_id=TEAM,
                        round_id=round_id,
                        user_id=f"U{person:08d}",
                        department=departments[person],
                        needs_department=False,
                        language="en",
                        status="sent",
                        attempts=1,
                        closed_notice=True,
                    )
                    for person in range(people)
                ],
            )
            session.execute(
                insert(Answer),
                [
                    dict(
                        round_id=round_id,
                        item_id=item,
                        user_id=f"U{person:08d}",
                        team_id=TEAM,
                        department=departments[person],
                        score=min(
                            5, max(1, round(rng.gauss(2.8 if departments[person] == "sales" else 3.5, 0.9)))
                        ),
                        answered_at=at,
                    )
                    for person in range(people)
                    for item in items
                ],
            )


def floor_query(runtime, end) -> float:
    start = end - timedelta(weeks=8)
    query = (
        select(
            Answer.department,
            Answer.item_id,
            func.count(func.distinct(Answer.user_id)),
            func.avg(Answer.score),
            func.avg(case((Answer.score >= 4, 1.0), else_=0.0)),
        )
        .join(PulseRound, PulseRound.id == Answer.round_id)
        .where(Answer.team_id == TEAM, PulseRound.scheduled_at >= start, PulseRound.scheduled_at < end)
        .group_by(Answer.department, Answer.item_id)
    )
    started = time.perf_counter()
    with runtime.database.session() as session:
        session.execute(query).all()
    return time.perf_counter() - started


def run(answers: int, postgres: str | None) -> dict:
    logging.basicConfig(level=logging.WARNING)
    with bench_database(postgres) as url, SlackSandbox(generated_workspace(2)) as sandbox:
        clock = ManualClock(START)
        runtime = start_bot(sandbox, url, clock)
        started = time.perf_counter()
        fill(runtime, answers)
        filled = time.perf_counter() - started
        with runtime.database.session() as session:
            stored = session.scalar(select(func.count()).select_from(Answer))
        end = START + timedelta(weeks=ROUNDS, days=1)
        clock.set(end)
        floor = min(floor_query(runtime, end) for _ in range(3))
        tracemalloc.start()
        started = time.perf_counter()
        view = runtime.services.insights.digest(TEAM, end, "Europe/Berlin")
        digest = time.perf_counter() - started
        started = time.perf_counter()
        runtime.services.insights.trend(TEAM, end)
        trend = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        backend = runtime.database.backend
        runtime.stop()
        assert view is not None and not view.composites["everyone"].withheld
        return {
            "store": backend,
            "answers": stored,
            "fill_s": filled,
            "floor_s": floor,
            "digest_s": digest,
            "trend_s": trend,
            "peak_mib": peak / 2**20,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: use a scratch database, not SQLite")
    arguments = parser.parse_args()
    result = run(arguments.answers, arguments.postgres)
    print(f"machine: {machine()}")
    print("| store | answers | floor: one aggregate (s) | digest (s) | digest/floor | trend (s) | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {result['store']} | {result['answers']:,} | {result['floor_s']:.3f} | {result['digest_s']:.2f} "
        f"| {result['digest_s'] / result['floor_s']:.0f} | {result['trend_s']:.2f} "
        f"| {result['peak_mib']:.0f} |"
    )


if __name__ == "__main__":
    main()
