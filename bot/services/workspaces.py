"""The services listeners call: each takes and returns plain values, and owns its transactions."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.domain.clock import Clock
from bot.domain.people import SlackUser, choose_language, may_administer, may_lead
from bot.domain.snapshot import ThresholdChange
from bot.domain.workspace_setup import DEFAULT_ANONYMITY_THRESHOLD, SetupForm, WorkspaceConfig
from bot.services.settings_cache import WorkspaceSettingsCache
from storage import digests as digest_store
from storage import workspaces as store
from storage.db import Database

REQUESTS_REMEMBERED = timedelta(hours=1)
"""How long a handled request's key is kept: well past the five minutes a Slack signature is valid,
and past Slack's last retry of an event."""
FORGET_REQUESTS_EVERY = timedelta(minutes=5)
FORGET_REQUESTS_BATCH = 1000


@dataclass
class WorkspaceService:
    """`settings`: the process's cache of workspace settings (`bot.services.settings_cache`), shared
    with the other services; the configuration as a whole, with the anonymity threshold, is always
    read from the database."""

    database: Database
    clock: Clock
    default_language: str
    default_timezone: str
    settings: WorkspaceSettingsCache
    requests: RequestKeys | None = field(default=None, repr=False)
    """The process's request keys, shared with the pulse service (one of its own if none is given)."""

    def __post_init__(self) -> None:
        self.requests = self.requests or RequestKeys(self.clock)

    def config(self, team_id: str) -> WorkspaceConfig | None:
        with self.database.session() as session:
            return store.load_config(session, team_id)

    def threshold(self, team_id: str) -> int:
        """The anonymity threshold in force (the default until the workspace is set up)."""
        with self.database.session() as session:
            threshold = store.anonymity_threshold(session, team_id)
        return threshold if threshold is not None else DEFAULT_ANONYMITY_THRESHOLD

    def may_administer(self, team_id: str, user: SlackUser) -> bool:
        return may_administer(user, self.settings.get(team_id).admins)

    def may_lead(self, team_id: str, user: SlackUser, leadership_members: Collection[str] = ()) -> bool:
        """An admin, a leader the digest settings name, or one of `leadership_members`."""
        admins = self.settings.get(team_id).admins
        with self.database.session() as session:
            settings = digest_store.settings_of(session, team_id)
        return may_lead(user, admins, settings.leaders if settings else (), leadership_members)

    def leadership_channel(self, team_id: str) -> str | None:
        return self.settings.get(team_id).leadership_channel

    def language_for(self, team_id: str, user: SlackUser) -> str:
        with self.database.session() as session:
            override = store.language_override(session, team_id, user.id)
        default = self.settings.get(team_id).default_language or self.default_language
        return choose_language(override, user.locale, default)

    def set_language(self, team_id: str, user_id: str, language: str) -> None:
        with self.database.session() as session:
            store.set_language(session, team_id, user_id, language, self.clock.now())

    def set_away_until(self, team_id: str, user_id: str, until: date | None) -> None:
        """`/align away until`: no pulse or reminder to them up to that date (None: back now)."""
        with self.database.session() as session:
            store.set_time_preference(session, team_id, user_id, self.clock.now(), away_until=until)

    def set_holiday_calendar(self, team_id: str, user_id: str, calendar: str | None) -> None:
        """`/align holidays`: their own public holidays and weekend (None: the pulse's)."""
        with self.database.session() as session:
            store.set_time_preference(session, team_id, user_id, self.clock.now(), holiday_calendar=calendar)

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
            old = store.anonymity_threshold(session, team_id)
            store.save_config(session, team_id, config, configured_by, now)
            session.flush()
            if old != config.anonymity_threshold:
                store.record_threshold_change(
                    session, team_id, old, config.anonymity_threshold, configured_by, now
                )
            digest_store.ensure_settings(session, team_id, now)
            store.announce_settings_change(session, team_id)
        self.settings.changed(team_id)
        return True

    def latest_threshold_change(self, team_id: str) -> ThresholdChange | None:
        """Who last changed the anonymity threshold, when, from what to what (`/align status`)."""
        with self.database.session() as session:
            changes = store.threshold_changes(session, team_id)
        return changes[-1] if changes else None

    def claim_request(self, team_id: str, request_key: str) -> bool:
        """True the first time a request key is seen (see `RequestKeys`)."""
        with self.database.session() as session:
            return bool(self.requests.claim_in(session, [(team_id, request_key)]))


@dataclass
class RequestKeys:
    """The keys of the requests Slack sent, claimed once each (`storage.workspaces.claim_requests`). Every
    few minutes a process also forgets a workspace's keys old enough that nobody can send their request
    again (a batch at a time, so the table stays small)."""

    clock: Clock
    _forgotten_at: dict[str, datetime] = field(default_factory=dict, init=False, repr=False)

    def claim_in(self, session: Session, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (workspace, request key) pairs seen for the first time, claimed in a transaction of the
        caller's, so each claim stands or falls with its work."""
        now = self.clock.now()
        for team_id in {team_id for team_id, _ in keys}:
            forgotten_at = self._forgotten_at.get(team_id)
            if forgotten_at is None or now - forgotten_at >= FORGET_REQUESTS_EVERY:
                self._forgotten_at[team_id] = now
                store.forget_requests(session, team_id, now - REQUESTS_REMEMBERED, FORGET_REQUESTS_BATCH)
        stored = {(team_id, key): (team_id, key[:128]) for team_id, key in keys}
        claimed = store.claim_requests(session, stored.values(), now)
        return {key for key, as_stored in stored.items() if as_stored in claimed}


class ConfigsOfRun:
    """Each workspace's configuration, read at most once: one per job run, so a run that sends a
    thousand DMs reads it once (not once per message) and the next run sees any change. Safe to share
    between a run's sending threads: at worst two of them read the same workspace."""

    def __init__(self, database: Database, default_language: str) -> None:
        self._database = database
        self._default_language = default_language
        self._configs: dict[str, WorkspaceConfig | None] = {}

    def config(self, team_id: str) -> WorkspaceConfig | None:
        if team_id not in self._configs:
            with self._database.session() as session:
                self._configs[team_id] = store.load_config(session, team_id)
        return self._configs[team_id]

    def threshold(self, team_id: str) -> int:
        """The anonymity threshold in force (the default until the workspace is set up)."""
        config = self.config(team_id)
        return config.anonymity_threshold if config else DEFAULT_ANONYMITY_THRESHOLD

    def language(self, team_id: str) -> str:
        """The workspace's default language: what posts that are nobody's own are written in."""
        config = self.config(team_id)
        return config.default_language if config else self._default_language
