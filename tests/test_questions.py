"""`/align questions` (the statement bank) and `/align department`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.sandbox.workspace import OWNER, SALES_AND_MARKETING, SALESPEOPLE
from storage.models import CustomItem, DisabledItem, PersonPreference, PulseRound
from tests.conversation import (
    FIRST_ROUND,
    command,
    create_pulse,
    open_modal,
    pulse_dms,
    row_counts,
    run_at,
    set_up_workspace,
    text_of,
)


def test_the_list_shows_every_statement_by_dimension(bot, driver):
    set_up_workspace(bot, driver)
    text = text_of(command(bot, driver, OWNER, "questions")[0])
    assert "Decision rights" in text or "decision" in text.lower()
    assert "`hbr01`" in text and "`pow01`" in text


def test_a_statement_switched_off_is_no_longer_asked(bot, driver, sandbox, clock):
    create_pulse(bot, driver, items_per_round="5")
    for item in ("hbr01", "hbr02", "HBR03"):
        assert "switched off" in text_of(command(bot, driver, OWNER, f"questions off {item}")[0])
    with bot.database.session() as session:
        assert set(session.scalars(select(DisabledItem.item_id))) == {"hbr01", "hbr02", "hbr03"}
    for week in range(8):
        run_at(bot, clock, FIRST_ROUND + timedelta(weeks=week))
    with bot.database.session() as session:
        asked = {item for items in session.scalars(select(PulseRound.item_ids)) for item in items}
    assert asked.isdisjoint({"hbr01", "hbr02", "hbr03"})
    assert "switched on again" in text_of(command(bot, driver, OWNER, "questions on hbr02")[0])
    assert "There is no statement" in text_of(command(bot, driver, OWNER, "questions off nope")[0])


def test_an_admin_adds_a_statement_through_the_modal(bot, driver, sandbox, clock):
    set_up_workspace(bot, driver)
    view = open_modal(bot, driver, OWNER, "questions add")
    inputs = {"dimension": "knowledge", "text_en": "We learn from <each> other's wins", "text_fa": ""}
    response = driver.submit_view(OWNER, view, inputs)
    assert response.status == 200 and response.body == ""
    assert bot.wait_idle()
    driver.submit_view(OWNER, view, inputs)  # submitted twice: added once
    assert bot.wait_idle()
    with bot.database.session() as session:
        (custom,) = session.scalars(select(CustomItem)).all()
    assert (custom.item_id, custom.dimension, custom.text_en) == (
        "cus01",
        "knowledge",
        "We learn from <each> other's wins",
    )
    listing = text_of(command(bot, driver, OWNER, "questions")[0])
    assert "`cus01`" in listing and "&lt;each&gt;" in listing


def test_an_empty_statement_is_refused(bot, driver):
    set_up_workspace(bot, driver)
    view = open_modal(bot, driver, OWNER, "questions add")
    answer = driver.submit_view(
        OWNER, view, {"dimension": "knowledge", "text_en": "  ", "text_fa": ""}
    ).json()
    assert answer["response_action"] == "errors" and set(answer["errors"]) == {"text_en"}
    assert row_counts(bot)["custom_items"] == 0


def test_department_is_remembered_for_people_in_both_channels(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    assert "Sales" in text_of(command(bot, driver, SALES_AND_MARKETING, "department sales")[0])
    run_at(bot, clock, FIRST_ROUND)
    dm = pulse_dms(sandbox, SALES_AND_MARKETING)[0]
    assert not any(b.get("block_id") == "department" for b in dm.blocks)
    with bot.database.session() as session:
        assert session.get(PersonPreference, ("T0ACME001", SALES_AND_MARKETING)).department == "sales"


def test_a_bad_department_changes_nothing(bot, driver):
    for text in ("department", "department finance", "department sales marketing"):
        assert "Nothing was changed" in text_of(command(bot, driver, SALESPEOPLE[0], text)[0])
    assert row_counts(bot)["person_preferences"] == 0
