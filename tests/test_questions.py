"""`/align questions` (the statement bank) and `/align department`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.sandbox.workspace import OWNER, SALES_AND_MARKETING, SALESPEOPLE
from storage.models import Answer, CustomItem, Delivery, DisabledItem, PersonPreference, PulseRound
from tests.conversation import (
    FIRST_ROUND,
    command,
    create_pulse,
    open_modal,
    pulse_dms,
    pulse_round_id,
    replies_to,
    row_counts,
    run_at,
    set_up_workspace,
    tap,
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


def departments_stored(bot, user_id: str | None = None) -> dict[str, list[tuple]]:
    """Who answered and was sent rounds for which department (everyone's, or one person's)."""
    with bot.database.session() as session:

        def rows(model) -> list[tuple]:
            query = select(model.round_id, model.user_id, model.department)
            query = query.where(model.user_id == user_id) if user_id else query
            return sorted(tuple(row) for row in session.execute(query))

        return {"answers": rows(Answer), "deliveries": rows(Delivery)}


def test_only_people_in_both_teams_channels_may_choose_a_department(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    tap(bot, driver, sandbox, SALESPEOPLE[0], score=4)
    before, stored = row_counts(bot), departments_stored(bot)
    (sales_only,) = command(bot, driver, SALESPEOPLE[0], "department marketing")
    assert "You are only in the Sales channels, so you answer pulses for *Sales*" in text_of(sales_only)
    (leader,) = command(bot, driver, OWNER, "department marketing")  # in the leadership channel only
    assert "You are in neither team's channels" in text_of(leader)
    dm = pulse_dms(sandbox, SALESPEOPLE[0])[0]
    button = driver.click(  # the DM shows them no department buttons; a forged tap is refused too
        SALESPEOPLE[0],
        "pulse_department:marketing",
        pulse_round_id(bot),
        "department",
        message={"ts": dm.ts, "channel": dm.channel},
    )
    assert bot.wait_idle()
    (reply,) = replies_to(sandbox, button)
    assert reply["response_type"] == "ephemeral" and "only in the Sales channels" in text_of(reply)
    assert row_counts(bot) == {**before, "handled_requests": before["handled_requests"] + 3}
    assert departments_stored(bot) == stored


def test_a_department_chosen_mid_round_applies_from_the_next_round(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    command(bot, driver, SALES_AND_MARKETING, "department sales")
    run_at(bot, clock, FIRST_ROUND)
    tap(bot, driver, sandbox, SALES_AND_MARKETING, score=4)
    assert "*Marketing*" in text_of(command(bot, driver, SALES_AND_MARKETING, "department marketing")[0])
    tap(bot, driver, sandbox, SALES_AND_MARKETING, score=2, statement=1)  # still this round's department
    first = int(pulse_round_id(bot))
    assert departments_stored(bot, SALES_AND_MARKETING) == {
        "answers": [(first, SALES_AND_MARKETING, "sales")] * 2,
        "deliveries": [(first, SALES_AND_MARKETING, "sales")],
    }
    run_at(bot, clock, FIRST_ROUND + timedelta(days=7))
    tap(bot, driver, sandbox, SALES_AND_MARKETING, score=5)
    stored = departments_stored(bot, SALES_AND_MARKETING)
    assert [department for _round, _user, department in stored["answers"]] == ["sales", "sales", "marketing"]
    assert [department for _round, _user, department in stored["deliveries"]] == ["sales", "marketing"]
