"""The fake Slack workspace the sandbox serves: people, channels and the app's own bot user.

The seeded workspace deliberately contains the awkward cases a real one has (guests, a deactivated
user, another bot, Slackbot, a channel the bot is not in, people in several timezones and locales)
so the bot's handling of them is exercised by every test that runs against the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass
class SandboxUser:
    """One member of the workspace, with the fields the bot reads from users.info / users.list."""

    id: str
    name: str
    real_name: str
    tz: str = "America/Los_Angeles"
    locale: str = "en-US"
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    is_app_user: bool = False
    display_name: str = ""
    bot_id: str | None = None
    status_emoji: str = ""
    status_text: str = ""
    status_expiration: int = 0
    """Unix seconds when the status clears itself; 0: it stays until changed."""


@dataclass
class SandboxChannel:
    """A conversation; DMs opened at runtime are also represented this way (``is_im``)."""

    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    members: list[str] = field(default_factory=list)
    is_im: bool = False


@dataclass
class SandboxWorkspace:
    """A whole workspace plus the identity of the installed app, as auth.test reports it."""

    team_id: str
    team_name: str
    domain: str
    bot_user_id: str
    bot_id: str
    app_id: str
    users: list[SandboxUser]
    channels: list[SandboxChannel]
    bot_token: str = "xoxb-sandbox-token"
    app_token: str = "xapp-1-A0ALIGNBOT-sandbox"
    """The app-level token, for Socket Mode (`apps.connections.open`)."""

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    def user(self, user_id: str) -> SandboxUser | None:
        return self._users_by_id.get(user_id)

    @cached_property
    def _users_by_id(self) -> dict[str, SandboxUser]:
        """Every post names its person: a look-up, not a walk through thousands of people."""
        return {u.id: u for u in reversed(self.users)}  # the first of a repeated id, as before

    def channel(self, channel_id: str) -> SandboxChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def channel_by_name(self, name: str) -> SandboxChannel | None:
        name = name.removeprefix("#")
        return next((c for c in self.channels if c.name == name), None)


BOT_USER_ID = "U0ALIGNBOT"
BOT_ID = "B0ALIGNBOT"
APP_ID = "A0ALIGNBOT"

OWNER = "U0OWNER01"
ADMIN = "U0ADMIN01"
HEAD_OF_SALES = "U0SALESHD"
HEAD_OF_MARKETING = "U0MKTGHD1"
SALESPEOPLE = ("U0SALES01", "U0SALES02", "U0SALES03", "U0SALES04")
MARKETERS = ("U0MKTG001", "U0MKTG002", "U0MKTG003", "U0MKTG004")
SALES_AND_MARKETING = "U0BOTHSM1"
GUEST = "U0GUEST01"
DEACTIVATED = "U0FORMER1"
OTHER_BOT = "U0CRMSYNC"
SLACKBOT = "USLACKBOT"

SALES_CHANNEL = "C0SALES01"
MARKETING_CHANNEL = "C0MARKET1"
LEADERSHIP_CHANNEL = "C0LEADER1"
GENERAL_CHANNEL = "C0GENERAL"
RANDOM_CHANNEL = "C0RANDOM1"


def _person(user_id: str, real_name: str, tz: str, locale: str = "en-US", **flags: bool) -> SandboxUser:
    first, _, last = real_name.partition(" ")
    handle = f"{first}.{last}".lower() if last else first.lower()
    return SandboxUser(
        id=user_id, name=handle, real_name=real_name, display_name=first, tz=tz, locale=locale, **flags
    )


def default_workspace() -> SandboxWorkspace:
    """Acme Inc.: a small sales + marketing org with every kind of member a real workspace has."""
    users = [
        _person(OWNER, "Olivia Owner", "America/New_York", is_owner=True, is_admin=True),
        _person(ADMIN, "Alan Park", "America/Los_Angeles", is_admin=True),
        _person(HEAD_OF_SALES, "Marcus Reed", "America/New_York"),
        _person(HEAD_OF_MARKETING, "Sara Ahmadi", "Asia/Tehran", "fa-IR"),
        _person(SALESPEOPLE[0], "Jamie Collins", "America/Los_Angeles"),
        _person(SALESPEOPLE[1], "Reza Karimi", "Asia/Tehran", "fa-IR"),
        _person(SALESPEOPLE[2], "Hannah Schmidt", "Europe/Berlin"),
        _person(SALESPEOPLE[3], "Tom Fletcher", "Europe/London"),
        _person(MARKETERS[0], "Leila Hosseini", "Asia/Tehran", "fa-IR"),
        _person(MARKETERS[1], "Chris Morgan", "America/New_York"),
        _person(MARKETERS[2], "Emma Wagner", "Europe/Berlin"),
        _person(MARKETERS[3], "Noah Patel", "Europe/London"),
        _person(SALES_AND_MARKETING, "Dana Brooks", "America/Los_Angeles"),
        _person(GUEST, "Victor Lang", "Europe/Berlin", is_restricted=True),
        _person(DEACTIVATED, "Peter Gray", "Europe/London", deleted=True),
        SandboxUser(
            id=OTHER_BOT,
            name="crm-sync",
            real_name="CRM Sync",
            display_name="CRM Sync",
            is_bot=True,
            bot_id="B0CRMSYNC",
        ),
        SandboxUser(id=SLACKBOT, name="slackbot", real_name="Slackbot", display_name="Slackbot"),
        SandboxUser(
            id=BOT_USER_ID,
            name="alignbot",
            real_name="AlignBot",
            display_name="AlignBot",
            is_bot=True,
            bot_id=BOT_ID,
        ),
    ]
    full_members = [
        u.id for u in users if not (u.is_bot or u.is_restricted or u.id in (SLACKBOT, BOT_USER_ID))
    ]
    channels = [
        SandboxChannel(
            id=SALES_CHANNEL,
            name="sales",
            members=[HEAD_OF_SALES, *SALESPEOPLE, SALES_AND_MARKETING, GUEST, OTHER_BOT, BOT_USER_ID],
        ),
        SandboxChannel(
            id=MARKETING_CHANNEL,
            name="marketing",
            members=[HEAD_OF_MARKETING, *MARKETERS, SALES_AND_MARKETING, DEACTIVATED, BOT_USER_ID],
        ),
        SandboxChannel(
            id=LEADERSHIP_CHANNEL,
            name="leadership",
            is_private=True,
            members=[OWNER, HEAD_OF_SALES, HEAD_OF_MARKETING, BOT_USER_ID],
        ),
        SandboxChannel(id=GENERAL_CHANNEL, name="general", members=full_members),
        SandboxChannel(
            id=RANDOM_CHANNEL,
            name="random",
            members=[OWNER, ADMIN, SALESPEOPLE[0], MARKETERS[1], SALES_AND_MARKETING, BOT_USER_ID],
        ),
    ]
    return SandboxWorkspace(
        team_id="T0ACME001",
        team_name="Acme",
        domain="acme",
        bot_user_id=BOT_USER_ID,
        bot_id=BOT_ID,
        app_id=APP_ID,
        users=users,
        channels=channels,
    )


def generated_workspace(people: int, team_id: str = "T0BENCH01") -> SandboxWorkspace:
    """A workspace of `people` humans split between #sales and #marketing, for load tests.

    Its ids (people, channels, the bot, the token) are made from `team_id`, so workspaces generated
    for different teams can share one sandbox, as workspaces share Slack.
    """
    tag = team_id[1:]
    bot_user_id = f"U{tag}BOT"
    users = [
        SandboxUser(id=f"U{tag}{n:05d}", name=f"person{n}", real_name=f"Person {n}", tz="Europe/Berlin")
        for n in range(people)
    ]
    users.append(
        SandboxUser(
            id=bot_user_id,
            name="alignbot",
            real_name="AlignBot",
            display_name="AlignBot",
            is_bot=True,
            bot_id=f"B{tag}BOT",
        )
    )
    half = people // 2
    channels = [
        SandboxChannel(id=f"C{tag}S", name="sales", members=[u.id for u in users[:half]] + [bot_user_id]),
        SandboxChannel(
            id=f"C{tag}M", name="marketing", members=[u.id for u in users[half:people]] + [bot_user_id]
        ),
    ]
    return SandboxWorkspace(
        team_id=team_id,
        team_name=f"Bench {tag}",
        domain=f"bench-{tag.lower()}",
        bot_user_id=bot_user_id,
        bot_id=f"B{tag}BOT",
        app_id=APP_ID,
        users=users,
        channels=channels,
        bot_token=f"xoxb-{team_id.lower()}-token",
    )


GLOBEX_OWNER = "U1GLBOWNR"
GLOBEX_SALESPEOPLE = ("U1GLBSAL1", "U1GLBSAL2", "U1GLBSAL3")
GLOBEX_MARKETERS = ("U1GLBMKT1", "U1GLBMKT2", "U1GLBMKT3")
GLOBEX_BOT_USER_ID = "U1GLBBOT1"
GLOBEX_SALES_CHANNEL = "C1GLBDEAL"
GLOBEX_MARKETING_CHANNEL = "C1GLBBRND"
GLOBEX_LEADERSHIP_CHANNEL = "C1GLBEXEC"


def globex_workspace() -> SandboxWorkspace:
    """Globex: a second, smaller workspace with ids of its own (as in Slack, no id is shared), in which
    the same app is installed with a bot of its own; for tests of many workspaces."""
    users = [
        _person(GLOBEX_OWNER, "Gwen Owens", "Europe/Paris", is_owner=True, is_admin=True),
        _person(GLOBEX_SALESPEOPLE[0], "Hugo Blanc", "Europe/Paris", "fr-FR"),
        _person(GLOBEX_SALESPEOPLE[1], "Ines Roux", "Europe/Paris", "fr-FR"),
        _person(GLOBEX_SALESPEOPLE[2], "Karim Haddad", "Asia/Tehran", "fa-IR"),
        _person(GLOBEX_MARKETERS[0], "Lea Martin", "Europe/Paris", "fr-FR"),
        _person(GLOBEX_MARKETERS[1], "Marc Petit", "Europe/Paris", "fr-FR"),
        _person(GLOBEX_MARKETERS[2], "Nora Weiss", "Europe/Berlin"),
        SandboxUser(
            id=GLOBEX_BOT_USER_ID,
            name="alignbot",
            real_name="AlignBot",
            display_name="AlignBot",
            is_bot=True,
            bot_id="B1GLBBOT1",
        ),
    ]
    channels = [
        SandboxChannel(
            id=GLOBEX_SALES_CHANNEL, name="deals", members=[*GLOBEX_SALESPEOPLE, GLOBEX_BOT_USER_ID]
        ),
        SandboxChannel(
            id=GLOBEX_MARKETING_CHANNEL, name="brand", members=[*GLOBEX_MARKETERS, GLOBEX_BOT_USER_ID]
        ),
        SandboxChannel(
            id=GLOBEX_LEADERSHIP_CHANNEL,
            name="execs",
            is_private=True,
            members=[GLOBEX_OWNER, GLOBEX_SALESPEOPLE[0], GLOBEX_MARKETERS[0], GLOBEX_BOT_USER_ID],
        ),
    ]
    return SandboxWorkspace(
        team_id="T1GLOBEX1",
        team_name="Globex",
        domain="globex",
        bot_user_id=GLOBEX_BOT_USER_ID,
        bot_id="B1GLBBOT1",
        app_id=APP_ID,
        users=users,
        channels=channels,
        bot_token="xoxb-globex-token",
    )


DEMO_SALESPEOPLE = ("U0SALES05", "U0SALES06", "U0SALES07")
DEMO_MARKETERS = ("U0MKTG005", "U0MKTG006")


def demo_workspace() -> SandboxWorkspace:
    """Acme with three more salespeople and two more marketers: eight people on each team.

    The demo plays twelve weeks in which someone is always away; with five a side, one absence
    would put a team under the anonymity threshold of 5 and hide its figures that week.
    """
    workspace = default_workspace()
    extra = [
        _person(DEMO_SALESPEOPLE[0], "Grace Kim", "America/Chicago"),
        _person(DEMO_SALESPEOPLE[1], "Omid Farahani", "Asia/Tehran", "fa-IR"),
        _person(DEMO_SALESPEOPLE[2], "Luis Ortega", "America/Mexico_City", "es-MX"),
        _person(DEMO_MARKETERS[0], "Mina Rahimi", "Asia/Tehran", "fa-IR"),
        _person(DEMO_MARKETERS[1], "Ben Carter", "Europe/London"),
    ]
    workspace.users += extra
    joins = {
        SALES_CHANNEL: DEMO_SALESPEOPLE,
        MARKETING_CHANNEL: DEMO_MARKETERS,
        GENERAL_CHANNEL: DEMO_SALESPEOPLE + DEMO_MARKETERS,
    }
    for channel_id, members in joins.items():
        workspace.channel(channel_id).members += members
    return workspace
