"""The App Home tab, published on `app_home_opened`, and event retries handled once."""

from __future__ import annotations

from bot.sandbox.workspace import OWNER, SALESPEOPLE
from tests.conversation import (
    FIRST_ROUND,
    MARKETING_TEAM,
    MONDAY_9_BERLIN,
    SALES_TEAM,
    answer_round,
    both_transports,
    close_round,
    create_pulse,
    open_home,
    run_at,
    text_of,
)

MEMBER = SALESPEOPLE[0]


def test_members_see_what_the_bot_is_and_how_answers_are_kept(bot, driver, sandbox):
    open_home(bot, driver, MEMBER)
    home = sandbox.home_views[MEMBER].view
    text = text_of(home)
    assert "confidential" in text
    assert "Set up alignbot" not in text


def test_admins_get_a_setup_button_that_opens_the_modal(bot, driver, sandbox):
    open_home(bot, driver, OWNER)
    home = sandbox.home_views[OWNER].view
    assert "Set up alignbot" in text_of(home)
    response = driver.click(OWNER, "open_setup", block_id="home_admin", view=home)
    assert response.status == 200
    assert bot.wait_idle()
    assert sandbox.latest_view_for(OWNER).view["callback_id"] == "setup"


def test_a_member_forging_the_setup_button_is_refused(bot, driver, sandbox):
    driver.click(MEMBER, "open_setup", block_id="home_admin", view={"id": "V0", "type": "home"})
    assert bot.wait_idle()
    assert sandbox.calls_to("views.open") == []
    assert "Nothing was changed" in text_of({"blocks": sandbox.dms_to(MEMBER)[0].blocks})


@both_transports
def test_slack_retries_of_an_event_are_handled_once(bot, driver, sandbox):
    open_home(bot, driver, MEMBER, event_id="Ev0RETRY1")
    open_home(bot, driver, MEMBER, event_id="Ev0RETRY1", retry_num=1)
    open_home(bot, driver, MEMBER, event_id="Ev0RETRY1", retry_num=2, retry_reason="http_error")
    assert len(sandbox.calls_to("views.publish")) == 1


def test_the_messages_tab_does_not_publish_a_home(bot, driver, sandbox):
    driver.event({"type": "app_home_opened", "user": MEMBER, "tab": "messages"})
    assert bot.wait_idle()
    assert sandbox.calls_to("views.publish") == []


def test_the_home_tab_shows_the_company_stage_and_your_own_participation(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=3)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4)
    close_round(bot, clock)
    open_home(bot, driver, SALES_TEAM[1])
    text = text_of(sandbox.home_views[SALES_TEAM[1]].view)
    assert "Where sales and marketing stand:* Aligned (70 of 100" in text
    assert "You answered 1 of the 1 pulses" in text


def test_admins_see_the_latest_digest_on_their_home_tab_and_members_do_not(bot, driver, sandbox, clock):
    create_pulse(bot, driver)
    run_at(bot, clock, FIRST_ROUND)
    answer_round(bot, driver, sandbox, SALES_TEAM, score=3)
    answer_round(bot, driver, sandbox, MARKETING_TEAM, score=4)
    close_round(bot, clock)
    open_home(bot, driver, OWNER)
    before = text_of(sandbox.home_views[OWNER].view)
    assert "No digest has been sent yet." in before
    assert "Next digest: <!date^1773043200^" in before  # Monday 9 March, 09:00 in Berlin
    clock.set(MONDAY_9_BERLIN)
    bot.digests.run_due()
    open_home(bot, driver, OWNER)
    home = sandbox.home_views[OWNER].view
    text = text_of(home)
    assert "Sales and marketing alignment: week of 2026-03-09" in text
    assert "*Stage: Aligned* · score 70 of 100" in text
    assert "*Sales*\n60 · Aligned" in text and "*Marketing*\n80 · Integrated" in text
    assert "Participation: sales 100% · marketing not enough people" in text  # Dana chose no team
    assert "Digest posts that failed" not in text
    assert len(home["blocks"]) < 100
    worked_out = []
    digest = bot.services.insights.digest
    bot.services.insights.digest = lambda *args: worked_out.append(args) or digest(*args)
    open_home(bot, driver, OWNER)  # opened again: the digest is not worked out again
    assert worked_out == [] and text_of(sandbox.home_views[OWNER].view) == text
    open_home(bot, driver, SALES_TEAM[1])
    member = text_of(sandbox.home_views[SALES_TEAM[1]].view)
    assert "Where sales and marketing stand:* Aligned" in member
    assert "Leadership digest" not in member and "week of" not in member
