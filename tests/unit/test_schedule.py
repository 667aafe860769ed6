from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import schedule
from bot.domain.schedule import MONTHLY, ONCE, WEEKLY, Recurrence

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
ALL_DAYS = frozenset(range(7))
TUE, WED, THU, FRI, SAT = 1, 2, 3, 4, 5


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def weekly(days, at, zone, start, **fields):
    return Recurrence(
        kind=WEEKLY, local_time=at, timezone=zone, start=start, weekdays=frozenset(days), **fields
    )


def local(instants, zone):
    return [t.astimezone(ZoneInfo(zone)) for t in instants]


def test_weekly_berlin_keeps_local_time_while_utc_shifts_in_march():
    r = weekly({TUE, THU}, time(10), BERLIN, date(2026, 3, 1))
    got = schedule.occurrences(r, utc(2026, 3, 1), utc(2026, 4, 1))
    assert [t.date() for t in got] == [date(2026, 3, d) for d in (3, 5, 10, 12, 17, 19, 24, 26, 31)]
    assert all(t.tzinfo is UTC for t in got)
    assert {t.time() for t in local(got, BERLIN)} == {time(10)}
    assert [t.hour for t in got] == [9] * 8 + [8]  # CET until 2026-03-29, CEST after


def test_weekly_berlin_keeps_local_time_while_utc_shifts_in_october():
    r = weekly({TUE, THU}, time(10), BERLIN, date(2026, 1, 1))
    got = schedule.occurrences(r, utc(2026, 10, 1), utc(2026, 11, 1))
    assert [t.date() for t in got] == [date(2026, 10, d) for d in (1, 6, 8, 13, 15, 20, 22, 27, 29)]
    assert {t.time() for t in local(got, BERLIN)} == {time(10)}
    assert [t.hour for t in got] == [8] * 7 + [9] * 2  # back to CET on 2026-10-25


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected", "wall"),
    [
        # Spring-forward gap: moves forward by the gap (read with the offset before the change).
        (NEW_YORK, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 30), time(3, 30)),
        (BERLIN, date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 30), time(3, 30)),
        # Fall-back overlap: the first of the two.
        (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30), time(1, 30)),
        (BERLIN, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30), time(2, 30)),
        # Not ambiguous in New York (its overlap is 01:00-02:00).
        (NEW_YORK, date(2026, 11, 1), time(2, 30), utc(2026, 11, 1, 7, 30), time(2, 30)),
    ],
)
def test_local_to_utc_gap_and_overlap_rules(zone, day, at, expected, wall):
    got = schedule.local_to_utc(day, at, zone)
    assert got == expected
    assert got.astimezone(ZoneInfo(zone)).time() == wall


def test_local_to_utc_ignores_fold_and_rejects_an_aware_time():
    assert schedule.local_to_utc(date(2026, 10, 25), time(2, 30, fold=1), BERLIN) == utc(2026, 10, 25, 0, 30)
    with pytest.raises(ValueError):
        schedule.local_to_utc(date(2026, 1, 1), time(9, tzinfo=UTC), BERLIN)


CHANGE_DAYS = [
    (NEW_YORK, date(2026, 3, 8)),
    (NEW_YORK, date(2026, 11, 1)),
    (BERLIN, date(2026, 3, 29)),
    (BERLIN, date(2026, 10, 25)),
]


@pytest.mark.parametrize(("zone", "change_day"), CHANGE_DAYS)
@pytest.mark.parametrize("at", [time(1, 30), time(2, 30)])
def test_small_hours_fire_exactly_once_every_day_of_a_change_week(zone, change_day, at):
    week = [change_day + timedelta(days=n) for n in range(-3, 4)]
    r = weekly(ALL_DAYS, at, zone, week[0], end=week[-1])
    got = schedule.occurrences(r, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [schedule.occurrence_date(r, t) for t in got] == week
    # Only 02:30 on a spring-forward day is in a gap (both zones jump 02:00 -> 03:00): it moves to 03:30.
    moved = change_day if change_day.month == 3 and at == time(2, 30) else None
    walls = [t.astimezone(ZoneInfo(zone)).replace(tzinfo=None) for t in got]
    assert walls == [datetime.combine(day, at) + timedelta(hours=day == moved) for day in week]
    if change_day.month in (10, 11):  # a repeated wall time is the first of the two
        readings = [datetime.combine(change_day, at, tzinfo=ZoneInfo(zone)).replace(fold=f) for f in (0, 1)]
        assert got[3] == min(reading.astimezone(UTC) for reading in readings)


@pytest.mark.parametrize(("zone", "change_day"), CHANGE_DAYS)
def test_nine_oclock_is_nine_oclock_every_day_of_a_change_week(zone, change_day):
    week = [change_day + timedelta(days=n) for n in range(-3, 4)]
    r = weekly(ALL_DAYS, time(9), zone, week[0], end=week[-1])
    got = schedule.occurrences(r, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [t.astimezone(ZoneInfo(zone)).replace(tzinfo=None) for t in got] == [
        datetime.combine(day, time(9)) for day in week
    ]


def test_tehran_has_no_dst_in_the_installed_tzdata():
    tehran = ZoneInfo("Asia/Tehran")
    for month in range(1, 13):
        assert datetime(2026, month, 15, 12, tzinfo=tehran).utcoffset() == timedelta(hours=3, minutes=30)
    r = weekly(ALL_DAYS, time(9), "Asia/Tehran", date(2026, 1, 1))
    got = schedule.occurrences(r, utc(2026, 3, 15), utc(2026, 10, 15))
    assert {t.time() for t in got} == {time(5, 30)}


def test_tehran_weekend_is_thursday_and_friday():
    r = weekly(ALL_DAYS, time(9), "Asia/Tehran", date(2026, 6, 1), skip_weekends=True)
    got = schedule.occurrences(r, utc(2026, 6, 1), utc(2026, 6, 15))
    assert {schedule.occurrence_date(r, t).weekday() for t in got} == {0, 1, 2, 5, 6}
    assert len(got) == 10


@pytest.mark.parametrize(
    ("zone", "weekend"),
    [
        ("Asia/Tehran", {THU, FRI}),
        ("Asia/Kabul", {THU, FRI}),
        ("Asia/Riyadh", {FRI, SAT}),
        ("Africa/Cairo", {FRI, SAT}),
        ("Asia/Jerusalem", {FRI, SAT}),
        ("Asia/Dubai", {SAT, 6}),
        (BERLIN, {SAT, 6}),
        ("UTC", {SAT, 6}),
    ],
)
def test_weekend_days(zone, weekend):
    assert schedule.weekend_days(zone) == weekend


def test_every_two_weeks_is_anchored_on_the_week_containing_start():
    # Start is Wednesday 2026-01-07, so week 0 is Monday 2026-01-05; the Monday before start is not used.
    r = weekly({0, FRI}, time(10), BERLIN, date(2026, 1, 7), interval_weeks=2)
    got = [schedule.occurrence_date(r, t) for t in schedule.occurrences(r, utc(2026, 1, 1), utc(2026, 2, 10))]
    assert got == [date(2026, 1, 9), date(2026, 1, 19), date(2026, 1, 23), date(2026, 2, 2), date(2026, 2, 6)]
    # Far from start, still on the even weeks: 2026-12-28 is 51 weeks after 2026-01-05, an off week.
    assert schedule.occurrence_date(r, schedule.next_occurrence(r, utc(2026, 12, 27))) == date(2027, 1, 4)


def test_monthly_second_wednesday():
    r = Recurrence(
        kind=MONTHLY, local_time=time(15), timezone=BERLIN, start=date(2026, 1, 1), nth=2, weekday=WED
    )
    got = schedule.occurrences(r, utc(2026, 1, 1), utc(2027, 1, 1))
    days = (14, 11, 11, 8, 13, 10, 8, 12, 9, 14, 11, 9)
    assert [schedule.occurrence_date(r, t) for t in got] == [date(2026, m, d) for m, d in enumerate(days, 1)]
    assert {t.time() for t in local(got, BERLIN)} == {time(15)}


def test_monthly_last_friday_including_five_friday_months():
    r = Recurrence(
        kind=MONTHLY, local_time=time(15), timezone=BERLIN, start=date(2026, 1, 1), nth=-1, weekday=FRI
    )
    got = [schedule.occurrence_date(r, t) for t in schedule.occurrences(r, utc(2026, 1, 1), utc(2026, 8, 1))]
    assert got == [date(2026, m, d) for m, d in enumerate((30, 27, 27, 24, 29, 26, 31), 1)]


def test_once():
    r = Recurrence(
        kind=ONCE, local_time=time(9, 30), timezone=BERLIN, start=date(2026, 12, 3), weekdays=frozenset({0})
    )
    assert schedule.occurrences(r, utc(2026, 1, 1), utc(2027, 1, 1)) == [utc(2026, 12, 3, 8, 30)]
    assert schedule.next_occurrence(r, utc(2026, 12, 3, 8, 29)) == utc(2026, 12, 3, 8, 30)
    assert schedule.next_occurrence(r, utc(2026, 12, 3, 8, 30)) is None
    assert schedule.validate(r) == []


def test_skipped_dates_are_dropped_not_moved():
    r = weekly({TUE, THU}, time(10), BERLIN, date(2026, 3, 1), skip_dates=frozenset({date(2026, 3, 10)}))
    got = [schedule.occurrence_date(r, t) for t in schedule.occurrences(r, utc(2026, 3, 8), utc(2026, 3, 15))]
    assert got == [date(2026, 3, 12)]


def test_end_is_inclusive_and_nothing_comes_after_it():
    r = weekly({TUE, THU}, time(10), BERLIN, date(2026, 3, 1), end=date(2026, 3, 12))
    got = [schedule.occurrence_date(r, t) for t in schedule.occurrences(r, utc(2026, 1, 1), utc(2027, 1, 1))]
    assert got == [date(2026, 3, d) for d in (3, 5, 10, 12)]
    assert schedule.next_occurrence(r, utc(2026, 3, 12, 9)) is None


def test_dates_before_start_never_occur():
    r = weekly({TUE, THU}, time(10), BERLIN, date(2026, 3, 4))
    assert schedule.next_occurrence(r, utc(2025, 1, 1)) == utc(2026, 3, 5, 9)


def test_next_occurrence_only_looks_as_far_as_its_horizon():
    r = weekly({TUE, THU}, time(10), BERLIN, date(2026, 3, 4))
    assert schedule.next_occurrence(r, utc(2020, 1, 1)) is None


def test_a_forever_window_is_fine_when_the_schedule_ends():
    r = weekly({TUE}, time(10), "Pacific/Kiritimati", date(2026, 3, 1), end=date(2026, 3, 10))
    forever = datetime.max.replace(tzinfo=UTC)
    assert len(schedule.occurrences(r, datetime.min.replace(tzinfo=UTC), forever)) == 2


def test_a_day_the_zone_skipped_entirely_fires_once():
    # Samoa jumped from 2011-12-29 to 2011-12-31; 10:00 on the missing day is the same instant as the next.
    r = weekly(ALL_DAYS, time(10), "Pacific/Apia", date(2011, 12, 27))
    got = schedule.occurrences(r, utc(2011, 12, 27), utc(2012, 1, 2))
    assert [schedule.occurrence_date(r, t) for t in got] == [
        date(2011, 12, 27),
        date(2011, 12, 28),
        date(2011, 12, 29),
        date(2011, 12, 31),
        date(2012, 1, 1),
        date(2012, 1, 2),
    ]


def test_naive_datetimes_are_rejected():
    r = weekly({TUE}, time(10), BERLIN, date(2026, 3, 1))
    naive = datetime(2026, 3, 1)
    with pytest.raises(ValueError):
        schedule.occurrences(r, naive, utc(2026, 4, 1))
    with pytest.raises(ValueError):
        schedule.occurrences(r, utc(2026, 3, 1), naive)
    with pytest.raises(ValueError):
        schedule.next_occurrence(r, naive)
    with pytest.raises(ValueError):
        schedule.occurrence_date(r, naive)


def test_an_invalid_recurrence_is_not_searched():
    with pytest.raises(ValueError, match="unknown_timezone"):
        schedule.occurrences(
            weekly({TUE}, time(10), "Mars/Olympus", date(2026, 3, 1)), utc(2026, 1, 1), utc(2027, 1, 1)
        )


GOOD_WEEKLY = weekly({TUE}, time(10), BERLIN, date(2026, 3, 1))
GOOD_MONTHLY = Recurrence(
    kind=MONTHLY, local_time=time(15), timezone=BERLIN, start=date(2026, 1, 1), nth=2, weekday=WED
)


@pytest.mark.parametrize(
    ("recurrence", "codes"),
    [
        (GOOD_WEEKLY, []),
        (GOOD_MONTHLY, []),
        (replace(GOOD_WEEKLY, kind="daily"), ["unknown_kind"]),
        (replace(GOOD_WEEKLY, kind=["weekly"]), ["unknown_kind"]),
        (replace(GOOD_WEEKLY, timezone="Mars/Olympus"), ["unknown_timezone"]),
        (replace(GOOD_WEEKLY, timezone="../../etc/passwd"), ["unknown_timezone"]),
        (replace(GOOD_WEEKLY, timezone=None), ["unknown_timezone"]),
        (replace(GOOD_WEEKLY, local_time="10:00"), ["bad_local_time"]),
        (replace(GOOD_WEEKLY, local_time=time(10, tzinfo=UTC)), ["bad_local_time"]),
        (replace(GOOD_WEEKLY, weekdays=frozenset()), ["no_weekdays"]),
        (replace(GOOD_WEEKLY, weekdays=frozenset({7})), ["bad_weekday"]),
        (replace(GOOD_WEEKLY, weekdays=frozenset({True})), ["bad_weekday"]),
        (replace(GOOD_WEEKLY, interval_weeks=0), ["bad_interval"]),
        (replace(GOOD_WEEKLY, interval_weeks=13), ["bad_interval"]),
        (replace(GOOD_MONTHLY, nth=5), ["bad_nth"]),
        (replace(GOOD_MONTHLY, nth=0), ["bad_nth"]),
        (replace(GOOD_MONTHLY, nth=None), ["missing_nth"]),
        (replace(GOOD_MONTHLY, weekday=None), ["missing_weekday"]),
        (replace(GOOD_MONTHLY, weekday=-1), ["bad_weekday"]),
        (replace(GOOD_WEEKLY, start="2026-03-01"), ["bad_start"]),
        (replace(GOOD_WEEKLY, end=datetime(2026, 4, 1)), ["bad_end"]),
        (replace(GOOD_WEEKLY, end=date(2026, 2, 1)), ["end_before_start"]),
        (replace(GOOD_WEEKLY, skip_dates=frozenset({datetime(2026, 3, 3)})), ["bad_skip_dates"]),
        (replace(GOOD_WEEKLY, skip_dates=None), ["bad_skip_dates"]),
        (replace(GOOD_WEEKLY, weekdays=frozenset({SAT}), skip_weekends=True), ["never_occurs"]),
        (replace(GOOD_WEEKLY, weekdays=frozenset({SAT}), skip_weekends=True, timezone="Asia/Tehran"), []),
        (replace(GOOD_WEEKLY, end=date(2026, 3, 2)), ["never_occurs"]),
        (replace(GOOD_WEEKLY, kind=ONCE, skip_dates=frozenset({date(2026, 3, 1)})), ["never_occurs"]),
        (replace(GOOD_WEEKLY, kind=ONCE, weekdays=frozenset()), []),
    ],
)
def test_validate(recurrence, codes):
    assert schedule.validate(recurrence) == codes


def test_validate_reports_several_problems_at_once():
    bad = Recurrence(kind=MONTHLY, local_time=time(9), timezone="Nowhere", start=date(2026, 1, 1), nth=9)
    assert schedule.validate(bad) == ["unknown_timezone", "bad_nth", "missing_weekday"]


# --- properties ---------------------------------------------------------------------------------------

ZONES = [
    "UTC",
    NEW_YORK,
    "Europe/London",
    BERLIN,
    "Asia/Tehran",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "Asia/Riyadh",
]

# Quarter hours reach every DST change these zones have had (Chatham's is at 02:45, Lord Howe's 30 minutes);
# the small hours are drawn often so that gaps and overlaps come up in the general properties too.
QUARTER_HOURS = [time(h, m) for h in range(24) for m in (0, 15, 30, 45)]
CHANGE_HOURS = [t for t in QUARTER_HOURS if t.hour in (0, 1, 2, 3, 23)]
local_times = st.sampled_from(CHANGE_HOURS) | st.sampled_from(QUARTER_HOURS)
starts = st.dates(date(2000, 1, 1), date(2036, 12, 31))


@st.composite
def recurrences(draw):
    start = draw(starts)
    common = {
        "local_time": draw(local_times),
        "timezone": draw(st.sampled_from(ZONES)),
        "start": start,
        "skip_dates": draw(
            st.frozensets(st.integers(0, 400).map(lambda n: start + timedelta(days=n)), max_size=20)
        ),
        "skip_weekends": draw(st.booleans()),
        "end": draw(st.none() | st.integers(0, 800).map(lambda n: start + timedelta(days=n))),
    }
    if draw(st.booleans()):
        return Recurrence(
            kind=WEEKLY,
            weekdays=draw(st.just(ALL_DAYS) | st.frozensets(st.integers(0, 6), min_size=1)),
            interval_weeks=draw(st.just(1) | st.integers(1, 12)),
            **common,
        )
    return Recurrence(
        kind=MONTHLY, nth=draw(st.sampled_from([1, 2, 3, 4, -1])), weekday=draw(st.integers(0, 6)), **common
    )


@st.composite
def windows(draw, r):
    """(after, until) near the schedule's start; the bounds may be aware in any zone, not just UTC."""
    # Days and minutes are drawn apart: one wide minute range would mostly give windows of a few minutes.
    start = utc(r.start.year, r.start.month, r.start.day)
    after = start + timedelta(days=draw(st.integers(-30, 900)), minutes=draw(st.integers(0, 24 * 60 - 1)))
    until = after + timedelta(days=draw(st.integers(0, 400)), minutes=draw(st.integers(0, 24 * 60 - 1)))
    return after.astimezone(ZoneInfo(draw(st.sampled_from(ZONES)))), until


def _readings(day, at, zone):
    """Both PEP 495 readings of a wall-clock time, earliest first (equal unless in a gap or overlap)."""
    wall = datetime.combine(day, at)
    return sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


def _wall(instant, zone):
    return instant.astimezone(zone).replace(tzinfo=None)


def _is_scheduled(r, day):
    """The rule, restated day by day, for comparison with the generator's cycle-jumping."""
    if day < r.start or (r.end is not None and day > r.end) or day in r.skip_dates:
        return False
    if r.skip_weekends and day.weekday() in schedule.weekend_days(r.timezone):
        return False
    if r.kind == WEEKLY:
        weeks = (day - (r.start - timedelta(days=r.start.weekday()))).days // 7
        return day.weekday() in r.weekdays and weeks % r.interval_weeks == 0
    if day.weekday() != r.weekday:
        return False
    if r.nth == -1:
        return (day + timedelta(days=7)).month != day.month
    return (day.day - 1) // 7 + 1 == r.nth


def _oracle(r, after, until):
    zone = ZoneInfo(r.timezone)
    day, last = (
        after.astimezone(zone).date() - timedelta(days=2),
        until.astimezone(zone).date() + timedelta(days=2),
    )
    found = set()
    while day <= last:
        if _is_scheduled(r, day):
            earlier, later = _readings(day, r.local_time, zone)
            in_gap = _wall(earlier, zone) != datetime.combine(day, r.local_time)
            instant = later if in_gap else earlier
            if after < instant <= until:
                found.add(instant)
        day += timedelta(days=1)
    return sorted(found)


def _assert_occurrences_are_right(r, after, until):
    zone = ZoneInfo(r.timezone)
    got = schedule.occurrences(r, after, until)

    assert all(t.tzinfo is UTC for t in got)
    assert all(a < b for a, b in zip(got, got[1:], strict=False))
    assert all(after < t <= until for t in got)
    days = [schedule.occurrence_date(r, t) for t in got]
    assert len(set(days)) == len(days)
    assert not set(days) & r.skip_dates
    if r.skip_weekends:
        assert not {d.weekday() for d in days} & schedule.weekend_days(r.timezone)
    for t, day in zip(got, days, strict=True):
        earlier, later = _readings(day, r.local_time, zone)
        wall = datetime.combine(day, r.local_time)
        if _wall(t, zone) == wall:
            assert t == earlier  # the first one when the time happens twice
        else:  # only in a spring-forward gap, and then moved forward by the gap
            assert _wall(earlier, zone) != wall and _wall(later, zone) != wall
            assert t == later and _wall(t, zone) - wall == later - earlier
    assert got == _oracle(r, after, until)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_occurrences_properties(data):
    r = data.draw(recurrences())
    _assert_occurrences_are_right(r, *data.draw(windows(r)))


@st.composite
def change_weeks(draw):
    """A daily schedule at a time the change moves or repeats, and a few days' window around the change."""
    name = draw(st.sampled_from([z for z in ZONES if z not in ("UTC", "Asia/Kolkata", "Asia/Riyadh")]))
    zone = ZoneInfo(name)
    year = draw(st.integers(2000, 2036))
    noons = [datetime(year, 1, 1, 12, tzinfo=zone) + timedelta(days=n) for n in range(366)]
    changes = [b.date() for a, b in zip(noons, noons[1:], strict=False) if a.utcoffset() != b.utcoffset()]
    day = draw(st.sampled_from(changes)) if changes else date(year, 6, 1)
    # The wall-clock times that fall in that change's gap or overlap (it may straddle midnight).
    odd = [
        t
        for d in (day - timedelta(days=1), day)
        for t in QUARTER_HOURS
        if len(set(_readings(d, t, zone))) == 2
    ]
    r = Recurrence(
        kind=WEEKLY,
        local_time=draw(st.sampled_from(odd) if odd else local_times),
        timezone=name,
        start=day - timedelta(days=draw(st.integers(0, 20))),
        weekdays=ALL_DAYS,
    )
    # Always from 2-3 days before to 2-3 days after: hypothesis favours small numbers, so draw only the edges.
    midnight = utc(day.year, day.month, day.day)
    after = midnight - timedelta(days=3) + timedelta(minutes=draw(st.integers(0, 24 * 60)))
    return r, after, midnight + timedelta(days=3) - timedelta(minutes=draw(st.integers(0, 24 * 60)))


@settings(max_examples=200, deadline=None)
@given(change_weeks())
def test_occurrences_properties_around_dst_changes(case):
    _assert_occurrences_are_right(*case)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_next_occurrence_is_the_first_of_the_horizon(data):
    r = data.draw(recurrences())
    after, _ = data.draw(windows(r))
    within = schedule.occurrences(r, after, after + schedule.NEXT_OCCURRENCE_HORIZON)
    assert schedule.next_occurrence(r, after) == (within[0] if within else None)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_splitting_a_window_changes_nothing(data):
    r = data.draw(recurrences())
    after, until = data.draw(windows(r))
    middle = after + (until - after) * data.draw(st.floats(0, 1))
    whole = schedule.occurrences(r, after, until)
    assert schedule.occurrences(r, after, middle) + schedule.occurrences(r, middle, until) == whole
