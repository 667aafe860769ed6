"""The digest in each leader's language: Jalali dates and Persian digits throughout for a Persian
reader, Gregorian dates and Latin digits for an English one; both pictures in each digest's thread,
and on the admins' Home tab."""

from __future__ import annotations

import re

from bot.sandbox.workspace import HEAD_OF_MARKETING, HEAD_OF_SALES, LEADERSHIP_CHANNEL, OWNER, SALESPEOPLE
from storage.models import DigestSettings, WorkspaceAdmin
from tests.conversation import (
    MONDAY_9_BERLIN,
    a_closed_round_with_a_gap,
    keyed,
    open_home,
    slack_error,
    text_of,
)

LATIN_DIGIT = re.compile("[0-9]")
PERSIAN_DIGIT = re.compile("[۰-۹]")


def pictures_in_thread(sandbox, post) -> list[str]:
    """The file ids uploaded in the thread of a digest post."""
    (reply,) = [m for m in sandbox.messages_in(post.channel) if m.thread_ts == post.ts and m.files]
    return reply.files


def home_pictures(sandbox, user_id: str) -> list[str]:
    blocks = sandbox.home_views[user_id].view["blocks"]
    return [block["slack_file"]["id"] for block in blocks if block["type"] == "image"]


def test_a_persian_leader_reads_jalali_dates_and_persian_digits_and_an_english_one_neither(
    bot, driver, sandbox, clock
):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    with bot.database.session() as session:
        session.get(DigestSettings, "T0ACME001").leaders = [HEAD_OF_SALES, HEAD_OF_MARKETING]
    clock.set(MONDAY_9_BERLIN)
    bot.digests.run_due()

    (persian_post,) = keyed(sandbox.dms_to(HEAD_OF_MARKETING), "digest_post")
    (english_post,) = keyed(sandbox.dms_to(HEAD_OF_SALES), "digest_post")
    persian = persian_post.text + "\n" + text_of({"blocks": persian_post.blocks})
    english = english_post.text + "\n" + text_of({"blocks": english_post.blocks})

    assert "هفتهٔ ۱۸ اسفند ۱۴۰۴" in persian  # the week of Monday 9 March 2026, in the Solar Hijri calendar
    assert "امتیاز ۶۰ از ۱۰۰ (بازهٔ اطمینان ۹۵٪" in persian
    assert LATIN_DIGIT.findall(persian) == []
    assert "%" not in persian
    assert "week of 2026-03-09" in english and "score 60 of 100 (95% interval" in english
    assert PERSIAN_DIGIT.findall(english) == [] and "٪" not in english and "اسفند" not in english

    for post, language in ((persian_post, "fa"), (english_post, "en")):
        pictures = pictures_in_thread(sandbox, post)
        names = [sandbox.files[file_id].name for file_id in pictures]
        assert names == [f"alignment-2026-03-09-{language}.png", f"dimensions-2026-03-09-{language}.png"]
        assert all(sandbox.files[file_id].content.startswith(b"\x89PNG") for file_id in pictures)


def test_admins_see_the_digests_pictures_on_their_home_tab_in_their_own_language(bot, driver, sandbox, clock):
    a_closed_round_with_a_gap(bot, driver, sandbox, clock)
    with bot.database.session() as session:
        session.get(DigestSettings, "T0ACME001").leaders = [HEAD_OF_MARKETING]
        session.add(WorkspaceAdmin(team_id="T0ACME001", user_id=HEAD_OF_MARKETING))
    open_home(bot, driver, OWNER)
    assert home_pictures(sandbox, OWNER) == []  # no digest yet
    clock.set(MONDAY_9_BERLIN)
    bot.digests.run_due()
    (channel_post,) = [m for m in sandbox.messages_in(LEADERSHIP_CHANNEL) if m.thread_ts is None]
    (persian_post,) = keyed(sandbox.dms_to(HEAD_OF_MARKETING), "digest_post")

    for user_id in (OWNER, HEAD_OF_MARKETING, SALESPEOPLE[0]):
        open_home(bot, driver, user_id)

    assert home_pictures(sandbox, OWNER) == pictures_in_thread(
        sandbox, channel_post
    )  # the channel's, in English
    assert home_pictures(sandbox, HEAD_OF_MARKETING) == pictures_in_thread(
        sandbox, persian_post
    )  # her own, Persian
    assert home_pictures(sandbox, SALESPEOPLE[0]) == []  # members see no digest


def test_a_home_tab_may_show_only_images_the_app_uploaded(bot, sandbox):
    view = {
        "type": "home",
        "blocks": [{"type": "image", "slack_file": {"id": "F9999999999"}, "alt_text": "x"}],
    }

    error = slack_error(lambda: bot.app.client.views_publish(user_id=OWNER, view=view))

    assert error == "invalid_arguments"
