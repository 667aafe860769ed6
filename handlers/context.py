"""What every listener is given through Bolt's context: the services, and the jobs a person can trigger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.domain.clock import Clock
from bot.domain.question_bank import QuestionBank, load_bank
from bot.runtime.settings import Settings
from bot.services.insights import InsightService
from bot.services.meetings import MeetingService
from bot.services.pulses import PulseService
from bot.services.workspaces import WorkspaceService
from bot.slack.presenters import Presenter
from storage.db import Database

if TYPE_CHECKING:
    from bot.jobs.digests import DigestRunner
    from bot.slack.installations import Installations


@dataclass
class Services:
    """Everything a listener needs, handed to it through Bolt's context."""

    settings: Settings
    database: Database
    presenter: Presenter
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
        self.meetings = MeetingService(self.database, self.clock, self.insights)
