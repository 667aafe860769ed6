"""`/align away` and `/align holidays` in process: each sets the person's own choice, clears it, and
explains a bad one without changing anything."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.sandbox.workspace import SALESPEOPLE
from storage.models import PersonPreference
from tests.conversation import row_counts, text_of

MEMBER = SALESPEOPLE[2]  # Hannah, in Berlin


def _preference(bot) -> PersonPreference:
    with bot.database.session() as session:
        return session.scalars(select(PersonPreference)).one()


def test_away_until_a_date_and_back_again(bot, person):
    (noted,) = person(MEMBER).types("/align away until 2026-03-20")
    assert noted["response_type"] == "ephemeral" and "2026-03-20" in text_of(noted)
    assert _preference(bot).away_until == date(2026, 3, 20)
    (back,) = person(MEMBER).types("/align away off")
    assert "Welcome back" in text_of(back)
    assert _preference(bot).away_until is None


def test_a_bad_or_past_away_date_is_explained_and_changes_nothing(bot, person):
    for line in ("/align away", "/align away until someday", "/align away until 2026-03-01"):
        (usage,) = person(MEMBER).types(line)
        assert "Nothing was changed" in text_of(usage), line
    assert row_counts(bot)["person_preferences"] == 0


def test_a_person_chooses_their_own_holiday_calendar(bot, person):
    (noted,) = person(MEMBER).types("/align holidays de-by")
    assert "*DE-BY*" in text_of(noted)
    assert _preference(bot).holiday_calendar == "DE-BY"
    (cleared,) = person(MEMBER).types("/align holidays off")
    assert "the pulse's again" in text_of(cleared)
    assert _preference(bot).holiday_calendar is None


def test_an_unknown_calendar_is_explained_and_changes_nothing(bot, person):
    for line in (
        "/align holidays",
        "/align holidays narnia",
        "/align holidays DE-XX",
        "/align holidays IR US",
    ):
        (usage,) = person(MEMBER).types(line)
        assert "Nothing was changed" in text_of(usage), line
    assert row_counts(bot)["person_preferences"] == 0
