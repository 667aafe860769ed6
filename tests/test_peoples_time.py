"""Respecting people's time, end to end: a pulse at each person's own 09:30, leave by Slack status or
`/align away`, a holiday calendar of one's own, and quiet hours — on a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.sandbox.workspace import (
    HEAD_OF_MARKETING,
    HEAD_OF_SALES,
    LEADERSHIP_CHANNEL,
    MARKETERS,
    OWNER,
    SALES_CHANNEL,
    SALESPEOPLE,
)
from storage.models import Delivery, PostStatus, PulseRound
from tests.conversation import (
    ELIGIBLE,
    FIRST_ROUND,
    MONDAY_9_BERLIN,
    PULSE_INPUTS,
    SALES_TEAM,
    Person,
    answer_round,
    answers,
    check_dms,
    close_round,
    confirm_held,
    create_meeting,
    create_pulse,
    pulse_dms,
    reminders_in,
    rsvp,
    run_at,
    run_meetings_at,
    tap,
    text_of,
)

#: Mondays at 09:30 in each person's own zone, from Monday 9 March 2026 (New York is on EDT from the
#: 8th, Berlin still on CET, Tehran on +03:30 all year).
OWN_TIME = {
    "weekdays": ["0"],
    "send_time": "09:30",
    "start_date": "2026-03-09",
    "timing": "person",
    "answer_window_hours": "48",
    "reminders": "1",
    "reminder_spacing_hours": "24",
}
TEHRAN_0930 = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
BERLIN_0930 = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)
LONDON_0930 = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
NEW_YORK_0930 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
LOS_ANGELES_0930 = datetime(2026, 3, 9, 16, 30, tzinfo=UTC)

TEHRAN = {HEAD_OF_MARKETING, SALESPEOPLE[1], MARKETERS[0]}
BERLIN = {SALESPEOPLE[2], MARKETERS[2]}
NEW_YORK = {HEAD_OF_SALES, MARKETERS[1]}
AWAY = SALESPEOPLE[2]  # Hannah, in Berlin


def _got_it(sandbox) -> set[str]:
    return {person for person in ELIGIBLE if pulse_dms(sandbox, person)}


def _deliveries(bot) -> dict[str, Delivery]:
    with bot.database.session() as session:
        return {d.user_id: d for d in session.scalars(select(Delivery))}


def _admin_sees(bot, driver, line: str) -> str:
    return "\n".join(text_of(reply) for reply in Person(OWNER, bot, driver).types(line))


def test_new_york_berlin_and_tehran_each_get_the_pulse_at_their_own_0930(bot, driver, sandbox, clock):
    create_pulse(bot, driver, **OWN_TIME)
    earliest, latest = (f"<!date^{int(t.timestamp())}^" for t in (TEHRAN_0930, LOS_ANGELES_0930))
    listing = _admin_sees(bot, driver, "/align pulse")
    assert "reaches people from" in listing and earliest in listing and latest in listing
    preview = _admin_sees(bot, driver, "/align pulse preview")
    assert earliest in preview and latest in preview
    assert run_at(bot, clock, TEHRAN_0930 - timedelta(minutes=1)).sent == 0
    assert run_at(bot, clock, TEHRAN_0930).sent == len(TEHRAN)
    assert _got_it(sandbox) == TEHRAN
    run_at(bot, clock, BERLIN_0930 - timedelta(minutes=1))
    assert _got_it(sandbox) == TEHRAN
    run_at(bot, clock, BERLIN_0930)
    assert _got_it(sandbox) == TEHRAN | BERLIN
    run_at(bot, clock, NEW_YORK_0930 - timedelta(minutes=1))
    assert NEW_YORK.isdisjoint(_got_it(sandbox))
    run_at(bot, clock, NEW_YORK_0930)
    assert _got_it(sandbox) >= NEW_YORK
    run_at(bot, clock, LOS_ANGELES_0930)
    assert _got_it(sandbox) == ELIGIBLE
    sent = _deliveries(bot)
    for person in TEHRAN | BERLIN | NEW_YORK:
        assert sent[person].sent_at == sent[person].due_at, person
    # Each window is the person's own; the round closes once, when the last one (Los Angeles) ends.
    assert sent[SALESPEOPLE[1]].closes_at == TEHRAN_0930 + timedelta(hours=48)
    with bot.database.session() as session:
        (pulse_round,) = session.scalars(select(PulseRound))
        assert pulse_round.closes_at == LOS_ANGELES_0930 + timedelta(hours=48)
    # Reminders follow each person's own time too: Tehran's a day after theirs, Berlin's not yet.
    assert run_at(bot, clock, TEHRAN_0930 + timedelta(hours=24)).reminders == len(TEHRAN)
    assert run_at(bot, clock, BERLIN_0930 + timedelta(hours=24)).reminders == len(BERLIN)
    # Tehran's window has ended: a late tap is not recorded for them, while Berlin still answers.
    clock.set(TEHRAN_0930 + timedelta(hours=48, minutes=1))
    tap(bot, driver, sandbox, SALESPEOPLE[1], score=3)
    assert answers(bot) == []
    tap(bot, driver, sandbox, SALESPEOPLE[2], score=3)
    assert [a.user_id for a in answers(bot)] == [SALESPEOPLE[2]]


def test_someone_on_vacation_is_not_sent_or_reminded_and_gets_the_round_when_back(
    bot, driver, sandbox, clock
):
    create_pulse(bot, driver, **OWN_TIME)
    sandbox.workspace.user(AWAY).status_emoji = ":palm_tree:"
    sandbox.workspace.user(AWAY).status_text = "Vacationing"
    for listing in ("/align pulse", "/align pulse preview"):
        assert "Away (leave or out of office): 1." in _admin_sees(bot, driver, listing)
    run_at(bot, clock, BERLIN_0930)
    assert pulse_dms(sandbox, AWAY) == [] and pulse_dms(sandbox, MARKETERS[2])
    assert _deliveries(bot)[AWAY].status == PostStatus.AWAY
    # A colleague goes on leave after getting the round: not reminded either.
    sandbox.workspace.user(MARKETERS[2]).status_text = "Out of office"
    run_at(bot, clock, BERLIN_0930 + timedelta(hours=24))
    assert pulse_dms(sandbox, AWAY) == [] and len(pulse_dms(sandbox, MARKETERS[2])) == 1
    # Back while the round is still open for them: the round goes out then.
    sandbox.workspace.user(AWAY).status_emoji = sandbox.workspace.user(AWAY).status_text = ""
    back = BERLIN_0930 + timedelta(hours=30)
    assert run_at(bot, clock, back).sent == 1
    assert len(pulse_dms(sandbox, AWAY)) == 1
    assert _deliveries(bot)[AWAY].status == PostStatus.SENT


def test_away_until_a_date_holds_the_round_and_participation_counts_only_those_asked(
    bot, driver, sandbox, clock
):
    create_pulse(bot, driver, **OWN_TIME)
    (reply,) = Person(AWAY, bot, driver).types("/align away until 2026-03-20")
    assert "2026-03-20" in text_of(reply)
    for moment in (TEHRAN_0930, BERLIN_0930, LONDON_0930, NEW_YORK_0930, LOS_ANGELES_0930):
        run_at(bot, clock, moment)
    run_at(bot, clock, LOS_ANGELES_0930 + timedelta(hours=49))  # every window has ended
    deliveries = _deliveries(bot)
    assert deliveries[AWAY].status == PostStatus.AWAY and pulse_dms(sandbox, AWAY) == []
    assert {d.status for u, d in deliveries.items() if u != AWAY} == {PostStatus.SENT}
    with bot.database.session() as session:
        (pulse_round,) = session.scalars(select(PulseRound))
        assert pulse_round.status == "closed"


def test_a_replica_that_only_drains_rereads_who_said_they_are_away(bot, driver, sandbox, clock):
    """On PostgreSQL every replica drains what the leader planned; one that does not lead has no run
    to read people afresh, so its drain does, once what it read is a minute old."""
    create_pulse(bot, driver, **OWN_TIME)
    run_at(bot, clock, TEHRAN_0930)  # planned and read; Berlin's copies wait for 09:30 there
    Person(AWAY, bot, driver).types("/align away until 2026-03-20")
    clock.set(BERLIN_0930)
    assert bot.runner.drain().sent == len(BERLIN) - 1  # a drain, as a replica that does not lead sends
    assert _deliveries(bot)[AWAY].status == PostStatus.AWAY and pulse_dms(sandbox, AWAY) == []
    assert _got_it(sandbox) == TEHRAN | BERLIN - {AWAY}


def test_an_iranian_holiday_skips_the_round_for_the_tehran_people_only(bot, driver, sandbox, clock):
    for person in TEHRAN:
        (reply,) = Person(person, bot, driver).types("/align holidays ir")
        assert "*IR*" in text_of(reply)
    # Monday 23 March 2026 is a Nowruz holiday in Iran, a working day everywhere else.
    create_pulse(bot, driver, **{**OWN_TIME, "start_date": "2026-03-23"})
    assert "Skipped for 3 by a public holiday: IR: Nowruz Holiday" in _admin_sees(bot, driver, "/align pulse")
    run_at(bot, clock, datetime(2026, 3, 24, 0, 0, tzinfo=UTC))
    assert _got_it(sandbox) == ELIGIBLE - TEHRAN
    assert {_deliveries(bot)[person].status for person in TEHRAN} == {PostStatus.HOLIDAY}


def test_the_sales_teams_iranian_calendar_skips_nowruz_for_the_tehran_team_only(bot, driver, sandbox, clock):
    # Sales works from Tehran, marketing from Berlin: the pulse keeps Berlin's holidays, sales Iran's.
    for person in SALES_TEAM:
        sandbox.workspace.user(person).tz = "Asia/Tehran"
    create_pulse(
        bot,
        driver,
        **{**OWN_TIME, "start_date": "2026-03-23", "holiday_calendars": "DE-BE", "sales_calendars": "ir"},
    )
    skipped = f"Skipped for {len(SALES_TEAM)} by a public holiday: IR: Nowruz Holiday."
    listing = _admin_sees(bot, driver, "/align pulse")
    assert skipped in listing and "Public holidays: DE-BE · Sales team's own: IR" in listing
    assert skipped in _admin_sees(bot, driver, "/align pulse preview")
    Person(OWNER, bot, driver).opens("/align pulse edit Weekly")  # the modal shows what was chosen
    fields = {b.get("block_id"): b for b in sandbox.latest_view_for(OWNER).view["blocks"]}
    assert fields["sales_calendars"]["element"]["initial_value"] == "IR"
    assert "initial_value" not in fields["marketing_calendars"]["element"]
    # Monday 23 March 2026 is a Nowruz holiday in Iran and a working day in Berlin.
    run_at(bot, clock, datetime(2026, 3, 24, 0, 0, tzinfo=UTC))
    assert _got_it(sandbox) == ELIGIBLE - set(SALES_TEAM)
    statuses = {person: delivery.status for person, delivery in _deliveries(bot).items()}
    assert {statuses[person] for person in SALES_TEAM} == {PostStatus.HOLIDAY}
    assert PostStatus.HOLIDAY not in {statuses[person] for person in ELIGIBLE - set(SALES_TEAM)}


def test_an_unknown_team_calendar_is_refused_and_nothing_is_created(bot, driver, sandbox):
    create_pulse(bot, driver)
    owner = Person(OWNER, bot, driver)
    owner.opens("/align pulse add")
    refused = owner.submits(
        "pulse_add",
        {**PULSE_INPUTS, "name": "Other", "marketing_calendars": "DE-XX"},
    )
    assert set(refused["errors"]) == {"marketing_calendars"}
    assert "Weekly" in _admin_sees(bot, driver, "/align pulse")
    assert "Other" not in _admin_sees(bot, driver, "/align pulse")


def test_a_reminder_due_in_the_night_moves_to_the_persons_morning(bot, driver, sandbox, clock):
    # Tuesdays 10:00 in Berlin for everyone, with quiet hours: 01:00 in Los Angeles.
    create_pulse(bot, driver, options=["quiet_hours"])
    tuesday_berlin = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    los_angeles_morning = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)  # 08:00 PST
    los_angeles = SALESPEOPLE[0]
    run_at(bot, clock, tuesday_berlin)
    assert pulse_dms(sandbox, SALESPEOPLE[2]) and pulse_dms(sandbox, los_angeles) == []
    run_at(bot, clock, los_angeles_morning)
    assert len(pulse_dms(sandbox, los_angeles)) == 1
    # The reminder, 24 h after the round, is 10:00 in Berlin but 01:00 in Los Angeles: moved to 08:00.
    run_at(bot, clock, tuesday_berlin + timedelta(hours=24))
    assert len(pulse_dms(sandbox, SALESPEOPLE[2])) == 2
    assert len(pulse_dms(sandbox, los_angeles)) == 1
    run_at(bot, clock, los_angeles_morning + timedelta(hours=24))
    assert len(pulse_dms(sandbox, los_angeles)) == 2


def test_a_reminder_with_no_allowed_time_left_in_the_window_is_dropped(bot, driver, sandbox, clock):
    # Tuesdays 10:00 in Berlin, open 16 hours, one reminder 14 hours in: midnight in Berlin, and the
    # window ends at 02:00, before the morning. In Los Angeles the copy waits for 08:00 (16:00 UTC),
    # and the reminder, at 15:00 there, is in the day.
    create_pulse(bot, driver, options=["quiet_hours"], answer_window_hours="16", reminder_spacing_hours="14")
    tuesday_berlin = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    berlin, los_angeles = SALESPEOPLE[2], SALESPEOPLE[0]
    run_at(bot, clock, tuesday_berlin)
    run_at(bot, clock, datetime(2026, 3, 3, 16, 0, tzinfo=UTC))
    assert len(pulse_dms(sandbox, berlin)) == len(pulse_dms(sandbox, los_angeles)) == 1
    assert _deliveries(bot)[berlin].reminders_at == [None]
    assert run_at(bot, clock, tuesday_berlin + timedelta(hours=14)).reminders >= 1  # others' afternoon
    assert len(pulse_dms(sandbox, berlin)) == 1 and len(pulse_dms(sandbox, los_angeles)) == 2
    run_at(bot, clock, tuesday_berlin + timedelta(hours=16, minutes=1))  # Berlin's window has ended
    assert len(pulse_dms(sandbox, berlin)) == 1


def test_participation_is_answered_over_asked_and_the_digest_says_how_many_were_away(
    bot, driver, sandbox, clock
):
    create_pulse(bot, driver)
    away = {SALESPEOPLE[3], MARKETERS[3]}
    for person in away:
        sandbox.workspace.user(person).status_text = "On parental leave"
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, sorted(ELIGIBLE - away), score=4)
    close_round(bot, clock)
    clock.set(MONDAY_9_BERLIN)
    bot.digests.run_due()
    (post,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    digest = text_of({"blocks": post.blocks})
    assert "everyone 100" in digest  # nobody away counts as not answering
    assert "Away, on leave or on a public holiday of theirs this week: 2" in digest


def test_a_meeting_check_due_in_someones_night_waits_for_their_next_working_morning(
    bot, driver, sandbox, clock
):
    tehran = MARKETERS[0]
    Person(tehran, bot, driver).types("/align holidays IR")  # Friday is the weekend
    create_meeting(bot, driver, start_time="13:00")  # Thursday 5 March, 13:00–14:00 in New York
    starts = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)
    run_meetings_at(bot, clock, starts - timedelta(days=1))
    post = reminders_in(sandbox, SALES_CHANNEL)[0]
    # The meeting keeps its one moment; the channel's reminder shows it in each reader's own zone.
    assert f"<!date^{int(starts.timestamp())}^" in text_of({"blocks": post.blocks})
    for person in (SALESPEOPLE[0], tehran):
        rsvp(bot, driver, post, person, "going")
    # It ends at 14:00 in New York: 11:00 in Los Angeles, but 22:30 on Thursday in Tehran.
    # First the owner is asked whether it took place; "yes" releases the others' questions.
    assert run_meetings_at(bot, clock, starts + timedelta(hours=1)).checks == 1
    confirm_held(bot, driver, sandbox)
    assert check_dms(sandbox, SALESPEOPLE[0]) and check_dms(sandbox, tehran) == []
    friday_morning_tehran = datetime(2026, 3, 6, 4, 30, tzinfo=UTC)
    assert run_meetings_at(bot, clock, friday_morning_tehran).checks == 0
    assert run_meetings_at(bot, clock, friday_morning_tehran + timedelta(days=1)).checks == 1
    assert len(check_dms(sandbox, tehran)) == 1
