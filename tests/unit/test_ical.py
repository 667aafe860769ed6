"""The .ics file, parsed back by icalendar and expanded by dateutil, meets exactly when the schedule says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil.rrule import rruleset, rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bot.domain import schedule
from bot.domain.ical import series_ics
from bot.domain.meetings import MeetingSettings
from bot.domain.schedule import MONTHLY, ONCE, WEEKLY, Recurrence

BERLIN, NEW_YORK, TEHRAN = "Europe/Berlin", "America/New_York", "Asia/Tehran"
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
NOW = datetime(2025, 12, 20, 8, 30, tzinfo=UTC)
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
PERSIAN = "جلسهٔ مشترک فروش و بازاریابی: پیش‌بینی فروش، تعیین هدف؛ طراحی پیشبرد فروش"


def meeting(zone: str, at: time, start: date, **rule) -> MeetingSettings:
    rule.setdefault("kind", WEEKLY)
    return MeetingSettings(
        "Joint", Recurrence(local_time=at, timezone=zone, start=start, **rule), 60, ("C1",)
    )


def ics(settings_: MeetingSettings, skipped=(), link=None, description=None, title="Joint", now=NOW) -> bytes:
    return series_ics("meeting-7@alignbot", title, settings_, frozenset(skipped), link, description, now)


def event_of(data: bytes):
    [event] = Calendar.from_ical(data).walk("VEVENT")
    return event


def expand(data: bytes, after: datetime, until: datetime, *, own_timezone: bool = False) -> list[datetime]:
    """The instants in (after, until] a calendar app would show, from the parsed DTSTART, RRULE and EXDATE.

    With `own_timezone`, local times are read with the file's VTIMEZONE instead of the zone its TZID names.
    """
    calendar = Calendar.from_ical(data)
    event = event_of(data)
    zone = calendar.walk("VTIMEZONE")[0].to_tz(lookup_tzid=False) if own_timezone else None

    def local(moment: datetime) -> datetime:
        return moment.replace(tzinfo=zone) if zone else moment

    start = local(event.decoded("DTSTART"))
    instants = rruleset()
    if "RRULE" in event:
        instants.rrule(rrulestr(event["RRULE"].to_ical().decode(), dtstart=start))
    else:
        instants.rdate(start)
    exdates = event.get("EXDATE", [])
    for prop in exdates if isinstance(exdates, list) else [exdates]:
        for value in prop.dts:
            instants.exdate(local(value.dt))
    return [t.astimezone(UTC) for t in instants.between(after, until, inc=True) if after < t <= until]


def scheduled(settings_: MeetingSettings, skipped, after: datetime, until: datetime) -> list[datetime]:
    r = settings_.recurrence
    return schedule.occurrences(replace(r, skip_dates=r.skip_dates | frozenset(skipped)), after, until)


CASES = {
    "weekly": (meeting(BERLIN, time(10), date(2026, 1, 5), weekdays=frozenset({TUE, THU})), ()),
    "every_2_weeks_from_a_wednesday": (
        meeting(
            NEW_YORK,
            time(9, 30),
            date(2026, 1, 7),
            weekdays=frozenset({MON, FRI}),
            interval_weeks=2,
            skip_dates=frozenset({date(2026, 2, 16), date(2026, 2, 23), date(2026, 7, 3)}),
            end=date(2026, 12, 14),
        ),
        (date(2026, 3, 16), date(2026, 11, 2)),
    ),
    "every_3_weeks_skipping_the_first": (
        meeting(BERLIN, time(17), date(2026, 1, 1), weekdays=frozenset({THU}), interval_weeks=3),
        (date(2026, 1, 1),),
    ),
    "monthly_second_tuesday": (
        meeting(BERLIN, time(10), date(2026, 1, 1), kind=MONTHLY, nth=2, weekday=TUE),
        (),
    ),
    "monthly_last_friday": (
        meeting(
            NEW_YORK, time(16), date(2026, 1, 1), kind=MONTHLY, nth=-1, weekday=FRI, end=date(2026, 10, 30)
        ),
        (date(2026, 5, 29),),
    ),
    "once_on_a_dst_day": (meeting(BERLIN, time(10), date(2026, 10, 25), kind=ONCE), ()),
    "once_in_the_spring_gap": (meeting(NEW_YORK, time(2, 30), date(2026, 3, 8), kind=ONCE), ()),
    "once_skipped": (meeting(BERLIN, time(10), date(2026, 6, 2), kind=ONCE), (date(2026, 6, 2),)),
    "sundays_in_the_gap_and_the_overlap": (
        meeting(NEW_YORK, time(1, 30), date(2026, 1, 4), weekdays=frozenset({SUN})),
        (),
    ),
    "tehran_working_days": (
        meeting(TEHRAN, time(9), date(2026, 1, 3), weekdays=frozenset(range(7)), skip_weekends=True),
        (date(2026, 3, 21), date(2026, 3, 22)),
    ),
    "berlin_weekdays_only": (
        meeting(BERLIN, time(8), date(2026, 1, 1), weekdays=frozenset(range(7)), skip_weekends=True),
        (),
    ),
    "lord_howe_half_hour_dst": (
        meeting("Australia/Lord_Howe", time(10), date(2026, 1, 2), weekdays=frozenset({FRI, SUN})),
        (),
    ),
    "utc": (meeting("UTC", time(12), date(2026, 1, 1), weekdays=frozenset({WED})), ()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_file_expands_to_the_schedule_over_a_year(name):
    settings_, skipped = CASES[name]
    data = ics(settings_, skipped)
    expected = scheduled(settings_, skipped, *YEAR)
    assert expand(data, *YEAR) == expected
    if name not in {"once_skipped"}:
        assert expected
    if settings_.recurrence.timezone != "UTC":
        # The VTIMEZONE alone gives the same instants, for apps that do not know the zone's name.
        assert expand(data, *YEAR, own_timezone=True) == expected


ZONES = [BERLIN, NEW_YORK, TEHRAN, "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"]


@st.composite
def recurrences(draw) -> tuple[MeetingSettings, frozenset[date]]:
    kind = draw(st.sampled_from([WEEKLY, MONTHLY]))
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 90)))
    rule: dict = {"kind": kind, "skip_weekends": draw(st.booleans())}
    if kind == WEEKLY:
        rule["weekdays"] = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
        rule["interval_weeks"] = draw(st.integers(1, 4))
    else:
        rule["nth"] = draw(st.sampled_from([1, 2, 3, 4, -1]))
        rule["weekday"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        rule["end"] = start + timedelta(days=draw(st.integers(30, 400)))
    days = st.builds(lambda n: start + timedelta(days=n), st.integers(0, 365))
    rule["skip_dates"] = frozenset(draw(st.lists(days, max_size=5)))
    at = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])))
    settings_ = meeting(draw(st.sampled_from(ZONES)), at, start, **rule)
    return settings_, frozenset(draw(st.lists(days, max_size=3)))


@settings(max_examples=40, deadline=None)
@given(recurrences())
def test_any_weekly_or_monthly_rule_expands_to_the_schedule(case):
    settings_, skipped = case
    if schedule.validate(settings_.recurrence):
        return
    assert expand(ics(settings_, skipped), *YEAR) == scheduled(settings_, skipped, *YEAR)


@pytest.mark.parametrize(
    ("settings_", "rrule"),
    [
        (
            meeting(BERLIN, time(10), date(2026, 1, 5), weekdays=frozenset({THU, TUE})),
            "FREQ=WEEKLY;BYDAY=TU,TH",
        ),
        (
            meeting(BERLIN, time(10), date(2026, 1, 5), weekdays=frozenset({MON}), interval_weeks=2),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=MO",
        ),
        (
            meeting(BERLIN, time(10), date(2026, 1, 1), kind=MONTHLY, nth=2, weekday=TUE),
            "FREQ=MONTHLY;BYDAY=2TU",
        ),
        (
            meeting(
                BERLIN, time(10), date(2026, 1, 1), kind=MONTHLY, nth=-1, weekday=FRI, end=date(2026, 6, 30)
            ),
            "FREQ=MONTHLY;UNTIL=20260630T080000Z;BYDAY=-1FR",
        ),
        (
            meeting(BERLIN, time(10), date(2026, 1, 1), weekdays=frozenset(range(7)), skip_weekends=True),
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ),
        (
            meeting(TEHRAN, time(10), date(2026, 1, 1), weekdays=frozenset(range(7)), skip_weekends=True),
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,SA,SU",
        ),
    ],
)
def test_rrule_translation(settings_, rrule):
    assert event_of(ics(settings_))["RRULE"].to_ical().decode() == rrule


def test_a_one_off_meeting_has_no_rrule():
    assert "RRULE" not in event_of(ics(meeting(BERLIN, time(10), date(2026, 3, 3), kind=ONCE)))


def test_the_event_carries_what_a_calendar_needs():
    settings_ = meeting(BERLIN, time(10), date(2026, 1, 7), weekdays=frozenset({TUE, THU}))
    data = ics(settings_, link="https://meet.example.com/joint?a=1,2", description="Agenda")
    calendar = Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//alignbot//joint meetings//EN"
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == BERLIN
    event = event_of(data)
    assert str(event["UID"]) == "meeting-7@alignbot"
    assert event.decoded("DTSTAMP") == NOW
    assert b"DTSTAMP:20251220T083000Z\r\n" in data
    # DTSTART is the rule's first meeting, not the (Wednesday) start date.
    assert event["DTSTART"].params["TZID"] == BERLIN
    assert b"DTSTART;TZID=Europe/Berlin:20260108T100000\r\n" in data
    assert event.decoded("DURATION") == timedelta(minutes=60)
    assert str(event["URL"]) == "https://meet.example.com/joint?a=1,2"
    assert str(event["LOCATION"]) == "https://meet.example.com/joint?a=1,2"
    assert str(event["DESCRIPTION"]) == "Agenda"
    bare = event_of(ics(settings_))
    assert not {"URL", "LOCATION", "DESCRIPTION", "EXDATE"} & set(bare)


def test_exdates_name_only_dates_that_would_meet():
    settings_ = meeting(
        BERLIN,
        time(10),
        date(2026, 1, 5),
        weekdays=frozenset({TUE}),
        skip_dates=frozenset({date(2026, 1, 13), date(2026, 1, 14)}),
    )
    data = ics(settings_, skipped={date(2026, 7, 7), date(2026, 7, 8), date(2025, 12, 30)})
    exdates = [value.dt for value in event_of(data)["EXDATE"].dts]
    assert [t.date() for t in exdates] == [date(2026, 1, 13), date(2026, 7, 7)]
    assert {t.time() for t in exdates} == {time(10)}


def test_the_uid_is_stable_and_the_output_deterministic():
    settings_ = CASES["weekly"][0]
    assert ics(settings_) == ics(settings_)
    later = ics(settings_, now=NOW + timedelta(days=30))
    assert event_of(later)["UID"] == event_of(ics(settings_))["UID"]
    assert event_of(later).decoded("DTSTAMP") == NOW + timedelta(days=30)


TEXTS = [
    "Forecast, targets; promotions",
    "Line one\nLine two\\ with a backslash",
    PERSIAN,
    f"{PERSIAN}, {PERSIAN}; {PERSIAN}\n{PERSIAN}",
]


@pytest.mark.parametrize("text", TEXTS)
def test_text_round_trips(text):
    data = ics(CASES["weekly"][0], title=text, description=text)
    event = event_of(data)
    assert str(event["SUMMARY"]) == text
    assert str(event["DESCRIPTION"]) == text


def test_lines_end_in_crlf_are_folded_at_75_octets_and_escape_text():
    data = ics(CASES["weekly"][0], title=f"{PERSIAN}, a; b\nc", description=PERSIAN * 4)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the long text was folded
    for line in lines:
        line.decode("utf-8")  # folding never splits a character
    unfolded = data.replace(b"\r\n ", b"").decode()
    assert f"SUMMARY:{PERSIAN}\\, a\\; b\\nc\r\n" in unfolded


def test_an_invalid_recurrence_or_a_naive_now_is_refused():
    broken = meeting(BERLIN, time(10), date(2026, 1, 5), weekdays=frozenset())
    with pytest.raises(ValueError):
        ics(broken)
    with pytest.raises(ValueError):
        ics(CASES["weekly"][0], now=datetime(2026, 1, 1, 9))
