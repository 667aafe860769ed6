"""Anonymity that holds against any two readings: an admin who reads the export, the digest preview
or the Home tab, waits for one more person to tap (or to be forgotten) and reads again learns
nothing; a forgotten comment is gone from the database file; a new threshold applies from the
next close."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.sandbox.workspace import MARKETERS, OWNER, SALESPEOPLE
from storage.models import Comment, PulseRound
from tests.conversation import (
    FIRST_ROUND,
    MARKETING_TEAM,
    ROUND_CLOSES,
    SALES_TEAM,
    a_closed_round_with_a_gap,
    answer_round,
    close_round,
    command,
    create_pulse,
    forget_me_prompt,
    open_home,
    replies_to,
    run_at,
    set_up_workspace,
    tap,
    text_of,
)

TEAM = "T0ACME001"
SECOND_ROUND = FIRST_ROUND + timedelta(weeks=1)
LATE = [SALESPEOPLE[3], MARKETERS[3]]
"""Who has not answered the second round yet when the admin first reads."""
SO_FAR = re.compile(r" \S+ people have answered the round still open so far\.")


def every_surface(bot, driver, sandbox) -> dict[str, object]:
    """What the admin can read: the CSV export, the digest preview and their Home tab."""
    assert "in your DM" in text_of(command(bot, driver, OWNER, "export")[0])
    export = [f for f in sandbox.files.values() if f.name.endswith(".csv")][-1]
    (preview,) = command(bot, driver, OWNER, "digest preview")
    open_home(bot, driver, OWNER)
    return {
        "export": export.content,
        "preview": text_of(preview),
        "home": text_of(sandbox.home_views[OWNER].view),
    }


def without_count_so_far(surfaces: dict[str, object]) -> dict[str, object]:
    """The surfaces less the one count a preview may give of a round still open."""
    return {**surfaces, "preview": SO_FAR.sub("", surfaces["preview"])}


def test_one_more_tap_or_forget_me_between_two_readings_changes_no_figure(bot, driver, sandbox, clock):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    run_at(bot, clock, SECOND_ROUND)  # the second round is open
    answer_round(bot, driver, sandbox, [p for p in SALES_TEAM + MARKETING_TEAM if p not in LATE], score=5)

    first = every_surface(bot, driver, sandbox)
    assert "*Stage: Aligned* · score 60 of 100" in first["preview"]  # the first round alone
    assert "from the 1 pulse rounds closed in these weeks, sent 2026-03-03 to 2026-03-03" in first["preview"]
    assert "8 people have answered the round still open so far." in first["preview"]
    assert "Where sales and marketing stand:* Aligned (60 of 100" in first["home"]

    answer_round(bot, driver, sandbox, LATE[:1], score=1)  # one more person taps
    second = every_surface(bot, driver, sandbox)
    assert "9 people have answered the round still open so far." in second["preview"]
    assert without_count_so_far(second) == without_count_so_far(first)

    response, prompt = forget_me_prompt(bot, driver, SALESPEOPLE[0])  # one person is forgotten
    driver.click(SALESPEOPLE[0], "forget_me_confirm", "forget", "forget_me", message=prompt)
    assert bot.wait_idle()
    third = every_surface(bot, driver, sandbox)
    assert without_count_so_far(third) == without_count_so_far(first)

    run_at(bot, clock, SECOND_ROUND + timedelta(hours=48))  # the second round closes: a new snapshot
    after = every_surface(bot, driver, sandbox)
    assert after["export"] != first["export"]
    assert "from the 2 pulse rounds closed in these weeks, sent 2026-03-03 to 2026-03-10" in after["preview"]
    assert not SO_FAR.search(after["preview"])


def test_the_preview_gives_no_count_of_a_round_still_open_under_the_threshold(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM[:4], score=3)  # four, under the threshold of five
    (preview,) = command(bot, driver, OWNER, "digest preview")
    text = text_of(preview)
    assert not SO_FAR.search(text)
    assert "no pulse round has closed in these weeks yet" in text
    assert "Not enough responses yet for a score" in text


def test_a_second_round_in_the_same_week_adds_no_one_on_their_own(bot, driver, sandbox, clock):
    """Ratings count per round: one person's answers to a second round of the week, however large
    the week's group already is, move no figure when that round closes."""
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    before = bot.services.insights.latest_results(TEAM)
    assert bot.services.pulses.start_now(TEAM, "Weekly", "again") == "started"
    run_at(bot, clock, ROUND_CLOSES)  # the second round goes out, two days after the first
    answer_round(bot, driver, sandbox, SALESPEOPLE[:1], score=5)  # the anchor statement again, alone
    run_at(bot, clock, ROUND_CLOSES + timedelta(hours=48))  # and it closes
    assert bot.services.insights.as_of(TEAM) == ROUND_CLOSES + timedelta(hours=48)
    assert bot.services.insights.latest_results(TEAM) == before


def database_files(database_url: str) -> bytes:
    """Every byte SQLite keeps of the database: the file, its write-ahead log and its index."""
    path = Path(make_url(database_url).database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def test_a_forgotten_comment_is_gone_from_the_database_files(bot, driver, sandbox, clock, database_url):
    secret = "zebra-quartz-41 the pipeline handoff is broken"
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    tap(bot, driver, sandbox, SALESPEOPLE[2], score=2)
    with bot.database.session() as session:
        round_id = session.scalar(select(PulseRound.id))
    assert bot.services.pulses.comment(TEAM, SALESPEOPLE[2], round_id, secret) is not None
    close_round(bot, clock)
    sqlite = database_url.startswith("sqlite")
    if sqlite:
        assert secret.encode() in database_files(database_url)

    response, prompt = forget_me_prompt(bot, driver, SALESPEOPLE[2])
    confirm = driver.click(SALESPEOPLE[2], "forget_me_confirm", "forget", "forget_me", message=prompt)
    assert bot.wait_idle()
    assert "1 comments" in text_of(replies_to(sandbox, confirm)[0])
    with bot.database.session() as session:
        assert session.scalars(select(Comment.text)).all() == []
    if sqlite:
        assert secret.encode() not in database_files(database_url)
        assert SALESPEOPLE[2].encode() not in database_files(database_url)


def test_a_new_threshold_applies_from_the_next_close(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=2)
    answer_round(bot, driver, sandbox, MARKETERS[:3], score=4)  # three marketers: under five
    close_round(bot, clock)
    before = text_of(command(bot, driver, OWNER, "digest preview")[0])
    assert "*Marketing*\nNot enough responses" in before

    clock.advance(timedelta(hours=1))
    set_up_workspace(bot, driver, anonymity_threshold="3")
    change = bot.services.workspaces.latest_threshold_change(TEAM)
    assert (change.changed_by, change.changed_at, change.old, change.new) == (OWNER, clock.now(), 5, 3)
    assert text_of(command(bot, driver, OWNER, "digest preview")[0]) == before  # the same snapshot

    run_at(bot, clock, SECOND_ROUND)
    run_at(bot, clock, SECOND_ROUND + timedelta(hours=48))  # the next round closes, with no answers
    after = text_of(command(bot, driver, OWNER, "digest preview")[0])
    assert "*Marketing*\n80 · Integrated" in after
    assert "fewer than 3 people are never shown" in after
