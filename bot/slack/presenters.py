"""Every message, modal and tab the bot shows, one method per kind: from the values it shows to the
Block Kit payload (or, for the digest's trend chart and heatmap, the PNG).

Listeners and scheduled jobs alike present through here, so a message reads the same wherever it is
sent from; workspace settings (the anonymity threshold) are passed in by the caller, who reads them
once per request or per run. The wording lives in `message_templates/`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.domain.workspace_setup import DEFAULT_ANONYMITY_THRESHOLD
from bot.services.insights import WINDOW_WEEKS
from bot.slack.modal_metadata import MetadataSeal
from bot.slack.rendering import Renderer, default_renderer

if TYPE_CHECKING:
    from datetime import datetime

    from bot.domain.action_items import ActionItem
    from bot.domain.cadence import CadenceForm
    from bot.domain.commands import Subcommand
    from bot.domain.digest import DigestView, DimensionRow, TrendPoint
    from bot.domain.meetings import MeetingForm
    from bot.domain.reach import NextReach
    from bot.domain.scoring import Composite
    from bot.domain.snapshot import ThresholdChange
    from bot.domain.workspace_setup import SetupForm, WorkspaceConfig
    from bot.services.meetings import CheckView, MeetingSummary, ReminderPost
    from bot.services.pulses import CadenceSummary, DimensionItems, PulseView, Statement, UnconfirmedPosts
    from storage.digests import FailedPost
    from storage.models import DigestSettings

Payload = dict[str, Any]
Metadata = Mapping[str, object]
"""What a modal remembers in its `private_metadata` (sealed here, unsealed by its listener)."""


class Presenter:
    """Wraps the `Renderer`: callers name what they show, never a template."""

    def __init__(self, renderer: Renderer, seal: MetadataSeal) -> None:
        self._renderer = renderer
        self._seal = seal

    def _modal(self, template: str, language: str, metadata: Metadata, **context: Any) -> Payload:
        sealed = self._seal.seal(metadata)
        return self._renderer.render(template, language, private_metadata=sealed, **context)

    # ----- answers anyone may get --------------------------------------------------------------------

    def notice(self, language: str, kind: str, **details: object) -> Payload:
        """A short answer: `kind` picks the text (see notice.json.j2), `details` fill it in."""
        return self._renderer.render("notice", language, kind=kind, **details)

    def refusal(self, language: str, admins: Iterable[str]) -> Payload:
        """What someone who may not administer the bot gets instead of a change."""
        return self._renderer.render("refusal", language, admins=tuple(admins))

    def slack_failed(self, language: str, error: str) -> Payload:
        return self._renderer.render("slack_failed", language, error=error)

    def field_errors(self, language: str, errors: Mapping[str, str]) -> Payload:
        """The `response_action: errors` answer to a modal: each field's error code, in words."""
        texts = self._renderer.render("field_errors", language, errors=errors)
        return {"response_action": "errors", "errors": texts}

    # ----- /align --------------------------------------------------------------------------------------

    def unknown_command(
        self, language: str, typed: str, suggestion: str | None, subcommands: Sequence[Subcommand]
    ) -> Payload:
        return self._renderer.render(
            "unknown_command", language, typed=typed, suggestion=suggestion, subcommands=subcommands
        )

    def help(self, language: str, subcommands: Sequence[Subcommand], threshold: int) -> Payload:
        return self._renderer.render("help", language, subcommands=subcommands, threshold=threshold)

    def status(
        self, language: str, config: WorkspaceConfig | None, threshold_change: ThresholdChange | None = None
    ) -> Payload:
        return self._renderer.render("status", language, config=config, threshold_change=threshold_change)

    def language_usage(self, language: str, typed: str) -> Payload:
        return self._renderer.render("language_usage", language, typed=typed)

    def language_changed(self, language: str) -> Payload:
        """Confirmed in the language just chosen."""
        return self._renderer.render("language_changed", language)

    def forget_me_confirm(self, language: str) -> Payload:
        return self._renderer.render("forget_me_confirm", language)

    # ----- setup and the Home tab ----------------------------------------------------------------------

    def setup_modal(self, language: str, form: SetupForm, metadata: Metadata) -> Payload:
        return self._modal("setup_modal", language, metadata, form=form)

    def setup_saved(
        self, language: str, config: WorkspaceConfig, configured_by: str, channels_without_bot: Sequence[str]
    ) -> Payload:
        return self._renderer.render(
            "setup_saved",
            language,
            config=config,
            configured_by=configured_by,
            channels_without_bot=channels_without_bot,
        )

    def threshold_changed(self, language: str, before: int, after: int, changed_by: str) -> Payload:
        """Told to both teams when an admin changes the anonymity threshold."""
        return self.notice(language, "threshold_changed", before=before, after=after, changed_by=changed_by)

    def home(
        self,
        language: str,
        config: WorkspaceConfig | None,
        company: Composite | None,
        asked: int,
        answered: int,
        is_admin: bool,
        last_digest: DigestView | None = None,
        digest_failures: Sequence[FailedPost] = (),
        next_digest: datetime | None = None,
        action_items: Sequence[ActionItem] | None = None,
        digest_pictures: Sequence[str] = (),
        unconfirmed_posts: Sequence[UnconfirmedPosts] = (),
    ) -> Payload:
        """The Home tab; the digest's state (and the pulse posts given up unconfirmed) is shown to admins
        of a workspace that is set up; to leaders
        the action items (None: not a leader) and the latest digest's trend chart and heatmap
        (`digest_pictures`: the Slack file ids the digest's thread carries)."""
        return self._renderer.render(
            "home",
            language,
            config=config,
            company=company,
            asked=asked,
            answered=answered,
            is_admin=is_admin,
            default_threshold=DEFAULT_ANONYMITY_THRESHOLD,
            window_weeks=WINDOW_WEEKS,
            last_digest=last_digest,
            digest_failures=digest_failures,
            next_digest=next_digest,
            digest_pictures=digest_pictures,
            unconfirmed_posts=unconfirmed_posts,
            action_items=action_items,
        )

    # ----- pulses ----------------------------------------------------------------------------------

    def pulse_message(self, language: str, view: PulseView, threshold: int) -> Payload:
        """A pulse as one person (or, in channel mode, everyone) sees it: sent, answered, reminded, closed."""
        return self._renderer.render_kept("pulse_message", language, view=view, threshold=threshold)

    def pulse_tap_reply(
        self, language: str, outcome: str, view: PulseView | None, statement: Statement | None
    ) -> Payload:
        return self._renderer.render(
            "pulse_tap_reply", language, outcome=outcome, view=view, statement=statement
        )

    def pulse_comment_modal(self, language: str, text: str, threshold: int, metadata: Metadata) -> Payload:
        return self._modal("pulse_comment_modal", language, metadata, text=text, threshold=threshold)

    def pulse_list(
        self, language: str, summaries: Sequence[CadenceSummary], reach: Mapping[str, NextReach] | None = None
    ) -> Payload:
        """The cadences, and how each one's next round reaches people (`reach`, by cadence name)."""
        return self._renderer.render(
            "pulse_list", language, summaries=summaries, reach=reach or {}, window_weeks=WINDOW_WEEKS
        )

    def pulse_modal(self, language: str, callback_id: str, form: CadenceForm, metadata: Metadata) -> Payload:
        return self._modal(
            "pulse_modal", language, metadata, callback_id=callback_id, form=form, window_weeks=WINDOW_WEEKS
        )

    def pulse_delete_confirm(self, language: str, name: str) -> Payload:
        return self._renderer.render("pulse_delete_confirm", language, name=name)

    def questions_list(
        self, language: str, dimensions: Sequence[DimensionItems], disabled: Iterable[str]
    ) -> Payload:
        return self._renderer.render("questions_list", language, dimensions=dimensions, disabled=disabled)

    def question_add_modal(
        self, language: str, dimensions: Sequence[DimensionItems], metadata: Metadata
    ) -> Payload:
        return self._modal("question_add_modal", language, metadata, dimensions=dimensions)

    # ----- the leadership digest ------------------------------------------------------------------

    def digest(
        self,
        language: str,
        view: DigestView,
        items: Mapping[str, str],
        dimensions: Mapping[str, str],
        threshold: int,
    ) -> Payload:
        """The weekly digest; `items` and `dimensions` name the statements and dimensions in `language`."""
        return self._renderer.render(
            "digest",
            language,
            view=view,
            items=items,
            dimensions=dimensions,
            threshold=threshold,
            window_weeks=WINDOW_WEEKS,
        )

    def digest_pictures(
        self,
        language: str,
        points: Sequence[TrendPoint],
        rows: Sequence[DimensionRow],
        dimensions: Mapping[str, str],
    ) -> tuple[bytes, bytes]:
        """The digest's trend chart and its heatmap of dimensions (sales, marketing, the gap), as PNGs
        with their words in `language`.

        Drawn in a process spawned for them (not forked: nothing of this threaded server is copied):
        matplotlib and Pillow, about 40 MB, would otherwise stay in the server for good after its
        first digest, for pictures it draws once a week. Starting that process costs about a second."""
        labels = self._renderer.render("chart_labels", language)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as drawer:
            return drawer.submit(_draw_digest_pictures, points, rows, language, labels, dimensions).result()

    def digest_failed(self, language: str, week: date, destination: str, error: str | None) -> Payload:
        return self._renderer.render(
            "digest_failed", language, week=week, destination=destination, error=error
        )

    def digest_schedule_modal(
        self, language: str, settings: DigestSettings, timezone: str, metadata: Metadata
    ) -> Payload:
        return self._modal("digest_schedule_modal", language, metadata, settings=settings, timezone=timezone)

    def nudge_act_modal(self, language: str, metadata: Metadata, owner: str, due: date) -> Payload:
        """What a leader takes on: a sentence, its owner (them, to start with) and a due date."""
        return self._modal("nudge_act_modal", language, metadata, owner=owner, due=due)

    def you_said_we_did(
        self, language: str, key: str, note: str, items: Mapping[str, str], dimensions: Mapping[str, str]
    ) -> Payload:
        """What leaders did about a nudge (an action item marked done), told to both teams."""
        return self._renderer.render(
            "you_said_we_did", language, key=key, note=note, items=items, dimensions=dimensions
        )

    # ----- joint meetings --------------------------------------------------------------------------

    def meeting_list(self, language: str, summaries: Sequence[MeetingSummary]) -> Payload:
        return self._renderer.render("meeting_list", language, summaries=summaries)

    def meeting_modal(
        self, language: str, callback_id: str, form: MeetingForm, metadata: Metadata
    ) -> Payload:
        return self._modal("meeting_modal", language, metadata, callback_id=callback_id, form=form)

    def meeting_remove_confirm(self, language: str, name: str, meeting_id: int) -> Payload:
        return self._renderer.render("meeting_remove_confirm", language, name=name, meeting_id=meeting_id)

    def meeting_reminder(self, post: ReminderPost) -> Payload:
        """A reminder in a channel, as posted and each time its RSVP counts change."""
        return self._renderer.render(
            "meeting_reminder", post.language, view=post.view, items=post.items, dimensions=post.dimensions
        )

    def meeting_check(self, view: CheckView, threshold: int) -> Payload:
        """One person's "was it useful?" DM, in the language it was first sent in."""
        return self._renderer.render("meeting_check", view.language, view=view, threshold=threshold)

    def meeting_check_comment_modal(
        self, language: str, text: str, threshold: int, metadata: Metadata
    ) -> Payload:
        return self._modal("meeting_check_comment_modal", language, metadata, text=text, threshold=threshold)


def default_presenter(seal: MetadataSeal) -> Presenter:
    """The presenter with the bundled templates, its modals sealed with `seal`."""
    return Presenter(default_renderer(), seal)


def _draw_digest_pictures(*arguments: Any) -> tuple[bytes, bytes]:
    """In the drawing process (see `Presenter.digest_pictures`): only there is matplotlib imported."""
    from bot.slack.chart import digest_pictures

    return digest_pictures(*arguments)
