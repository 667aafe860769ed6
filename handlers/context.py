"""What every listener is given through Bolt's context: the services, and the jobs a person can trigger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain.clock import Clock
from bot.domain.question_bank import QuestionBank
from bot.services.action_items import ActionItemService
from bot.services.insights import InsightService
from bot.services.meetings import MeetingService
from bot.services.pipeline import PipelineService
from bot.services.pulses import PulseService
from bot.services.workspaces import WorkspaceService
from bot.slack.modal_metadata import MetadataSeal
from bot.slack.pipeline_presenter import PipelinePresenter
from bot.slack.presenters import Presenter
from storage.db import Database

if TYPE_CHECKING:
    from bot.jobs.digests import DigestRunner
    from bot.jobs.pipeline_sync import PipelineSyncRunner
    from bot.jobs.pulse_rounds import PulseRunner
    from bot.slack.installations import Installations


@dataclass
class Services:
    """Everything a listener needs, handed to it through Bolt's context; built whole by the runtime."""

    database: Database
    presenter: Presenter
    metadata_seal: MetadataSeal
    """Checks that what a submitted modal remembers is what the presenter sealed into it."""
    clock: Clock
    bank: QuestionBank
    workspaces: WorkspaceService
    pulses: PulseService
    insights: InsightService
    action_items: ActionItemService
    """What leaders took on from the digest's nudges."""
    meetings: MeetingService
    pipeline: PipelineService
    """CRM pipeline records: imports of leads, deals and forecasts."""
    pipeline_presenter: PipelinePresenter
    pipeline_sync: PipelineSyncRunner
    """The daily CRM sync, and the HubSpot client a connection is checked with."""
    digests: DigestRunner
    """Sending a digest now, and when the next one is due."""
    pulse_runner: PulseRunner
    """How the next rounds will reach people (their own time, away, holidays), for `/align pulse`."""
    installations: Installations | None
    """Every workspace's installation (OAuth, many workspaces); None with a single bot token."""
    schedule_changed: Callable[[], None]
    """Called after a change to what is scheduled, so the scheduler re-plans at once."""
