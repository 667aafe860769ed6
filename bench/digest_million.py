"""The weekly digest for a workspace with 1,000,000 stored answers, against its floor.

    .venv/bin/python -m bench.digest_million [--answers 1000000] [--postgres SERVER_URL]

A year of weekly rounds (52) to 4,800 people (half sales, half marketing), 4 statements each,
is inserted straight into the tables and rolled up as a restore or the migration would
(`alignbot rollups rebuild`: timed). Then, read from the rollups: the digest as the scheduled job
builds it (five weekly snapshots for the nudges, comments, participation), the preview
(`/align digest preview`, the same at the latest close) and the trend chart's 12 weekly points.
The floor is one SQL aggregate over the raw answers of the same 8-week window: per department
and statement, the count of distinct people, the mean and the share of 4s and 5s. Then a round
of 2,000 people is closed with its rollup, in one transaction, as the pulse job closes it. Peak
memory is the Python heap's high-water mark (tracemalloc) over a first digest, preview and trend;
then the floor, the digest, the preview and the trend are timed in turn, five times, and each
figure is its best. Idle RSS is `alignbot serve
--http`'s resident memory once ready and settled: on an empty database of the same store (nothing
due: what a waiting server holds), and on the benchmark's database, with this week's digest made due
half an hour before the run, to a leader's DM: its first scheduler pass reads the digest, posts it and
uploads its two pictures (drawn in a process of their own), and the figure is taken once they are in
the digest's thread, as a server that posted this week's digest holds it until the next one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, insert, select

from bench.common import SIGNING_SECRET, START, bench_database, machine, start_bot
from bot.domain.clock import ManualClock
from bot.sandbox.server import SlackSandbox
from bot.sandbox.workspace import generated_workspace
from storage import rollups
from storage.db import Database
from storage.digests import ensure_settings
from storage.models import Answer, Cadence, Delivery, DigestPost, PulseRound

TEAM = "T0BENCH01"
ITEMS_PER_ROUND = 4
ROUNDS = 52
#: The round closed with its rollup after the readings.
CLOSING_PEOPLE = 2_000
LISTENING = re.compile(r"listening on http://[0-9.]+:([0-9]+)")


def fill(runtime, answers: int) -> None:
    """Rounds, deliveries and answers written in bulk, as a year of pulses would leave them."""
    people = answers // (ROUNDS * ITEMS_PER_ROUND)
    rng = random.Random(7)
    for number in range(ROUNDS):
        add_round(runtime, number, people, rng, status="closed")


def add_round(runtime, number: int, people: int, rng: random.Random, status: str) -> int:
    """Round `number` (weeks after the start) sent to `people` people who all answered it."""
    item_ids = [item.id for item in runtime.services.bank.items]
    at = START + timedelta(weeks=number)
    items = [item_ids[(number * ITEMS_PER_ROUND + k) % len(item_ids)] for k in range(ITEMS_PER_ROUND)]
    with runtime.database.session() as session:
        cadence_id = session.scalar(select(Cadence.id))
        round_id = session.execute(
            insert(PulseRound)
            .values(
                team_id=TEAM,
                cadence_id=cadence_id,
                occurrence_key=at.isoformat(),
                scheduled_at=at,
                closes_at=at + timedelta(days=2),
                status=status,
                closed_at=at + timedelta(days=2) if status == "closed" else None,
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
    return round_id


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


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def rebuild(runtime) -> int:
    """Every closed round rolled up again from the answers (`alignbot rollups rebuild`)."""
    with runtime.database.session() as session:
        return rollups.rebuild(session, TEAM)[1]


def close_one(runtime, round_id: int, at) -> bool:
    """The round closed and rolled up in one transaction, as the pulse job closes a round."""
    with runtime.database.session() as session:
        return rollups.close_round(session, round_id, at)


def digest_due_now(runtime, leader: str) -> None:
    """This week's digest due half an hour ago, by the real clock `serve` keeps, to `leader`'s DM."""
    now = datetime.now(UTC)
    due = now.astimezone(ZoneInfo("Europe/Berlin")) - timedelta(minutes=30)
    with runtime.database.session() as session:
        settings = ensure_settings(session, TEAM, now)
        settings.weekday, settings.local_time = due.weekday(), due.strftime("%H:%M")
        settings.to_channel, settings.leaders = False, [leader]
        settings.planned_until = now - timedelta(hours=1)


def digest_pictured(url: str) -> Callable[[], bool]:
    """Whether a digest post of the database has its pictures in its thread (or gave up on them)."""

    def pictured() -> bool:
        database = Database(url)
        try:
            with database.session() as session:
                return session.scalar(select(func.count()).where(DigestPost.file_id.is_not(None))) > 0
        finally:
            database.dispose()

    return pictured


def idle_rss(url: str, sandbox: SlackSandbox, settled: Callable[[], bool] = lambda: True) -> float:
    """`alignbot serve --http` on `url`: its resident memory (MiB) once ready, `settled` and quiet."""
    environment = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "SLACK_BOT_TOKEN": sandbox.workspace.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": sandbox.api_url,
        "DATABASE_URL": url,
        "LOG_LEVEL": "INFO",  # the line saying where it listens
    }
    with (
        tempfile.TemporaryDirectory(prefix="alignbot-serve-") as folder,
        open(Path(folder) / "log", "w+") as log,
    ):
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", "0"],
            cwd=folder,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while not (found := LISTENING.search(Path(log.name).read_text())) or not ready(
                int(found.group(1))
            ):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"alignbot serve never became ready:\n{Path(log.name).read_text()}")
                time.sleep(0.1)  # waiting on another process
            while not settled():
                if process.poll() is not None or time.monotonic() > deadline + 120:
                    raise RuntimeError(f"alignbot serve never settled:\n{Path(log.name).read_text()}")
                time.sleep(0.5)  # waiting on another process
            time.sleep(2)  # quiet: the scheduler's first run ended, the connection pools filled
            status = Path(f"/proc/{process.pid}/status").read_text()
            return (
                int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024
            )
        finally:
            process.kill()
            process.wait(timeout=10)


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return json.loads(answer.read()).get("status") == "ready"
    except (urllib.error.URLError, ConnectionError):
        return False


def run(answers: int, postgres: str | None) -> dict:
    logging.basicConfig(level=logging.WARNING)
    with bench_database(postgres) as url, SlackSandbox(generated_workspace(2)) as sandbox:
        clock = ManualClock(START)
        runtime = start_bot(sandbox, url, clock)
        filled, _ = timed(lambda: fill(runtime, answers))
        rebuilt, people_rows = timed(lambda: rebuild(runtime))
        with runtime.database.session() as session:
            stored = session.scalar(select(func.count()).select_from(Answer))
        end = START + timedelta(weeks=ROUNDS, days=1)
        clock.set(end)
        insights = runtime.services.insights
        tracemalloc.start()
        view = insights.digest(TEAM, end, "Europe/Berlin")
        shown = insights.preview(TEAM, "Europe/Berlin")
        insights.trend(TEAM, end)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        # Then each timed as the floor is, side by side in turns (on a shared machine the load
        # moves), the best of five: a first run's imports and caches do not count.
        readings = {
            "floor_s": lambda: floor_query(runtime, end),
            "digest_s": lambda: timed(lambda: insights.digest(TEAM, end, "Europe/Berlin"))[0],
            "preview_s": lambda: timed(lambda: insights.preview(TEAM, "Europe/Berlin"))[0],
            "trend_s": lambda: timed(lambda: insights.trend(TEAM, end))[0],
        }
        times = {name: [] for name in readings}
        for _ in range(5):
            for name, reading in readings.items():
                times[name].append(reading())
        best = {name: min(values) for name, values in times.items()}
        closing = add_round(runtime, ROUNDS, CLOSING_PEOPLE, random.Random(11), status="open")
        closed, done = timed(lambda: close_one(runtime, closing, end))
        digest_due_now(runtime, sandbox.workspace.users[0].id)
        rss = idle_rss(url, sandbox, digest_pictured(url))  # after posting this week's digest
        with bench_database(postgres) as empty:
            rss_empty = idle_rss(empty, sandbox)  # nothing to do: what a waiting server holds
        backend = runtime.database.backend
        runtime.stop()
        assert view is not None and not view.composites["everyone"].withheld
        assert shown is not None and done
        return {
            "store": backend,
            "answers": stored,
            "fill_s": filled,
            "rebuild_s": rebuilt,
            "people_rows": people_rows,
            **best,
            "close_s": closed,
            "peak_mib": peak / 2**20,
            "rss_mib": rss,
            "rss_empty_mib": rss_empty,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: use a scratch database, not SQLite")
    arguments = parser.parse_args()
    r = run(arguments.answers, arguments.postgres)
    print(f"machine: {machine()}")
    print(
        "| store | answers | floor: one aggregate (s) | digest (s) | ×floor | preview (s) | ×floor "
        "| trend (s) | ×floor | peak MiB | serve idle RSS MiB: nothing due / after posting a digest |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {r['store']} | {r['answers']:,} | {r['floor_s']:.3f} | {r['digest_s']:.3f} "
        f"| {r['digest_s'] / r['floor_s']:.2f} | {r['preview_s']:.3f} | {r['preview_s'] / r['floor_s']:.2f} "
        f"| {r['trend_s']:.3f} | {r['trend_s'] / r['floor_s']:.2f} | {r['peak_mib']:.0f} "
        f"| {r['rss_empty_mib']:.0f} / {r['rss_mib']:.0f} |"
    )
    print()
    print(
        "| store | rebuild from all answers (s) | rows written | close a round of 2,000 with its rollup (s) |"
    )
    print("|---|---|---|---|")
    print(f"| {r['store']} | {r['rebuild_s']:.2f} | {r['people_rows']:,} | {r['close_s']:.3f} |")


if __name__ == "__main__":
    main()
