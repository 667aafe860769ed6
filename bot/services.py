"""The services listeners call: each takes and returns plain values, and owns its transactions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings
from bot.insights import InsightService
from bot.meeting_service import MeetingService

if TYPE_CHECKING:
    from bot.digest_runner import DigestRunner
    from bot.installations import Installations
from bot.people import SlackUser, choose_language, may_administer
from bot.pulses import PulseService
from bot.question_bank import QuestionBank, load_bank
from bot.rendering import Renderer
from bot.workspace_setup import DEFAULT_ANONYMITY_THRESHOLD, SetupForm, WorkspaceConfig
from storage import digests as digest_store
from storage import workspaces as store
from storage.db import Database


@dataclass
class WorkspaceService:
    database: Database
    clock: Clock
    default_language: str
    default_timezone: str

    def config(self, team_id: str) -> WorkspaceConfig | None:
        with self.database.session() as session:
            return store.load_config(session, team_id)

    def threshold(self, team_id: str) -> int:
        """The anonymity threshold in force (the default until the workspace is set up)."""
        with self.database.session() as session:
            threshold = store.anonymity_threshold(session, team_id)
        return threshold if threshold is not None else DEFAULT_ANONYMITY_THRESHOLD

    def may_administer(self, team_id: str, user: SlackUser) -> bool:
        with self.database.session() as session:
            return may_administer(user, store.configured_admins(session, team_id))

    def language_for(self, team_id: str, user: SlackUser) -> str:
        with self.database.session() as session:
            override = store.language_override(session, team_id, user.id)
            config = store.load_config(session, team_id)
        default = config.default_language if config else self.default_language
        return choose_language(override, user.locale, default)

    def set_language(self, team_id: str, user_id: str, language: str) -> None:
        with self.database.session() as session:
            store.set_language(session, team_id, user_id, language, self.clock.now())

    def setup_form(self, team_id: str, user: SlackUser) -> SetupForm:
        """What the setup modal shows first: the current configuration, or sensible defaults."""
        config = self.config(team_id)
        if config is None:
            return SetupForm(
                timezone=user.tz or self.default_timezone,
                default_language=self.default_language,
                anonymity_threshold=str(DEFAULT_ANONYMITY_THRESHOLD),
            )
        return SetupForm(
            sales_channels=config.sales_channels,
            marketing_channels=config.marketing_channels,
            leadership_channel=config.leadership_channel,
            timezone=config.timezone,
            default_language=config.default_language,
            anonymity_threshold=str(config.anonymity_threshold),
            admins=config.admins,
        )

    def save_setup(self, team_id: str, config: WorkspaceConfig, configured_by: str, request_key: str) -> bool:
        """Store the configuration once per submitted modal; a repeated submission returns False."""
        now = self.clock.now()
        with self.database.session() as session:
            if not store.claim_request(session, team_id, request_key, now):
                return False
            store.save_config(session, team_id, config, configured_by, now)
            session.flush()
            digest_store.ensure_settings(session, team_id, now)
            return True

    def claim_request(self, team_id: str, request_key: str) -> bool:
        with self.database.session() as session:
            return store.claim_request(session, team_id, request_key, self.clock.now())


@dataclass
class Services:
    """Everything a listener needs, handed to it through Bolt's context."""

    settings: Settings
    database: Database
    renderer: Renderer
    clock: Clock
    bank: QuestionBank = field(default_factory=load_bank)
    schedule_changed: Callable[[], None] = lambda: None
    """Called after a change to what is scheduled, so the scheduler re-plans at once."""
    digests: DigestRunner | None = None
    """Set by the runtime: sending a digest needs each workspace's Slack client."""
    installations: Installations | None = None
    """Set by the runtime in OAuth mode (many workspaces); None with a single bot token."""
    workspaces: WorkspaceService = field(init=False)
    pulses: PulseService = field(init=False)
    insights: InsightService = field(init=False)
    meetings: MeetingService = field(init=False)

    def __post_init__(self) -> None:
        self.workspaces = WorkspaceService(
            self.database, self.clock, self.settings.default_language, self.settings.default_timezone
        )
        self.pulses = PulseService(self.database, self.clock, self.bank)
        self.insights = InsightService(self.database, self.pulses)
        self.meetings = MeetingService(self.database, self.clock, self.insights, self.renderer)
