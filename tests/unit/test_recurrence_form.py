"""The recurrence fields both modals share: one parser, under each modal's own block ids, and one prefill."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain import cadence
from bot.domain.cadence import CadenceForm, CadenceSettings, form_from_settings
from bot.domain.meetings import MEETING_RECURRENCE, MeetingForm
from bot.domain.recurrence_form import suggested
from bot.domain.schedule import MONTHLY, WEEKLY, Recurrence

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)  # a Sunday
BERLIN = "Europe/Berlin"


def pulse(**changes) -> CadenceForm:
    """A good weekly pulse: Tuesdays 10:00 Berlin from 2026-03-03."""
    base = CadenceForm(
        name="Weekly", weekdays=("1",), send_time="10:00", timezone=BERLIN, start_date="2026-03-03"
    )
    return replace(base, **changes)


def test_a_good_pulse_form_becomes_settings():
    settings, errors = cadence.validate(pulse(skip_dates="2026-03-10", skip_weekends=True), NOW)
    assert errors == {}
    assert settings == CadenceSettings(
        name="Weekly",
        recurrence=Recurrence(
            WEEKLY,
            time(10),
            BERLIN,
            date(2026, 3, 3),
            weekdays=frozenset({1}),
            skip_dates=frozenset({date(2026, 3, 10)}),
            skip_weekends=True,
        ),
    )


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"frequency": "once"}, "frequency", "bad_choice"),
        ({"send_time": "25:00"}, "send_time", "bad_time"),
        ({"start_date": "2026-02-28"}, "start_date", "date_in_past"),
        ({"start_date": "03/03/2026"}, "start_date", "bad_date"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown_timezone"),
        ({"weekdays": ()}, "weekdays", "no_weekdays"),
        ({"weekdays": ("5", "6"), "skip_weekends": True}, "weekdays", "never_occurs"),
        (
            {"frequency": "monthly", "nth": "1", "weekday": "6", "skip_weekends": True},
            "weekday",
            "never_occurs",
        ),
        ({"skip_dates": "soon"}, "skip_dates", "bad_skip_date"),
    ],
)
def test_pulse_errors_land_under_the_pulse_modals_blocks(changes, field, code):
    assert cadence.validate(pulse(**changes), NOW) == (None, {field: code})


def test_the_rule_as_a_whole_is_judged_once_the_rest_of_the_form_is_valid():
    never = {"weekdays": ("5", "6"), "skip_weekends": True}
    assert cadence.validate(pulse(name="", **never), NOW) == (None, {"name": "name_required"})


def test_an_edited_pulse_may_keep_its_past_start_but_not_move_to_another():
    later = NOW + timedelta(days=90)
    assert cadence.validate(pulse(), later, existing_start=date(2026, 3, 3))[1] == {}
    moved = pulse(start_date="2026-03-10")
    assert cadence.validate(moved, later, existing_start=date(2026, 3, 3))[1] == {
        "start_date": "date_in_past"
    }


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"frequency": "every_n_weeks", "weekdays": ("0", "4"), "interval_weeks": "3", "skip_weekends": True},
        {"frequency": "monthly", "nth": "-1", "weekday": "4", "skip_dates": "2026-03-27\n2026-04-24"},
    ],
)
def test_pulse_settings_round_trip_through_the_edit_form(changes):
    settings, errors = cadence.validate(pulse(**changes), NOW)
    assert errors == {}
    assert cadence.validate(form_from_settings(settings), NOW) == (settings, {})


def test_a_monthly_pulse_prefills_its_week_and_day():
    settings, _ = cadence.validate(pulse(frequency="monthly", nth="2", weekday="3"), NOW)
    assert settings.recurrence.kind == MONTHLY
    form = form_from_settings(settings)
    assert (form.frequency, form.nth, form.weekday, form.send_time) == ("monthly", "2", "3", "10:00")


def test_a_new_modal_suggests_tuesdays_at_ten_from_today_in_the_zone():
    # 23:30 UTC on 1 March is already 2 March in Tehran.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert CadenceForm(**cadence.PULSE_RECURRENCE.prefill(suggested("Asia/Tehran", late))) == CadenceForm(
        weekdays=("1",), send_time="10:00", timezone="Asia/Tehran", start_date="2026-03-02"
    )
    assert MeetingForm(**MEETING_RECURRENCE.prefill(suggested("UTC", late))) == MeetingForm(
        weekdays=("1",), start_time="10:00", timezone="UTC", first_date="2026-03-01"
    )
