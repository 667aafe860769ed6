"""Pulses as admins and members use them: cadences, answers, comments, departments.

The scheduled work (sending rounds, reminders, closing) is in `bot.jobs.pulse_rounds`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.domain import rotation, schedule
from bot.domain.cadence import KIND_BASELINE, CadenceSettings, rounds_per_window
from bot.domain.clock import Clock
from bot.domain.question_bank import Item, QuestionBank
from bot.domain.reach import NextReach
from bot.domain.scoring import WINDOW_WEEKS
from bot.domain.vocabulary import DEPARTMENTS
from bot.domain.workspace_setup import DEFAULT_ANONYMITY_THRESHOLD
from bot.services.group_commit import GroupCommit
from bot.services.settings_cache import WorkspaceSettingsCache, workspace_bank
from bot.services.workspaces import RequestKeys
from storage import pulses as store
from storage import workspaces as workspace_store
from storage.db import Database
from storage.models import Cadence, Delivery, PulseRound

MANUAL_ROUND_PREFIX = "now:"
"""Starts the `occurrence_key` of a round an admin started by hand (`/align pulse now`)."""

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Statement:
    item_id: str
    text: str
    score: int | None


@dataclass(frozen=True)
class PulseView:
    """Everything a pulse message shows one person (or, in channel mode, everyone)."""

    round_id: int
    statements: tuple[Statement, ...]
    closes_at: datetime
    closed: bool
    delivery: str
    personal: bool = True
    needs_department: bool = False
    has_comment: bool = False
    reminder: int = 0
    preview: bool = False
    language: str = "en"
    """The language this person's copy is written in (replies to their taps stay in it)."""
    cadence_name: str | None = None
    """The preview only: which cadence it previews."""
    reach: NextReach | None = None
    """The preview only: how the next round reaches people."""

    @property
    def answered(self) -> int:
        return sum(1 for statement in self.statements if statement.score is not None)

    @property
    def completed(self) -> bool:
        return self.answered == len(self.statements)


@dataclass(frozen=True)
class DimensionItems:
    id: str
    name: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class CadenceSummary:
    name: str
    settings: CadenceSettings
    paused: bool
    next_run: datetime | None
    skipping_next: bool
    covered: int = 0
    """Scored statements any scoring window asks, at the least (a baseline: all it asks, once)."""
    instrument: int = 0
    """Scored statements in the instrument: what the score stands for."""


@dataclass(frozen=True)
class TapOutcome:
    """What became of a tap: `saved`, `closed` (too late), `not_asked` (no delivery for this person), or
    `replayed` (the same request seen before: nothing done)."""

    status: str
    view: PulseView | None = None
    statement: Statement | None = None
    threshold: int = DEFAULT_ANONYMITY_THRESHOLD
    """The anonymity threshold the message is shown with, read in the transaction that stores the tap."""


@dataclass(frozen=True)
class Tap:
    """A rating tap, as `PulseService.answer` stores it."""

    team_id: str
    user_id: str
    round_id: int
    item_id: str
    score: int
    request_key: str | None = None
    """The request's idempotency key (None: not checked for replays)."""


@dataclass(frozen=True)
class UnconfirmedPosts:
    """Posts of one round that no look-up could confirm within an hour: given up, not sent twice. No
    person is named: only how many, of which kind (`dm`, `reminder`, or `channel_post` in channel mode)."""

    kind: str
    cadence: str
    scheduled_at: datetime
    count: int


#: How far back the admins' Home lists posts given up unconfirmed.
UNCONFIRMED_SHOWN_FOR = timedelta(weeks=4)


class PulseService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        bank: QuestionBank,
        settings: WorkspaceSettingsCache | None = None,
    ) -> None:
        """`settings`: the process's cache of workspace settings, shared with the other services (one
        of its own if none is given)."""
        self.database = database
        self.clock = clock
        self.bank = bank
        self.workspace_settings = settings or WorkspaceSettingsCache(database, bank)
        self.requests = RequestKeys(clock)
        self._taps: GroupCommit[Tap, TapOutcome] = GroupCommit(self.answer_together)

    # ----- the statements a workspace asks ---------------------------------------------------------

    def workspace_bank(self, session, team_id: str) -> QuestionBank:
        return workspace_bank(session, self.bank, team_id)

    def active_item_ids(self, session, team_id: str) -> list[str]:
        disabled = store.disabled_items(session, team_id)
        bank = self.workspace_bank(session, team_id)
        return [item.id for item in bank.pulse_items if item.id not in disabled]

    def choose_items(self, session, cadence: Cadence) -> tuple[str, ...]:
        """The next round's statements: a baseline asks every active scored statement; a pulse rotates
        them, the scored ones on a wheel that fits the scoring window, the anchor riding along."""
        active = self.active_item_ids(session, cadence.team_id)
        scored = [item.id for item in self.bank.items if item.scored and item.id in active]
        if cadence.kind == KIND_BASELINE:
            return tuple(scored)
        anchor = self.bank.default_anchor()
        return rotation.choose_items(
            active,
            cadence.items_per_round,
            store.item_history(session, cadence.id),
            seed=cadence.seed,
            anchor=anchor.id if anchor is not None and anchor.id in active else None,
            scored=scored,
            window_rounds=rounds_per_window(cadence.recurrence(), WINDOW_WEEKS),
        )

    def catalogue(self, team_id: str, language: str) -> dict:
        """The workspace's statements grouped by dimension, for `/align questions`."""
        with self.database.session() as session:
            bank = self.workspace_bank(session, team_id)
            disabled = store.disabled_items(session, team_id)
        dimensions = [
            DimensionItems(
                dimension.id,
                dimension.names.get(language) or dimension.names["en"],
                tuple(item for item in bank.pulse_items if item.dimension == dimension.id),
            )
            for dimension in bank.dimensions
        ]
        return {"dimensions": dimensions, "disabled": disabled}

    def set_item_enabled(self, team_id: str, item_id: str, enabled: bool) -> str:
        """`done`, `missing` (no such statement), or `last` (the last one asked cannot go)."""
        with self.database.session() as session:
            active = self.active_item_ids(session, team_id)
            known = {item.id.lower(): item.id for item in self.workspace_bank(session, team_id).pulse_items}
            item = known.get(item_id.lower())
            if item is None:
                return "missing"
            if not enabled and active == [item]:
                return "last"
            store.set_item_enabled(session, team_id, item, enabled)
            return "done"

    def add_custom_item(
        self, team_id: str, dimension: str, texts: dict[str, str], created_by: str, request_key: str
    ) -> str | None:
        """A new statement, once per submitted modal (None for a repeated submission)."""
        now = self.clock.now()
        with self.database.session() as session:
            if not workspace_store.claim_request(session, team_id, f"view:{request_key}", now):
                return None
            item_id = store.add_custom_item(session, team_id, dimension, texts, created_by, now)
            workspace_store.announce_settings_change(session, team_id)
        self.workspace_settings.changed(team_id)
        return item_id

    # ----- cadences ----------------------------------------------------------------------------------

    def create(self, team_id: str, settings: CadenceSettings, created_by: str) -> bool:
        """False when the name is taken (names are how admins refer to cadences)."""
        with self.database.session() as session:
            if store.cadence_named(session, team_id, settings.name) is not None:
                return False
            store.create_cadence(
                session, team_id, settings, created_by, self.clock.now(), secrets.token_hex(8)
            )
            return True

    def update(self, team_id: str, name: str, settings: CadenceSettings) -> str:
        """`updated`, `missing`, or `name_taken` when renamed onto another cadence's name."""
        with self.database.session() as session:
            cadence = store.cadence_named(session, team_id, name)
            if cadence is None:
                return "missing"
            other = store.cadence_named(session, team_id, settings.name)
            if other is not None and other.id != cadence.id:
                return "name_taken"
            store.update_cadence(session, cadence, settings, self.clock.now())
            return "updated"

    def settings(self, team_id: str, name: str) -> CadenceSettings | None:
        with self.database.session() as session:
            cadence = store.cadence_named(session, team_id, name)
            return store.settings_of(cadence) if cadence else None

    def summaries(self, team_id: str) -> list[CadenceSummary]:
        with self.database.session() as session:
            return [self._summary(session, cadence) for cadence in store.cadences_of(session, team_id)]

    def _summary(self, session, cadence: Cadence) -> CadenceSummary:
        settings = store.settings_of(cadence)
        next_run = None
        if not cadence.paused:
            after = max(cadence.planned_until, self.clock.now())
            next_run = schedule.next_occurrence(settings.recurrence, after)
        active = set(self.active_item_ids(session, cadence.team_id))
        scored = [item.id for item in self.bank.items if item.scored]
        asked = [item_id for item_id in scored if item_id in active]
        anchor = self.bank.default_anchor()
        anchored = anchor is not None and anchor.id in asked
        covered = len(asked)
        if settings.kind != KIND_BASELINE:
            rounds = rounds_per_window(settings.recurrence, WINDOW_WEEKS)
            wheel = len(asked) - anchored
            covered = rotation.window_coverage(wheel, settings.items_per_round, rounds, anchored)
        return CadenceSummary(
            cadence.name,
            settings,
            cadence.paused,
            next_run,
            cadence.skip_occurrence is not None,
            covered=covered,
            instrument=len(scored),
        )

    def set_paused(self, team_id: str, name: str, paused: bool) -> CadenceSummary | None:
        """Resuming starts from now: what fell due while paused is not sent late."""
        with self.database.session() as session:
            cadence = store.cadence_named(session, team_id, name)
            if cadence is None:
                return None
            if cadence.paused and not paused:
                cadence.planned_until = max(cadence.planned_until, self.clock.now())
            cadence.paused = paused
            cadence.updated_at = self.clock.now()
            return self._summary(session, cadence)

    def skip_next(self, team_id: str, name: str) -> tuple[CadenceSummary | None, datetime | None]:
        """Mark the next occurrence to be recorded as skipped; returns it (None if there is none)."""
        with self.database.session() as session:
            cadence = store.cadence_named(session, team_id, name)
            if cadence is None:
                return None, None
            after = max(cadence.planned_until, self.clock.now())
            upcoming = schedule.next_occurrence(store.settings_of(cadence).recurrence, after)
            cadence.skip_occurrence = upcoming
            return self._summary(session, cadence), upcoming

    def delete(self, team_id: str, name: str) -> bool:
        with self.database.session() as session:
            cadence = store.cadence_named(session, team_id, name)
            if cadence is None:
                return False
            store.delete_cadence(session, cadence)
            return True

    def start_now(self, team_id: str, name: str, request_key: str) -> str:
        """A round right away: `started`, `missing` (no such cadence), or `duplicate` (a retried request)."""
        now = self.clock.now()
        with self.database.session() as session:
            cadence = store.cadence_named(session, team_id, name)
            if cadence is None:
                return "missing"
            settings = store.settings_of(cadence)
            started = store.add_round(
                session,
                cadence,
                f"{MANUAL_ROUND_PREFIX}{request_key}"[:64],
                now,
                now + settings.answer_window,
                self.choose_items(session, cadence),
                now,
            )
            return "started" if started is not None else "duplicate"

    def preview(self, team_id: str, name: str | None, language: str) -> PulseView | None:
        """What a member would get from this cadence's next round, without storing anything."""
        with self.database.session() as session:
            cadences = store.cadences_of(session, team_id)
            cadence = next((c for c in cadences if name is None or c.name.lower() == name.lower()), None)
            if cadence is None:
                return None
            bank = self.workspace_bank(session, team_id)
            items = self.choose_items(session, cadence)
            settings = store.settings_of(cadence)
        now = self.clock.now()
        return PulseView(
            round_id=0,
            statements=tuple(Statement(i, bank.item(i).text(language), None) for i in items),
            closes_at=now + settings.answer_window,
            closed=False,
            delivery=settings.delivery,
            preview=True,
            language=language,
            cadence_name=cadence.name,
        )

    # ----- what members do ---------------------------------------------------------------------------

    def view(self, round_id: int, user_id: str | None, reminder: int = 0) -> PulseView | None:
        """The round as `user_id` sees it now (None: the shared channel post, with nobody's choices)."""
        with self.database.session() as session:
            pulse_round = session.get(PulseRound, round_id)
            if pulse_round is None:
                return None
            delivery = store.delivery_for(session, round_id, user_id) if user_id else None
            return self._view(session, pulse_round, delivery, reminder)

    def unconfirmed_posts(self, team_id: str) -> list[UnconfirmedPosts]:
        """The workspace's pulse posts of the last four weeks the outbox gave up unconfirmed (Slack
        would not say for an hour whether it had them), by round and kind, newest first: for admins."""
        since = self.clock.now() - UNCONFIRMED_SHOWN_FOR
        with self.database.session() as session:
            return [UnconfirmedPosts(*row) for row in store.unconfirmed_posts(session, team_id, since)]

    def views_of(self, session, deliveries: Sequence[Delivery]) -> dict[int, PulseView]:
        """Each delivery's view, as `view` gives it, read together (one query each for the rounds, the
        workspaces' banks, the answers and the comments of them all): a batch of DMs costs a few queries,
        not a few per DM. A delivery whose round is gone has none."""
        rounds = store.rounds_by_id(session, {d.round_id for d in deliveries})
        banks = {
            team: self.workspace_settings.get(team, session).bank
            for team in {r.team_id for r in rounds.values()}
        }
        pairs = [(d.round_id, d.user_id) for d in deliveries if d.round_id in rounds]
        answers, commented = store.answers_of_many(session, pairs), store.commented(session, pairs)
        return {
            d.id: self._assemble(
                rounds[d.round_id],
                d,
                banks[rounds[d.round_id].team_id],
                answers.get((d.round_id, d.user_id), {}),
                (d.round_id, d.user_id) in commented,
            )
            for d in deliveries
            if d.round_id in rounds
        }

    def _view(
        self, session, pulse_round: PulseRound, delivery: Delivery | None, reminder: int = 0
    ) -> PulseView:
        # Every tap re-draws the message with the workspace's statements: kept in memory, not re-read.
        bank = self.workspace_settings.get(pulse_round.team_id, session).bank
        answers = store.answers_of(session, pulse_round.id, delivery.user_id) if delivery else {}
        has_comment = bool(delivery and store.comment_of(session, pulse_round.id, delivery.user_id))
        return self._assemble(pulse_round, delivery, bank, answers, has_comment, reminder)

    def _assemble(
        self,
        pulse_round: PulseRound | store.TapRound,
        delivery: Delivery | store.TapCopy | None,
        bank: QuestionBank,
        answers: dict[str, int],
        has_comment: bool,
        reminder: int = 0,
    ) -> PulseView:
        language = delivery.language if delivery else "en"
        statements = tuple(
            Statement(item_id, bank.item(item_id).text(language), answers.get(item_id))
            for item_id in pulse_round.item_ids
            if bank.has_item(item_id)
        )
        return PulseView(
            round_id=pulse_round.id,
            statements=statements,
            closes_at=_closes_at(pulse_round, delivery),
            closed=_closed(pulse_round, delivery, self.clock.now()),
            delivery=pulse_round.delivery,
            personal=delivery is not None,
            needs_department=bool(delivery and delivery.department is None),
            has_comment=has_comment,
            reminder=reminder,
            language=language,
        )

    def answer(
        self,
        team_id: str,
        user_id: str,
        round_id: int,
        item_id: str,
        score: int,
        request_key: str | None = None,
    ) -> TapOutcome:
        """Store a tap (again and again if need be: the last one counts) while the round is open.

        `request_key`, the request's idempotency key, is claimed in the transaction that stores the tap
        (none before Slack is answered); a key claimed before is a request sent again: `replayed`, and
        nothing changes. Taps that come while others are being stored are stored together
        (`answer_together`)."""
        return self._taps(Tap(team_id, user_id, round_id, item_id, score, request_key))

    @property
    def taps_waiting(self) -> int:
        """Taps waiting for the batch being stored to end (`answer`)."""
        return self._taps.waiting

    def answer_together(self, taps: Sequence[Tap]) -> list[TapOutcome]:
        """Taps stored in one transaction, in the order given, with a handful of statements whatever
        their number; each tap's outcome, as `answer` gives it."""
        now = self.clock.now()
        outcomes: dict[int, TapOutcome] = {}
        with self.database.session() as session:
            claimed = self.requests.claim_in(
                session, {(t.team_id, t.request_key) for t in taps if t.request_key and t.score in SCORES}
            )
            valid: dict[int, Tap] = {}
            for number, tap in enumerate(taps):
                key = (tap.team_id, tap.request_key)
                if tap.score not in SCORES:
                    outcomes[number] = TapOutcome("not_asked")
                elif tap.request_key is None:
                    valid[number] = tap
                elif key in claimed:
                    claimed.discard(key)  # the same request twice in a batch: the second is a replay
                    valid[number] = tap
                else:
                    outcomes[number] = TapOutcome("replayed")
            targets = store.tap_targets(session, [(t.round_id, t.user_id) for t in valid.values()])
            answers = {pair: dict(target.answers) for pair, target in targets.items()}
            saved: list[tuple[store.TapCopy, str, int]] = []
            completed: set[int] = set()
            for number, tap in valid.items():
                outcomes[number] = self._store_tap(tap, targets, answers, saved, completed, session, now)
            store.save_answers(session, saved, now)
            store.mark_completed(session, completed, now)
        return [outcomes[number] for number in range(len(taps))]

    def _store_tap(
        self,
        tap: Tap,
        targets: dict[tuple[int, str], store.TapTarget],
        answers: dict[tuple[int, str], dict[str, int]],
        saved: list[tuple[store.TapCopy, str, int]],
        completed: set[int],
        session: Session,
        now: datetime,
    ) -> TapOutcome:
        """One tap of `answer_together`'s: its outcome, its answer added to `saved` and to the person's
        `answers`, and their copy to `completed` if this tap answered its last statement."""
        pair = (tap.round_id, tap.user_id)
        found = targets.get(pair)
        if found is None or found.round.team_id != tap.team_id or tap.item_id not in found.round.item_ids:
            return TapOutcome("not_asked")
        pulse_round, delivery, theirs = found.round, found.delivery, answers[pair]
        bank = self.workspace_settings.get(tap.team_id, session).bank
        if _closed(pulse_round, delivery, now):
            return TapOutcome("closed", self._assemble(pulse_round, delivery, bank, theirs, found.commented))
        theirs[tap.item_id] = tap.score
        saved.append((delivery, tap.item_id, tap.score))
        view = self._assemble(pulse_round, delivery, bank, theirs, found.commented)
        if view.completed and delivery.completed_at is None:
            completed.add(delivery.id)
        statement = next(s for s in view.statements if s.item_id == tap.item_id)
        threshold = found.anonymity_threshold or DEFAULT_ANONYMITY_THRESHOLD
        return TapOutcome("saved", view, statement, threshold)

    def choose_department(
        self, team_id: str, user_id: str, round_id: int, department: str
    ) -> PulseView | None:
        """Tapped in a round's message: see `set_department`; the round as the person now sees it."""
        if department not in DEPARTMENTS:
            return None
        with self.database.session() as session:
            asked = _asked(session, team_id, round_id, user_id)
            if asked is None:
                return None
            self._remember_department(session, team_id, user_id, department)
            return self._view(session, *asked)

    def set_department(self, team_id: str, user_id: str, department: str) -> None:
        """`/align department`: see `_remember_department`."""
        with self.database.session() as session:
            self._remember_department(session, team_id, user_id, department)

    def _remember_department(self, session, team_id: str, user_id: str, department: str) -> None:
        """The person's department from the next round on. A round already open keeps the department
        it was sent with, and so do the answers given in it, unless it was sent without one (the person
        had not chosen yet): then this first choice is theirs in it too."""
        workspace_store.set_department(session, team_id, user_id, department, self.clock.now())
        for delivery in store.open_deliveries_without_department(session, team_id, user_id):
            store.set_department(session, delivery, department)

    def comment(self, team_id: str, user_id: str, round_id: int, text: str) -> PulseView | None:
        """Store the person's comment on a round (replacing an earlier one) and return their copy as it
        now reads; None if too late or not asked."""
        now = self.clock.now()
        with self.database.session() as session:
            asked = _asked(session, team_id, round_id, user_id)
            if asked is None:
                return None
            pulse_round, delivery = asked
            if _closed(pulse_round, delivery, now):
                return None
            store.save_comment(session, delivery, text, now)
            session.flush()
            return self._view(session, pulse_round, delivery)

    def dm_of(self, team_id: str, round_id: int, user_id: str) -> tuple[str, str] | None:
        """Where the person's own copy of a round is (DM channel, ts); None before it is sent, or in
        channel mode. Looked up, never taken from a request, so nobody updates someone else's copy."""
        with self.database.session() as session:
            asked = _asked(session, team_id, round_id, user_id)
            delivery = asked[1] if asked else None
            if delivery is None or not (delivery.channel_id and delivery.message_ts):
                return None
            return delivery.channel_id, delivery.message_ts

    def language_of(self, team_id: str, round_id: int, user_id: str) -> str | None:
        """The language the person's copy of a round was written in (replies stay in it)."""
        with self.database.session() as session:
            asked = _asked(session, team_id, round_id, user_id)
            return asked[1].language if asked else None

    def comment_text(self, team_id: str, round_id: int, user_id: str) -> str | None:
        with self.database.session() as session:
            asked = _asked(session, team_id, round_id, user_id)
            return store.comment_of(session, round_id, user_id) if asked else None


def _asked(session, team_id: str, round_id: int, user_id: str) -> tuple[PulseRound, Delivery] | None:
    """The round and the person's copy of it, if they were asked in it in this workspace: ids in a
    request are the requester's to choose, so a round of another workspace is as good as none."""
    pulse_round = session.get(PulseRound, round_id)
    if pulse_round is None or pulse_round.team_id != team_id:
        return None
    delivery = store.delivery_for(session, round_id, user_id)
    return (pulse_round, delivery) if delivery else None


def _closes_at(
    pulse_round: PulseRound | store.TapRound, delivery: Delivery | store.TapCopy | None
) -> datetime:
    """When the person's own window ends (a per-person cadence), else when the round closes."""
    return (delivery.closes_at if delivery else None) or pulse_round.closes_at


def _closed(
    pulse_round: PulseRound | store.TapRound, delivery: Delivery | store.TapCopy | None, now: datetime
) -> bool:
    return pulse_round.status != store.OPEN or _closes_at(pulse_round, delivery) <= now
