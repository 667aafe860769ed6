"""Each person's own time, holidays, quiet hours and away periods: the pure rules of `bot.domain`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import holiday_calendars, local_time, schedule
from bot.domain.availability import AwayStatuses, is_away
from bot.domain.cadence import CadenceSettings
from bot.domain.people import SlackUser
from bot.domain.quiet_hours import QuietHours
from bot.domain.reach import Member, next_reach

ZONES = ("America/New_York", "Europe/Berlin", "Asia/Tehran", "America/Los_Angeles", "Asia/Tokyo")
MONDAYS_0930 = schedule.Recurrence(
    schedule.WEEKLY,
    time(9, 30),
    "Europe/Berlin",
    date(2020, 1, 6),
    weekdays=frozenset({0}),
    each_persons_time=True,
)
SETTINGS = CadenceSettings(
    "Weekly", MONDAYS_0930, answer_window_hours=48, reminders=2, reminder_spacing_hours=12
)


def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


@given(
    st.dates(min_value=date(2020, 1, 6), max_value=date(2035, 12, 31)),
    st.sampled_from(ZONES),
)
def test_a_person_gets_the_round_at_0930_on_its_date_in_their_own_zone(day, zone):
    occurrence = schedule.next_occurrence(MONDAYS_0930, schedule.instant_before(day, "UTC"))
    planned = local_time.occurrence_day(MONDAYS_0930, occurrence)
    assert planned.weekday() == 0 and planned >= day - timedelta(days=1)
    mine = _local(local_time.scheduled_for(MONDAYS_0930, occurrence, zone), zone)
    assert (mine.date(), mine.time()) == (planned, time(9, 30))  # none of these zones has a gap at 09:30
    assert occurrence <= local_time.scheduled_for(MONDAYS_0930, occurrence, zone)  # planned before anyone


@pytest.mark.parametrize(
    ("monday", "new_york", "berlin", "tehran"),
    [
        # Between the US and the EU spring changes (US on EDT, Berlin still on CET); Tehran keeps +03:30.
        (date(2026, 3, 16), "13:30", "08:30", "06:00"),
        (date(2026, 3, 30), "13:30", "07:30", "06:00"),  # both on summer time
        (date(2026, 11, 2), "14:30", "08:30", "06:00"),  # Berlin back on CET, New York back on EST
    ],
)
def test_new_york_berlin_and_tehran_each_at_their_own_0930_across_dst(monday, new_york, berlin, tehran):
    occurrence = schedule.next_occurrence(MONDAYS_0930, schedule.instant_before(monday, "UTC"))
    utc = {
        zone: local_time.scheduled_for(MONDAYS_0930, occurrence, zone).strftime("%H:%M")
        for zone in ("America/New_York", "Europe/Berlin", "Asia/Tehran")
    }
    assert utc == {"America/New_York": new_york, "Europe/Berlin": berlin, "Asia/Tehran": tehran}


def test_the_workspaces_time_reaches_everyone_at_the_occurrence():
    at_berlin = CadenceSettings(
        "W", schedule.Recurrence(**{**MONDAYS_0930.__dict__, "each_persons_time": False})
    )
    occurrence = schedule.next_occurrence(at_berlin.recurrence, datetime(2026, 3, 1, tzinfo=UTC))
    assert occurrence == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert local_time.scheduled_for(at_berlin.recurrence, occurrence, "Asia/Tehran") == occurrence
    assert local_time.latest_close(at_berlin, occurrence) == occurrence + timedelta(hours=48)


def test_a_person_without_a_known_zone_falls_back_to_the_workspaces():
    assert local_time.person_zone(None, "Europe/Berlin") == "Europe/Berlin"
    assert local_time.person_zone("Mars/Olympus", "Europe/Berlin") == "Europe/Berlin"
    assert local_time.person_zone("Asia/Tehran", "Europe/Berlin") == "Asia/Tehran"


def test_the_round_closes_when_the_last_persons_window_ends():
    occurrence = schedule.next_occurrence(MONDAYS_0930, datetime(2026, 3, 1, tzinfo=UTC))
    times = [
        local_time.personal_times(
            SETTINGS, local_time.scheduled_for(MONDAYS_0930, occurrence, zone), occurrence
        )
        for zone in ("Asia/Tehran", "America/Los_Angeles", "Europe/Berlin")
    ]
    los_angeles = local_time.scheduled_for(MONDAYS_0930, occurrence, "America/Los_Angeles")
    assert local_time.round_closes_at(times, occurrence) == los_angeles + timedelta(hours=48)
    assert local_time.round_closes_at([], occurrence) == occurrence
    assert local_time.latest_close(SETTINGS, occurrence) >= los_angeles + timedelta(hours=48)


# ----- quiet hours ---------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@given(
    instants, st.sampled_from(ZONES), st.sampled_from([frozenset({5, 6}), frozenset({4}), frozenset({4, 5})])
)
def test_the_next_allowed_time_is_never_quiet_and_never_earlier(instant, zone, weekend):
    quiet = QuietHours(zone, weekend)
    allowed = quiet.next_allowed(instant)
    assert allowed >= instant and not quiet.is_quiet(allowed)
    local = _local(allowed, zone)
    assert allowed == instant or local.time() == time(8)  # moved: to a morning at 08:00
    assert time(8) <= local.time() < time(20) and local.weekday() not in weekend


def test_a_reminder_in_the_night_moves_to_the_morning_or_is_dropped():
    quiet = QuietHours("America/Los_Angeles", frozenset({5, 6}))
    night = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # Wednesday 01:00 in Los Angeles
    morning = datetime(2026, 3, 4, 16, 0, tzinfo=UTC)  # 08:00 there
    assert quiet.moved_within(night, night + timedelta(hours=12)) == morning
    assert quiet.moved_within(night, morning) is None  # the window ends first: dropped
    friday_night = datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # Friday 21:00 → Monday 08:00 (PST)
    assert quiet.moved_within(friday_night, friday_night + timedelta(days=4)) == datetime(
        2026, 3, 9, 15, 0, tzinfo=UTC
    )  # Monday 08:00 PDT: the clocks moved on Sunday


def test_personal_times_move_the_copy_and_reminders_out_of_quiet_hours():
    scheduled = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # 01:00 in Los Angeles
    quiet = QuietHours("America/Los_Angeles", frozenset({5, 6}))
    times = local_time.personal_times(SETTINGS, scheduled, scheduled, quiet)
    assert times.due_at == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    # 12 h later is 13:00 (allowed); 24 h later is Wednesday 01:00, moved to 08:00
    assert times.reminders == (scheduled + timedelta(hours=12), datetime(2026, 3, 4, 16, 0, tzinfo=UTC))
    late = local_time.personal_times(SETTINGS, scheduled, scheduled + timedelta(hours=20), quiet)
    assert late.reminders[0] is None and late.closes_at == times.closes_at
    assert local_time.personal_times(SETTINGS, scheduled, scheduled + timedelta(hours=48)) is None


# ----- holidays ------------------------------------------------------------------------------------


def test_calendars_are_named_by_country_and_region():
    assert holiday_calendars.calendar_name("ir") == "IR"
    assert holiday_calendars.calendar_name("de-by") == "DE-BY"
    assert holiday_calendars.calendar_name("XX") is None
    assert holiday_calendars.calendar_name("DE-XX") is None
    assert holiday_calendars.parse_calendars("us, DE-BY ir ir") == ("US", "DE-BY", "IR")
    assert holiday_calendars.parse_calendars("US, Narnia") is None


def test_nowruz_is_a_holiday_in_iran_only():
    nowruz = date(2027, 3, 22)
    assert holiday_calendars.holidays_on(["IR"], nowruz)
    assert holiday_calendars.holidays_on(["US", "DE"], nowruz) == ()
    assert "Independence Day" in holiday_calendars.holidays_on(["US"], date(2026, 7, 4))
    assert holiday_calendars.holidays_on(["DE-BY"], date(2026, 1, 6)) == ("Epiphany",)
    assert holiday_calendars.holidays_on(["DE-BE"], date(2026, 1, 6)) == ()


@pytest.mark.parametrize(
    ("calendar", "days_off"),
    [
        ("IR", {4}),  # Friday, as the `holidays` package has it
        ("AE", {5, 6}),  # Saturday and Sunday since 2022
        ("SA", {4, 5}),
        ("DE", {5, 6}),
        ("DE-BY", {5, 6}),
        ("US", {5, 6}),
        ("US-CA", {5, 6}),
    ],
)
def test_the_weekend_comes_from_the_persons_calendar(calendar, days_off):
    assert holiday_calendars.weekend([calendar]) == frozenset(days_off)


def test_the_first_calendar_gives_the_weekend_and_without_one_it_is_saturday_sunday():
    assert holiday_calendars.weekend(["US", "IR"]) == frozenset({5, 6})
    assert holiday_calendars.weekend(["IR", "US"]) == frozenset({4})
    assert holiday_calendars.weekend([]) == frozenset({5, 6})


SUPPORTED = sorted(
    f"{country}-{region}" if region else country
    for country, regions in holidays.list_supported_countries().items()
    for region in ("", *regions)
)


@given(st.sampled_from(SUPPORTED), instants, st.sampled_from(ZONES))
def test_any_calendars_weekend_is_the_packages_and_quiet_hours_keep_it(calendar, instant, zone):
    country, _, region = calendar.partition("-")
    days_off = holiday_calendars.weekend([calendar])
    assert days_off == frozenset(holidays.country_holidays(country, subdiv=region or None).weekend)
    assert days_off < frozenset(range(7))
    allowed = QuietHours(zone, days_off).next_allowed(instant)
    assert allowed >= instant and _local(allowed, zone).weekday() not in days_off


def test_a_persons_calendars_are_their_own_else_their_teams_else_the_pulses():
    settings = CadenceSettings(
        "W", MONDAYS_0930, holiday_calendars=("DE-BE", "US"), team_calendars={"sales": ("IR",)}
    )
    assert settings.calendars_for("AE", "sales") == ("AE",)
    assert settings.calendars_for(None, "sales") == ("IR",)
    assert settings.calendars_for(None, "marketing") == ("DE-BE", "US")
    assert settings.calendars_for(None, None) == ("DE-BE", "US")
    assert holiday_calendars.weekend(settings.calendars_for(None, "sales")) == frozenset({4})


# ----- away ----------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("emoji", "text", "away"),
    [
        (":palm_tree:", "", True),
        ("", "Out of office until Friday", True),
        ("", "On parental leave", True),
        ("", "Sick today", True),
        ("", "مرخصی", True),
        (":coffee:", "In a meeting", False),
        ("", "Booking my vacation planning call", True),
        ("", "Sicko mode", False),
    ],
)
def test_a_status_of_the_common_kinds_says_away(emoji, text, away):
    user = SlackUser("U1", "u", status_emoji=emoji, status_text=text)
    assert AwayStatuses().says_away(user, NOW) is away


def test_an_expired_status_and_the_configured_kinds():
    expired = SlackUser("U1", "u", status_emoji=":palm_tree:", status_expiration=int(NOW.timestamp()) - 1)
    assert not AwayStatuses().says_away(expired, NOW)
    custom = AwayStatuses.from_setting([":camping:", "sabbatical"])
    assert custom.says_away(SlackUser("U1", "u", status_emoji=":camping:"), NOW)
    assert custom.says_away(SlackUser("U1", "u", status_text="On sabbatical"), NOW)
    assert not custom.says_away(SlackUser("U1", "u", status_emoji=":palm_tree:"), NOW)
    assert AwayStatuses.from_setting(["", " "]) == AwayStatuses()


def test_away_until_a_date_is_the_persons_own_date():
    user = SlackUser("U1", "u")
    # 12:00 UTC on 2 March is 21:00 in Tokyo; three hours later it is 3 March there, not yet in Berlin.
    assert is_away(user, date(2026, 3, 2), NOW, "Asia/Tokyo", AwayStatuses())
    assert not is_away(user, date(2026, 3, 2), NOW + timedelta(hours=3), "Asia/Tokyo", AwayStatuses())
    assert is_away(user, date(2026, 3, 2), NOW + timedelta(hours=3), "Europe/Berlin", AwayStatuses())
    assert not is_away(user, None, NOW, "Europe/Berlin", AwayStatuses())


# ----- how the next round reaches people -----------------------------------------------------------


def test_the_next_reach_spans_the_zones_counts_the_away_and_names_the_holidays():
    nowruz_monday = schedule.next_occurrence(MONDAYS_0930, datetime(2026, 3, 20, tzinfo=UTC))
    members = [
        Member(SlackUser("U1", "a", tz="America/New_York")),
        Member(SlackUser("U2", "b", tz="Europe/Berlin")),
        Member(SlackUser("U3", "c", tz="Asia/Tehran"), own_calendar="IR"),
        Member(SlackUser("U4", "d", tz="Asia/Tehran")),
        Member(SlackUser("U5", "e", tz="Europe/Berlin", status_emoji=":palm_tree:")),
        Member(SlackUser("U6", "f"), away_until=date(2026, 3, 23)),  # no zone: Berlin's
    ]
    reach = next_reach(SETTINGS, nowruz_monday, members, "Europe/Berlin", AwayStatuses())
    assert (reach.earliest, reach.latest) == (
        datetime(2026, 3, 23, 6, 0, tzinfo=UTC),  # 09:30 in Tehran
        datetime(2026, 3, 23, 13, 30, tzinfo=UTC),  # 09:30 in New York (EDT)
    )
    assert (reach.away, reach.on_holiday) == (2, 1)
    assert reach.holidays == ("IR: Nowruz Holiday",)
    nobody = next_reach(SETTINGS, nowruz_monday, members[2:3], "Europe/Berlin", AwayStatuses())
    assert nobody.earliest is None and nobody.latest is None


def test_a_teams_calendar_skips_the_date_for_that_team_only():
    nowruz_monday = schedule.next_occurrence(MONDAYS_0930, datetime(2026, 3, 20, tzinfo=UTC))
    settings = CadenceSettings(
        "W", MONDAYS_0930, holiday_calendars=("DE-BE",), team_calendars={"sales": ("IR",)}
    )
    members = [
        Member(SlackUser("U1", "a", tz="Asia/Tehran"), "sales"),
        Member(SlackUser("U2", "b", tz="Asia/Tehran"), "sales", own_calendar="DE"),
        Member(SlackUser("U3", "c", tz="Asia/Tehran"), "marketing"),
        Member(SlackUser("U4", "d", tz="Europe/Berlin"), None),
    ]
    reach = next_reach(settings, nowruz_monday, members, "Europe/Berlin", AwayStatuses())
    assert (reach.on_holiday, reach.holidays) == (1, ("IR: Nowruz Holiday",))
    assert reach.earliest == datetime(2026, 3, 23, 6, 0, tzinfo=UTC)  # the Tehran marketer's 09:30
