"""Workspace settings kept in memory per workspace (`bot.services.settings_cache`): a change is seen
at once by the replica that made it, by every other replica as soon as PostgreSQL's notification
arrives (two runtimes on one database), and the anonymity threshold is never read from the cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from bot.domain.clock import ManualClock
from bot.runtime.process import BotRuntime
from bot.runtime.settings import Settings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.workspace import HEAD_OF_SALES
from bot.services.settings_cache import WorkspaceSettingsCache
from tests.conversation import SIGNING_SECRET, Person, command, set_up_workspace, text_of

TEAM_ID = "T0ACME001"
#: How long a notification may take to reach the other replica before the test fails.
NOTIFICATION_DEADLINE_SECONDS = 10.0


def eventually(condition: Callable[[], bool]) -> bool:
    """Whether `condition` holds within the deadline: a notification travels on its own time."""
    deadline = time.monotonic() + NOTIFICATION_DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.01)
    return True


@pytest.fixture
def replica(bot: BotRuntime, settings: Settings, clock: ManualClock) -> Iterator[BotRuntime]:
    """A second replica on the same database; both hear of settings changes (PostgreSQL only)."""
    if bot.database.backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL database")
    with BotRuntime(settings, clock=clock, scheduler=False) as second:
        for runtime in (bot, second):
            assert runtime.settings_listener.listening.wait(NOTIFICATION_DEADLINE_SECONDS)
        yield second


def refused_setup(bot: BotRuntime, driver: SlackDriver, user_id: str) -> bool:
    replies = command(bot, driver, user_id, "setup")
    return len(replies) == 1 and "Only Slack workspace admins and owners" in text_of(replies[0])


def test_an_admin_named_on_one_replica_may_act_on_the_other(bot, driver, sandbox, replica):
    set_up_workspace(bot, driver)
    on_replica = SlackDriver(replica.url, SIGNING_SECRET, sandbox)
    assert refused_setup(replica, on_replica, HEAD_OF_SALES)  # the replica now keeps "no extra admins"

    set_up_workspace(bot, driver, admins=[HEAD_OF_SALES])

    assert eventually(lambda: HEAD_OF_SALES in replica.workspace_settings.get(TEAM_ID).admins)
    assert Person(HEAD_OF_SALES, replica, on_replica).opens("/align setup")["callback_id"] == "setup"


def test_a_raised_threshold_applies_on_every_replica_at_once(bot, driver, replica):
    set_up_workspace(bot, driver)
    assert replica.services.workspaces.threshold(TEAM_ID) == 5
    set_up_workspace(bot, driver, anonymity_threshold="8")
    assert replica.services.workspaces.threshold(TEAM_ID) == 8  # no waiting for any notification


def test_a_replica_that_cannot_hear_of_changes_reads_them_every_time(bot, driver, replica):
    set_up_workspace(bot, driver)
    assert replica.workspace_settings.get(TEAM_ID).admins == frozenset()
    replica.settings_listener.stop()
    assert not replica.workspace_settings.trusted

    set_up_workspace(bot, driver, admins=[HEAD_OF_SALES])

    assert replica.workspace_settings.get(TEAM_ID).admins == {HEAD_OF_SALES}  # at once


def test_the_replica_that_writes_sees_its_change_at_once(bot, driver):
    set_up_workspace(bot, driver)
    assert bot.workspace_settings.get(TEAM_ID).admins == frozenset()
    set_up_workspace(bot, driver, admins=[HEAD_OF_SALES])
    assert bot.workspace_settings.get(TEAM_ID).admins == {HEAD_OF_SALES}


def test_settings_read_before_a_change_are_not_kept_after_it(bot, driver):
    """A request that read the old settings while an admin's change committed must not keep them."""
    set_up_workspace(bot, driver)
    cache = WorkspaceSettingsCache(bot.database, bot.services.bank)
    cache.trusted = True
    read = cache._read

    def read_then_change(session, team_id):
        settings = read(session, team_id)
        cache.changed(team_id)  # the change commits between the read and keeping what was read
        return settings

    cache._read = read_then_change
    assert cache.get(TEAM_ID).admins == frozenset()
    cache._read = read
    set_up_workspace(bot, driver, admins=[HEAD_OF_SALES])
    assert cache.get(TEAM_ID).admins == {HEAD_OF_SALES}  # nothing stale was kept


def test_kept_settings_are_read_again_after_their_time(bot, driver):
    set_up_workspace(bot, driver)
    now = [0.0]
    cache = WorkspaceSettingsCache(bot.database, bot.services.bank, ttl=60, monotonic=lambda: now[0])
    cache.trusted = True
    assert cache.get(TEAM_ID).admins == frozenset()
    set_up_workspace(bot, driver, admins=[HEAD_OF_SALES])  # through the bot: this cache is not told
    assert cache.get(TEAM_ID).admins == frozenset()
    now[0] = 61.0
    assert cache.get(TEAM_ID).admins == {HEAD_OF_SALES}
