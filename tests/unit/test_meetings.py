"""Joint meetings: the modal's checks, reminders that fire exactly once across DST, the agenda, usefulness."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import meetings, nudges, schedule
from bot.domain.meetings import (
    ERROR_CODES,
    JOINT_ACTIVITIES,
    DimensionGap,
    MeetingForm,
    MeetingSettings,
    Reminder,
    adherence,
    build_agenda,
    check_due,
    days_since_useful_meeting,
    due_checks,
    due_reminders,
    form_from_settings,
    is_useful,
    next_occurrences,
    occurrence_number,
    validate_meeting,
)
from bot.domain.nudges import Nudge
from bot.domain.schedule import MONTHLY, ONCE, WEEKLY, Recurrence
from bot.domain.scoring import DimensionMean, Figure, ItemMeta, Response, Results, score
from bot.domain.vocabulary import EVERYONE, MARKETING, SALES

BERLIN, NEW_YORK, TEHRAN = "Europe/Berlin", "America/New_York", "Asia/Tehran"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)  # a Sunday; 13:00 in Berlin
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def form(**changes) -> MeetingForm:
    """A good weekly form: Tuesdays 10:00 Berlin from 2026-03-03."""
    base = MeetingForm(
        title="Pipeline and targets",
        weekdays=(str(TUE),),
        first_date="2026-03-03",
        start_time="10:00",
        timezone=BERLIN,
        channels=("C0SALES", "C0MKTG"),
    )
    return replace(base, **changes)


def meeting(zone: str, at: time, start: date, *, offsets=(1440, 15), duration=60, **rule) -> MeetingSettings:
    rule.setdefault("kind", WEEKLY)
    recurrence = Recurrence(local_time=at, timezone=zone, start=start, **rule)
    return MeetingSettings("Joint", recurrence, duration, ("C1",), tuple(offsets))


# --- validation ---------------------------------------------------------------------------------------


def test_a_good_weekly_form_becomes_settings():
    got = validate_meeting(form(title="  Pipeline \n and   targets ", channels=("C1", "C1", " ")), NOW)
    assert got == MeetingSettings(
        title="Pipeline and targets",
        recurrence=Recurrence(WEEKLY, time(10), BERLIN, date(2026, 3, 3), weekdays=frozenset({TUE})),
        duration_minutes=60,
        channels=("C1",),
        reminder_offsets=(1440, 15),
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"frequency": "every_n_weeks", "weekdays": ("0", "3"), "interval_weeks": "2"},
            {"kind": WEEKLY, "weekdays": frozenset({MON, THU}), "interval_weeks": 2},
        ),
        ({"frequency": "monthly", "nth": "2", "weekday": "1"}, {"kind": MONTHLY, "nth": 2, "weekday": TUE}),
        ({"frequency": "monthly", "nth": "-1", "weekday": "4"}, {"kind": MONTHLY, "nth": -1, "weekday": FRI}),
        # A one-off meeting ignores the fields of a series, and may be later today.
        (
            {"frequency": "once", "first_date": "2026-03-01", "start_time": "18:00", "skip_weekends": True},
            {"kind": ONCE, "start": date(2026, 3, 1), "local_time": time(18)},
        ),
    ],
)
def test_each_frequency_is_accepted(changes, expected):
    got = validate_meeting(form(**changes), NOW)
    assert isinstance(got, MeetingSettings)
    for name, value in expected.items():
        assert getattr(got.recurrence, name) == value


def test_optional_fields_are_parsed():
    got = validate_meeting(
        form(
            reminder_offsets=(" 15", "", "2880", "60"),
            link=" https://meet.example.com/joint?x=1 ",
            owner=" U123 ",
            duration_minutes="45",
            end_date="2026-12-31",
            skip_dates="2026-04-07, 2026-05-05",
            skip_weekends=True,
        ),
        NOW,
    )
    assert got.reminder_offsets == (2880, 60, 15)
    assert got.link == "https://meet.example.com/joint?x=1"
    assert got.owner == "U123"
    assert got.duration == timedelta(minutes=45)
    assert got.recurrence.end == date(2026, 12, 31)
    assert got.recurrence.skip_dates == {date(2026, 4, 7), date(2026, 5, 5)}
    assert got.recurrence.skip_weekends


def test_no_reminders_is_allowed_and_empty_first_date_means_today_in_the_zone():
    got = validate_meeting(form(reminder_offsets=(), first_date="", weekdays=(str(SUN),)), NOW)
    assert got.reminder_offsets == ()
    assert got.recurrence.start == date(2026, 3, 1)
    # 2026-03-01 23:30 UTC is already 2 March in Tehran.
    late = validate_meeting(form(first_date="", timezone=TEHRAN), utc(2026, 3, 1, 23, 30))
    assert late.recurrence.start == date(2026, 3, 2)


ERROR_CASES = [
    ({"title": " \n "}, "title", "title_required"),
    ({"title": "x" * 151}, "title", "title_too_long"),
    ({"frequency": "daily"}, "frequency", "bad_choice"),
    ({"weekdays": ()}, "weekdays", "no_weekdays"),
    ({"weekdays": ("5", "6"), "skip_weekends": True}, "weekdays", "never_occurs"),
    ({"frequency": "every_n_weeks", "interval_weeks": "13"}, "interval_weeks", "bad_interval"),
    ({"frequency": "monthly", "nth": "5", "weekday": "1"}, "nth", "bad_nth"),
    ({"frequency": "monthly", "nth": "1", "weekday": "7"}, "weekday", "bad_weekday"),
    ({"frequency": "monthly", "nth": "1", "weekday": "6", "skip_weekends": True}, "weekday", "never_occurs"),
    ({"first_date": "2026-02-30"}, "first_date", "bad_date"),
    ({"first_date": "2026-02-28"}, "first_date", "date_in_past"),
    ({"start_time": "24:00"}, "start_time", "bad_time"),
    # 12:30 Berlin is 11:30 UTC, before NOW.
    ({"frequency": "once", "first_date": "2026-03-01", "start_time": "12:30"}, "start_time", "time_in_past"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown_timezone"),
    ({"duration_minutes": "4"}, "duration_minutes", "duration_out_of_range"),
    ({"duration_minutes": "481"}, "duration_minutes", "duration_out_of_range"),
    ({"duration_minutes": "an hour"}, "duration_minutes", "duration_out_of_range"),
    ({"channels": (" ",)}, "channels", "channels_required"),
    ({"reminder_offsets": ("1 day",)}, "reminder_offsets", "bad_offset"),
    ({"reminder_offsets": ("-15",)}, "reminder_offsets", "negative_offset"),
    ({"reminder_offsets": ("0",)}, "reminder_offsets", "zero_offset"),
    ({"reminder_offsets": ("15", "015")}, "reminder_offsets", "duplicate_offset"),
    ({"reminder_offsets": ("5", "10", "15", "30", "60")}, "reminder_offsets", "too_many_offsets"),
    ({"reminder_offsets": ("10081",)}, "reminder_offsets", "offset_too_long"),
    # Mondays and Tuesdays: a 25-hour reminder of Tuesday's meeting would come before Monday's.
    ({"weekdays": ("0", "1"), "reminder_offsets": ("1500",)}, "reminder_offsets", "offset_exceeds_gap"),
    ({"link": "ftp://files.example.com/agenda"}, "link", "bad_link"),
    ({"link": "javascript:alert(1)"}, "link", "bad_link"),
    ({"link": "https://"}, "link", "bad_link"),
    ({"link": "https://meet.example.com/a b"}, "link", "bad_link"),
    ({"link": "http://[::1"}, "link", "bad_link"),
    ({"link": "https://meet.example.com/" + "a" * 480}, "link", "link_too_long"),
    ({"end_date": "31/12/2026"}, "end_date", "bad_date"),
    ({"end_date": "2026-03-02"}, "end_date", "end_before_start"),
    # Sundays 09:00 Berlin from today until today: today's has passed.
    (
        {"weekdays": ("6",), "first_date": "2026-03-01", "start_time": "09:00", "end_date": "2026-03-01"},
        "end_date",
        "no_future_occurrence",
    ),
    ({"skip_dates": "2026-03-10 next-tuesday"}, "skip_dates", "bad_skip_date"),
    (
        {"skip_dates": " ".join(str(date(2026, 4, 1) + timedelta(days=n)) for n in range(61))},
        "skip_dates",
        "too_many_skip_dates",
    ),
]


@pytest.mark.parametrize(("changes", "field", "code"), ERROR_CASES)
def test_each_bad_field_is_refused_with_its_code(changes, field, code):
    assert validate_meeting(form(**changes), NOW) == {field: code}


def test_every_error_code_is_reachable_and_listed():
    assert {code for _changes, _field, code in ERROR_CASES} == set(ERROR_CODES)


def test_several_bad_fields_are_reported_together():
    errors = validate_meeting(form(title="", timezone="Nowhere", channels=(), link="mailto:x@y.z"), NOW)
    assert errors == {
        "title": "title_required",
        "timezone": "unknown_timezone",
        "channels": "channels_required",
        "link": "bad_link",
    }


def test_a_naive_now_is_a_bug():
    with pytest.raises(ValueError):
        validate_meeting(form(), datetime(2026, 3, 1, 12))


def test_the_shortest_gap_counts_daylight_saving():
    # Saturdays and Sundays in Berlin: 29 March 2026 has 23 hours, so that gap is 23 h.
    weekend = form(weekdays=("5", "6"), first_date="2026-03-07")
    assert isinstance(validate_meeting(replace(weekend, reminder_offsets=("1380",)), NOW), MeetingSettings)
    assert validate_meeting(replace(weekend, reminder_offsets=("1381",)), NOW) == {
        "reminder_offsets": "offset_exceeds_gap"
    }
    # Weekly in New York is 7 days minus an hour in March, so a 7-day reminder would overtake; not in UTC.
    weekly = form(timezone=NEW_YORK, reminder_offsets=("10080",))
    assert validate_meeting(weekly, NOW) == {"reminder_offsets": "offset_exceeds_gap"}
    assert isinstance(validate_meeting(replace(weekly, timezone="UTC"), NOW), MeetingSettings)
    # A one-off meeting has no next meeting to overtake.
    once = replace(weekly, frequency="once", first_date="2026-03-05")
    assert isinstance(validate_meeting(once, NOW), MeetingSettings)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"frequency": "every_n_weeks", "weekdays": ("0", "4"), "interval_weeks": "3", "skip_weekends": True},
        {"frequency": "monthly", "nth": "-1", "weekday": "4", "end_date": "2027-06-30"},
        {"frequency": "once", "first_date": "2026-10-25", "start_time": "02:30", "link": "http://x.example"},
        {
            "timezone": TEHRAN,
            "weekdays": ("5", "6", "0"),
            "skip_dates": "2026-03-21\n2026-03-22",
            "owner": "U1",
        },
        {"reminder_offsets": ("30",), "duration_minutes": "480", "title": "جلسهٔ مشترک، فروش؛ بازاریابی"},
    ],
)
def test_settings_round_trip_through_the_edit_form(changes):
    settings_ = validate_meeting(form(**changes), NOW)
    assert isinstance(settings_, MeetingSettings)
    assert validate_meeting(form_from_settings(settings_), NOW) == settings_


def test_an_edit_may_keep_a_first_date_that_has_passed():
    settings_ = validate_meeting(form(), NOW)
    later = NOW + timedelta(days=90)
    edit = replace(form_from_settings(settings_), title="Renamed")
    assert validate_meeting(edit, later) == {"first_date": "date_in_past"}
    got = validate_meeting(edit, later, existing_first_date=settings_.recurrence.start)
    assert got == replace(settings_, title="Renamed")
    # Moving it to another past date is still refused, and a one-off meeting that is over stays over.
    moved = replace(edit, first_date="2026-03-10")
    assert validate_meeting(moved, later, existing_first_date=date(2026, 3, 3)) == {
        "first_date": "date_in_past"
    }
    once = replace(edit, frequency="once")
    assert validate_meeting(once, later, existing_first_date=date(2026, 3, 3)) == {
        "first_date": "no_future_occurrence"
    }


# --- reminders ----------------------------------------------------------------------------------------

ZONES = [BERLIN, NEW_YORK, TEHRAN, "UTC", "Australia/Lord_Howe", "America/Santiago"]


@st.composite
def meeting_settings(draw) -> MeetingSettings:
    kind = draw(st.sampled_from([WEEKLY, MONTHLY, ONCE]))
    rule = {"kind": kind}
    if kind == WEEKLY:
        rule["weekdays"] = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
        rule["interval_weeks"] = draw(st.integers(1, 3))
    elif kind == MONTHLY:
        rule["nth"] = draw(st.sampled_from([1, 2, 3, 4, -1]))
        rule["weekday"] = draw(st.integers(0, 6))
    return meeting(
        draw(st.sampled_from(ZONES)),
        time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45]))),
        date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 60))),
        offsets=draw(st.lists(st.sampled_from([5, 15, 60, 1440, 2880, 10080]), max_size=4, unique=True)),
        duration=draw(st.integers(5, 480)),
        **rule,
    )


START, SPAN = utc(2026, 1, 1), timedelta(days=400)


@settings(max_examples=60, deadline=None)
@given(meeting_settings(), st.lists(st.integers(1, int(SPAN.total_seconds()) - 1), max_size=40))
def test_reminders_and_checks_fire_exactly_once_over_chained_windows(settings_, cuts):
    bounds = [START, *sorted({START + timedelta(seconds=s) for s in cuts}), START + SPAN]
    chained = [r for a, b in pairwise(bounds) for r in due_reminders(settings_, a, b)]
    whole = due_reminders(settings_, START, START + SPAN)
    assert chained == whole
    assert len({(r.occurrence_date, r.offset_minutes) for r in whole}) == len(whole)
    for r in whole:
        assert START < r.due <= START + SPAN
        assert r.due == r.occurrence - timedelta(minutes=r.offset_minutes)
        assert r.occurrence_date == schedule.occurrence_date(settings_.recurrence, r.occurrence)
    checks = [t for a, b in pairwise(bounds) for t in due_checks(settings_, a, b)]
    assert checks == due_checks(settings_, START, START + SPAN)
    assert all(START < check_due(settings_, t) <= START + SPAN for t in checks)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def reminders_by_offset(settings_, after, until):
    found: dict[int, list[datetime]] = {}
    for r in due_reminders(settings_, after, until):
        found.setdefault(r.offset_minutes, []).append(r.due)
    return found


@pytest.mark.parametrize(
    ("zone", "days", "before", "after_change", "starts_utc"),
    [
        # Berlin: CET until 29 March 2026, CEST until 25 October 2026.
        (
            BERLIN,
            (TUE, THU),
            date(2026, 3, 26),
            date(2026, 3, 31),
            (utc(2026, 3, 26, 9), utc(2026, 3, 31, 8)),
        ),
        (
            BERLIN,
            (TUE, THU),
            date(2026, 10, 22),
            date(2026, 10, 27),
            (utc(2026, 10, 22, 8), utc(2026, 10, 27, 9)),
        ),
        # New York: EST until 8 March 2026, EDT until 1 November 2026.
        (
            NEW_YORK,
            (FRI, MON),
            date(2026, 3, 6),
            date(2026, 3, 9),
            (utc(2026, 3, 6, 15), utc(2026, 3, 9, 14)),
        ),
        (
            NEW_YORK,
            (FRI, MON),
            date(2026, 10, 30),
            date(2026, 11, 2),
            (utc(2026, 10, 30, 14), utc(2026, 11, 2, 15)),
        ),
        # Tehran kept +04:30 until 22 September 2022, and +03:30 since.
        (
            TEHRAN,
            (SUN,),
            date(2022, 9, 18),
            date(2022, 9, 25),
            (utc(2022, 9, 18, 5, 30), utc(2022, 9, 25, 6, 30)),
        ),
    ],
)
def test_a_ten_oclock_meeting_stays_ten_local_across_a_dst_change(
    zone, days, before, after_change, starts_utc
):
    settings_ = meeting(zone, time(10), before, weekdays=frozenset(days))
    window = (midnight(before) - timedelta(days=2), midnight(after_change) + timedelta(hours=23))
    starts = next_occurrences(settings_, window[0], 2)
    assert starts == list(starts_utc)
    assert [t.astimezone(ZoneInfo(zone)).time() for t in starts] == [time(10), time(10)]
    # Offsets are elapsed time: 15 minutes and 24 hours before each start, whatever the wall clock did.
    got = reminders_by_offset(settings_, *window)
    assert got[15] == [t - timedelta(minutes=15) for t in starts]
    assert got[1440] == [t - timedelta(hours=24) for t in starts]


def test_reminder_values_in_tehran_now():
    settings_ = meeting(TEHRAN, time(10), date(2026, 3, 7), weekdays=frozenset({SAT}))  # +03:30
    got = due_reminders(settings_, utc(2026, 3, 6), utc(2026, 3, 7, 12))
    assert got == [
        Reminder(utc(2026, 3, 7, 6, 30), date(2026, 3, 7), 1440, utc(2026, 3, 6, 6, 30)),
        Reminder(utc(2026, 3, 7, 6, 30), date(2026, 3, 7), 15, utc(2026, 3, 7, 6, 15)),
    ]


def test_a_reminder_due_at_a_window_edge_belongs_to_the_window_it_ends():
    settings_ = meeting(BERLIN, time(10), date(2026, 3, 3), weekdays=frozenset({TUE}), offsets=(15,))
    due = utc(2026, 3, 3, 8, 45)
    assert [r.due for r in due_reminders(settings_, due - timedelta(hours=1), due)] == [due]
    assert due_reminders(settings_, due, due + timedelta(hours=1)) == []


def test_skipped_dates_get_no_reminders_no_listing_and_no_check():
    settings_ = meeting(BERLIN, time(10), date(2026, 3, 3), weekdays=frozenset({TUE, THU}))
    skipped = {date(2026, 3, 5)}
    window = (utc(2026, 3, 1), utc(2026, 3, 13))
    dates = {r.occurrence_date for r in due_reminders(settings_, *window, skipped)}
    assert dates == {date(2026, 3, 3), date(2026, 3, 10), date(2026, 3, 12)}
    assert next_occurrences(settings_, window[0], 3, skipped) == [
        utc(2026, 3, 3, 9),
        utc(2026, 3, 10, 9),
        utc(2026, 3, 12, 9),
    ]
    assert date(2026, 3, 5) not in {t.date() for t in due_checks(settings_, *window, skipped)}
    # The recurrence's own skip dates (holidays) count the same way.
    holiday = replace(settings_, recurrence=replace(settings_.recurrence, skip_dates=frozenset(skipped)))
    assert due_reminders(holiday, *window) == due_reminders(settings_, *window, skipped)


def test_listing_stops_when_the_series_ends():
    settings_ = meeting(BERLIN, time(10), date(2026, 3, 3), weekdays=frozenset({TUE}), end=date(2026, 3, 10))
    assert next_occurrences(settings_, NOW, 5) == [utc(2026, 3, 3, 9), utc(2026, 3, 10, 9)]
    assert next_occurrences(settings_, NOW, 0) == []


def test_the_usefulness_check_goes_out_when_the_meeting_ends():
    settings_ = meeting(BERLIN, time(10), date(2026, 3, 3), weekdays=frozenset({TUE}), duration=45)
    assert check_due(settings_, utc(2026, 3, 3, 9)) == utc(2026, 3, 3, 9, 45)
    assert due_checks(settings_, utc(2026, 3, 3, 9, 44), utc(2026, 3, 3, 9, 45)) == [utc(2026, 3, 3, 9)]
    assert due_checks(settings_, utc(2026, 3, 3, 9, 45), utc(2026, 3, 3, 10)) == []


def test_occurrence_numbers_count_meetings_not_skipped():
    settings_ = meeting(BERLIN, time(10), date(2026, 3, 3), weekdays=frozenset({TUE}))
    assert occurrence_number(settings_, utc(2026, 3, 3, 9)) == 1
    assert occurrence_number(settings_, utc(2026, 3, 17, 9)) == 3
    assert occurrence_number(settings_, utc(2026, 3, 17, 9), {date(2026, 3, 10)}) == 2


def test_occurrence_number_refuses_what_is_not_a_meeting():
    settings_ = meeting(BERLIN, time(10), date(2026, 3, 3), weekdays=frozenset({TUE}))
    with pytest.raises(ValueError):
        occurrence_number(settings_, utc(2026, 3, 4, 9))
    with pytest.raises(ValueError):
        occurrence_number(settings_, utc(2026, 3, 10, 9), {date(2026, 3, 10)})


# --- agenda -------------------------------------------------------------------------------------------


def fig(mean: float | None) -> Figure:
    return Figure() if mean is None else Figure(respondents=8, mean=mean, favourable=0.5)


def results(dimensions: dict[tuple[str, str], float | None]) -> Results:
    figures = {key: fig(mean) for key, mean in dimensions.items()}
    gaps = {
        d: figures[MARKETING, d].mean - figures[SALES, d].mean
        for g, d in figures
        if g == SALES
        and (MARKETING, d) in figures
        and not figures[SALES, d].withheld
        and not figures[MARKETING, d].withheld
    }
    return Results(items={}, dimensions=figures, composites={}, item_gaps={}, dimension_gaps=gaps)


def nudge(key: str) -> Nudge:
    return Nudge(key, nudges.LOW_DIMENSION, "cross_training", {}, nudges.LEADERS, 2)


def test_the_agenda_picks_the_weakest_and_the_widest_gaps_and_skips_withheld():
    got = build_agenda(
        results(
            {
                (EVERYONE, "knowledge"): 2.0,
                (EVERYONE, "culture_trust"): None,
                (EVERYONE, "joint_planning"): 3.5,
                (EVERYONE, "key_accounts"): 2.5,
                (SALES, "joint_planning"): 4.5,
                (MARKETING, "joint_planning"): 2.5,
                (SALES, "knowledge"): 1.5,
                (MARKETING, "knowledge"): 3.0,
                (SALES, "key_accounts"): 2.4,
                (MARKETING, "key_accounts"): 2.6,
                (SALES, "culture_trust"): None,
                (MARKETING, "culture_trust"): 4.9,
            }
        ),
        [nudge("a"), nudge("b"), nudge("c"), nudge("d")],
        1,
        ["  Q3 launch \n dates ", " ", "Lead definition"],
    )
    assert got.weakest == (DimensionMean("knowledge", 2.0), DimensionMean("key_accounts", 2.5))
    assert got.gaps == (DimensionGap("joint_planning", 4.5, 2.5), DimensionGap("knowledge", 1.5, 3.0))
    assert got.gaps[0].gap == -2.0
    assert [n.key for n in got.nudges] == ["a", "b", "c"]
    assert got.joint_activity == "forecasts_targets"
    assert got.extra_items == ("Q3 launch dates", "Lead definition")


def test_a_nudge_about_a_dimension_already_on_the_agenda_is_not_repeated():
    figures = results(
        {(EVERYONE, "knowledge"): 2.0, (SALES, "knowledge"): 1.5, (MARKETING, "knowledge"): 3.0}
    )
    about_knowledge = Nudge("gap:knowledge", nudges.WIDE_GAP, "discuss", {"dimension": "knowledge"}, "", 1)
    about_a_statement = Nudge(
        "gap:hbr05", nudges.WIDE_GAP, "discuss", {"item": "hbr05", "dimension": "knowledge"}, "", 1
    )
    got = build_agenda(figures, [about_knowledge, about_a_statement, nudge("other")], 1, [])
    assert [n.key for n in got.nudges] == ["gap:hbr05", "other"]


def test_a_gap_reported_for_a_withheld_side_is_left_out():
    inconsistent = replace(
        results({(SALES, "knowledge"): None, (MARKETING, "knowledge"): 3.0}),
        dimension_gaps={"knowledge": 1.0},
    )
    assert build_agenda(inconsistent, [], 1, []).gaps == ()


def test_joint_activities_rotate_with_the_meeting_number():
    got = [build_agenda(None, [], n, []).joint_activity for n in range(1, 8)]
    assert got == [*JOINT_ACTIVITIES, *JOINT_ACTIVITIES, JOINT_ACTIVITIES[0]]
    assert JOINT_ACTIVITIES == ("forecasts_targets", "customer_value", "promotions")
    with pytest.raises(ValueError):
        build_agenda(None, [], 0, [])


def test_an_agenda_before_any_results_has_no_figures():
    got = build_agenda(None, [], 2, [])
    assert (got.weakest, got.gaps, got.nudges, got.extra_items) == ((), (), (), ())
    assert got.joint_activity == "customer_value"


ITEMS = {
    "hbr01": ItemMeta("joint_planning", scored=True),
    "hbr04": ItemMeta("information_sharing", scored=True),
    "hbr18": ItemMeta("knowledge", scored=True),
    "ext01": ItemMeta("joint_meetings", scored=False),
}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 14),
            st.sampled_from(sorted(ITEMS)),
            st.sampled_from([SALES, MARKETING, None]),
            st.integers(1, 5),
        ),
        max_size=80,
    ),
    st.sampled_from([3, 5]),
)
def test_withheld_figures_never_reach_the_agenda(answers, threshold):
    # A person keeps one department, as in the real data.
    department_of = {}
    responses = [
        Response(f"p{who}", item, department_of.setdefault(who, dept), rating)
        for who, item, dept, rating in answers
    ]
    scored = score(responses, ITEMS, threshold)
    got = build_agenda(scored, [], 1, [])
    shown = {d: f.mean for (g, d), f in scored.dimensions.items() if g == EVERYONE and not f.withheld}
    assert [w.dimension for w in got.weakest] == sorted(shown, key=lambda d: (shown[d], d))[:2]
    for weak in got.weakest:
        assert weak.mean == shown[weak.dimension]
    for gap in got.gaps:
        assert not scored.dimensions[SALES, gap.dimension].withheld
        assert not scored.dimensions[MARKETING, gap.dimension].withheld
    assert len(got.gaps) == min(2, len(scored.dimension_gaps))


# --- adherence and usefulness ------------------------------------------------------------------------


def test_adherence_is_held_over_planned():
    planned = [date(2026, 3, d) for d in (3, 10, 17, 24)]
    held = [date(2026, 3, d) for d in (3, 3, 17, 24, 5)]  # a repeat, and an unplanned meeting
    got = adherence(planned, held)
    assert (got.planned, got.held, got.share) == (4, 3, 0.75)
    assert adherence([], [date(2026, 3, 3)]).share is None


@pytest.mark.parametrize(
    ("ratings", "useful"),
    [([4, 3], True), ([3, 3, 4], False), ([5], True), ([3], False), ([], False), ([1, 5, 5, 3], True)],
)
def test_a_meeting_is_useful_from_a_mean_of_three_and_a_half(ratings, useful):
    assert is_useful(ratings) is useful


def test_usefulness_ratings_outside_the_scale_are_a_bug():
    with pytest.raises(ValueError):
        is_useful([4, 6])


def test_days_since_useful_meeting():
    today = date(2026, 4, 30)
    assert days_since_useful_meeting([], today) is None
    assert days_since_useful_meeting([], today, tracking_since=date(2026, 3, 1)) == 60
    assert days_since_useful_meeting([date(2026, 3, 31), date(2026, 4, 20), date(2026, 5, 5)], today) == 10
    assert days_since_useful_meeting([date(2026, 4, 20)], today, tracking_since=date(2026, 1, 1)) == 10


def test_the_no_useful_meeting_nudge_fires_after_thirty_days():
    def kinds(days):
        return [n.kind for n in nudges.nudges([], {}, days_since_useful_meeting=days)]

    today = date(2026, 4, 30)
    assert kinds(days_since_useful_meeting([today - timedelta(days=30)], today)) == []
    assert kinds(days_since_useful_meeting([today - timedelta(days=31)], today)) == [nudges.NO_USEFUL_MEETING]
    # Never a useful meeting since tracking began counts, too; with nothing known, no nudge.
    assert kinds(days_since_useful_meeting([], today, tracking_since=date(2026, 3, 1))) == [
        nudges.NO_USEFUL_MEETING
    ]
    assert kinds(days_since_useful_meeting([], today)) == []


def test_due_reminders_uses_the_schedule_module():
    # The reminders of a rule are the schedule's occurrences shifted back by each offset.
    settings_ = meeting(NEW_YORK, time(9, 30), date(2026, 1, 5), kind=MONTHLY, nth=-1, weekday=FRI)
    after, until = utc(2026, 1, 1), utc(2027, 1, 1)
    starts = schedule.occurrences(settings_.recurrence, after + timedelta(days=1), until + timedelta(days=1))
    assert [
        r.occurrence for r in due_reminders(settings_, after, until) if r.offset_minutes == 1440
    ] == starts
    # Last Friday of February to last Friday of March: 28 days, less the hour lost on 8 March.
    assert meetings.shortest_gap(settings_.recurrence) == timedelta(days=28, hours=-1)


def test_the_meeting_record_sums_series_over_thirty_days_and_tracks_from_the_first_planned():
    checked = meetings.CheckedMeeting
    today = date(2026, 4, 30)
    record = meetings.meeting_record(
        [
            checked(1, date(2026, 3, 26), (5,), held=True),  # useful, but outside the 30 days
            checked(1, date(2026, 4, 2), (2, 3), held=True),  # held, not useful
            checked(1, date(2026, 4, 9), ()),  # planned, not confirmed as held
            checked(2, date(2026, 4, 9), (4,), held=True),  # another series on the same day counts on its own
            checked(2, date(2026, 4, 16), ()),  # the owner said it did not take place
            checked(2, date(2026, 5, 7), (4,), held=True),  # not yet
        ],
        today,
    )
    assert record.adherence == meetings.Adherence(planned=4, held=2, share=2 / 4)
    assert record.days_since_useful == 21
    never_useful = meetings.meeting_record([checked(1, date(2026, 3, 26), (1,))], today)
    assert (never_useful.adherence.planned, never_useful.days_since_useful) == (0, 35)
    assert meetings.meeting_record([], today) == meetings.MeetingRecord(meetings.Adherence(0, 0, None), None)
