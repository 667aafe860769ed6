"""Every template renders valid Block Kit in both languages, and the Persian catalog is complete."""

import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain import schedule
from bot.domain.action_items import ActionItem, FollowUp, Movement
from bot.domain.cadence import CadenceForm, CadenceSettings, form_from_settings
from bot.domain.commands import SUBCOMMANDS
from bot.domain.digest import compose
from bot.domain.meetings import Adherence, MeetingForm, MeetingSettings, build_agenda
from bot.domain.meetings import form_from_settings as meeting_form
from bot.domain.nudges import ACTIONS, Nudge
from bot.domain.pipeline import Kind
from bot.domain.pipeline_csv import ImportReport, Problem, Survey
from bot.domain.pipeline_digest import PipelineLine, PipelineSection, StatementRatings
from bot.domain.pipeline_figures import FORECAST_ACCURACY, HOURS_TO_FIRST_TOUCH
from bot.domain.pipeline_figures import Figure as PipelineFigure
from bot.domain.pipeline_mapping import mapping_step
from bot.domain.question_bank import load_bank
from bot.domain.reach import NextReach
from bot.domain.scoring import Composite, ItemMeta, Response, score
from bot.domain.snapshot import ThresholdChange
from bot.domain.workspace_setup import SetupForm, WorkspaceConfig
from bot.sandbox.blockkit import validate_message_blocks, validate_view
from bot.services.meetings import CheckView, MeetingSummary, ReminderView
from bot.services.pipeline_sync import SyncReport
from bot.services.pulses import CadenceSummary, DimensionItems, PulseView, Statement, UnconfirmedPosts
from bot.slack.chart import HEATMAP_LABEL_KEYS, LABEL_KEYS
from bot.slack.rendering import Renderer
from tests.conversation import message_codes

CONFIG = WorkspaceConfig(
    sales_channels=("C0SALES01",),
    marketing_channels=("C0MARKET1", "C0MARKET2"),
    leadership_channel="C0LEADER1",
    timezone="Asia/Tehran",
    default_language="fa",
    anonymity_threshold=5,
    admins=("U0ADMIN01",),
)

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
STATEMENTS = (
    Statement("hbr01", "Our actual sales land close to the forecast.", 4),
    Statement("cus01", "We share <the> lead list & notes", None),
)
OPEN_VIEW = PulseView(round_id=7, statements=STATEMENTS, closes_at=NOW, closed=False, delivery="dm")
RECURRENCE = schedule.Recurrence(
    kind="weekly",
    local_time=time(10, 0),
    timezone="Europe/Berlin",
    start=NOW.date(),
    weekdays=frozenset({1, 3}),
)
SETTINGS = CadenceSettings(name="Weekly <pulse>", recurrence=RECURRENCE)
BANK = load_bank()
DIGEST_ITEMS = {"A": ItemMeta("d1", True), "B": ItemMeta("d2", True)}
DIGEST_RESULTS = score(
    [Response(f"s{n}", item, "sales", 2 + n % 2) for n in range(4) for item in "AB"]
    + [Response(f"m{n}", item, "marketing", 4 + n % 2) for n in range(4) for item in "AB"],
    DIGEST_ITEMS,
    3,
)
PARTICIPATION = {"sales": 0.8, "marketing": None, "everyone": 0.75}
MEETING = MeetingSettings(
    title="Pipeline <review>",
    recurrence=replace(RECURRENCE, timezone="America/New_York", weekdays=frozenset({1})),
    duration_minutes=45,
    channels=("C0SALES01", "C0MARKET1"),
    link="https://meet.example.com/a?b=1&c=2",
    owner="U0OWNER01",
)
ONE_OFF = replace(MEETING.recurrence, kind="once", weekdays=frozenset())


ACTION_ITEMS = [
    ActionItem(
        id=n,
        nudge_key=key,
        title=title,
        owner="U0ANA",
        due=NOW.date(),
        status=status,
        taken_on=NOW.date(),
        dimension=dimension,
        baseline=baseline,
        closed_on=NOW.date() if status != "open" else None,
    )
    for n, (key, title, status, dimension, baseline) in enumerate(
        [
            (
                "low_dimension:information_sharing",
                "Agree one <lead> definition",
                "open",
                "information_sharing",
                {"sales": 2.4, "marketing": 2.9},
            ),
            ("next_stage:step_shared_rewards", "Shared bonus", "done", None, {"score": 61.0}),
            ("gap:hbr05", "Weekly feedback form", "dropped", "information_sharing", {}),
        ],
        start=1,
    )
]
FOLLOW_UPS = (
    FollowUp(ACTION_ITEMS[0], (Movement("sales", 2.4, 3.1), Movement("marketing", 2.9, 3.0))),
    FollowUp(ACTION_ITEMS[1], (Movement("score", 61.0, 64.0),)),
    FollowUp(ACTION_ITEMS[2], ()),
)


def every_nudge() -> list[Nudge]:
    """One nudge of every kind, and one for every action code the rules can produce."""
    evidence = {
        "low_dimension": {
            "dimension": "information_sharing",
            "mean": 2.3,
            "respondents": 9,
            "target_stage": "aligned",
            "target": 3.0,
            "weeks": 3,
            "sales": 2.0,
            "marketing": 2.6,
            "gap": 0.6,
        },
        "wide_gap": {
            "item": "hbr05",
            "dimension": "information_sharing",
            "sales": 2.1,
            "marketing": 3.4,
            "more_positive": "marketing",
            "gap": 1.3,
            "weeks": 2,
        },
        "low_participation": {"group": "sales", "share": 0.3},
        "stage_drop": {"previous_stage": "aligned", "stage": "defined", "weeks": 4},
        "next_stage": {"stage": "defined", "target_stage": "aligned", "score": 52.0},
        "no_useful_meeting": {"days": 45},
        "pipeline_leads": {
            "item": "hbr07",
            "sales": 2.1,
            "marketing": 3.6,
            "more_positive": "marketing",
            "gap": 1.5,
            "gap_before": 0.4,
            "weeks": 4,
            "rejected": 0.31,
            "rejected_before": 0.18,
            "period": "2026-Q1",
            "records": 60,
        },
        "pipeline_forecast": {
            "item": "hbr01",
            "sales": 2.0,
            "marketing": 3.9,
            "more_positive": "marketing",
            "accuracy": 0.94,
            "period": "2026-Q1",
        },
    }
    made = [
        Nudge(kind, kind, action, evidence[kind], "leaders", 1)
        for kind, action in (
            ("low_dimension", "sales_feedback_loop"),
            ("wide_gap", "discuss_gap"),
            ("low_participation", "explain_and_act"),
            ("stage_drop", "review_what_changed"),
            ("next_stage", "step_joint_planning"),
            ("no_useful_meeting", "hold_useful_joint_meeting"),
            ("pipeline_leads", "agree_lead_definition"),
            ("pipeline_forecast", "review_forecast_together"),
        )
    ]
    made.append(
        Nudge(
            "next_stage:step_job_rotation",
            "next_stage",
            "step_job_rotation",
            {"stage": "integrated", "target_stage": "integrated"},
            "leaders",
            6,
        )
    )
    made.append(
        Nudge(
            "gap:d",
            "wide_gap",
            "discuss_gap",
            {"dimension": "knowledge", "sales": 2.0, "marketing": 3.5, "gap": 1.5},
            "both_teams",
            5,
        )
    )
    covered = {n.action for n in made}
    made += [
        Nudge(f"a:{a}", "low_dimension", a, evidence["low_dimension"], "leaders", 2)
        for a in ACTIONS
        if a not in covered
    ]
    return made


NOTICE_KINDS = message_codes("notice")
FIELD_ERRORS = message_codes("field_errors")

#: Representative contexts per template (several where a template has several shapes);
#: a new template must add at least one here.
CONTEXTS = {
    "help": [{"subcommands": SUBCOMMANDS, "threshold": 5}],
    "unknown_command": [{"typed": "stup", "suggestion": "setup", "subcommands": SUBCOMMANDS}],
    "refusal": [{"admins": ("U0ADMIN01",)}, {"admins": ()}],
    "setup_modal": [
        {
            "form": SetupForm(timezone="Europe/Berlin", default_language="en", anonymity_threshold="5"),
            "private_metadata": '{"language": "en"}',
        }
    ],
    "field_errors": [{"errors": {f"field{i}": code for i, code in enumerate(FIELD_ERRORS)}}],
    "setup_saved": [{"config": CONFIG, "configured_by": "U0OWNER01", "channels_without_bot": ["C0MARKET2"]}],
    "status": [
        {"config": CONFIG, "threshold_change": None},
        {
            "config": CONFIG,
            "threshold_change": ThresholdChange("U0ADMIN01", datetime(2026, 3, 2, 9, tzinfo=UTC), None, 5),
        },
        {
            "config": CONFIG,
            "threshold_change": ThresholdChange("U0ADMIN01", datetime(2026, 3, 9, 9, tzinfo=UTC), 5, 3),
        },
        {"config": None, "threshold_change": None},
    ],
    "language_changed": [{}],
    "language_usage": [{"typed": "klingon"}, {"typed": ""}],
    "slack_failed": [{"error": "expired_trigger_id"}],
    "home": [
        {
            "config": CONFIG,
            "is_admin": True,
            "default_threshold": 5,
            "window_weeks": 8,
            "company": DIGEST_RESULTS.composites["everyone"],
            "asked": 4,
            "answered": 3,
            "last_digest": compose(NOW.date(), DIGEST_RESULTS, None, None, "aligned", PARTICIPATION, []),
            "digest_pictures": ("F0000000001", "F0000000002"),
            "digest_failures": [
                SimpleNamespace(week=NOW.date(), destination=destination, error=error)
                for destination, error in (
                    ("C0LEADER1", "not_in_channel"),
                    ("C0LEADER2", "channel_not_found"),
                    ("C0LEADER3", "is_archived"),
                    ("C0LEADER4", "restricted_action"),
                    ("U0SALESHD", "cannot_dm_bot"),
                    ("C0LEADER5", "unconfirmed"),
                )
            ],
            "next_digest": NOW,
            "action_items": ACTION_ITEMS,
            "unconfirmed_posts": [
                UnconfirmedPosts("dm", "Weekly <pulse>", NOW, 12),
                UnconfirmedPosts("reminder", "Weekly <pulse>", NOW, 3),
                UnconfirmedPosts("channel_post", "Weekly <pulse>", NOW, 1),
            ],
        },
        {
            "config": CONFIG,
            "is_admin": True,
            "default_threshold": 5,
            "window_weeks": 8,
            "company": Composite(),
            "asked": 0,
            "answered": 0,
            "last_digest": compose(NOW.date(), score([], {}, 5), None, None, None, {}, []),
            "digest_failures": [],
            "next_digest": None,
            "action_items": [],
        },
        {
            "config": CONFIG,
            "is_admin": True,
            "default_threshold": 5,
            "window_weeks": 8,
            "company": Composite(),
            "asked": 0,
            "answered": 0,
            "last_digest": None,
            "digest_failures": [],
            "next_digest": NOW,
        },
        {
            "config": None,
            "is_admin": True,
            "default_threshold": 5,
            "window_weeks": 8,
            "company": None,
            "asked": 0,
            "answered": 0,
        },
        {
            "config": CONFIG,
            "is_admin": False,
            "default_threshold": 5,
            "window_weeks": 8,
            "company": Composite(withheld_team="marketing"),
            "asked": 0,
            "answered": 0,
        },
        {
            "config": CONFIG,
            "is_admin": False,
            "default_threshold": 5,
            "window_weeks": 8,
            "company": Composite(),
            "asked": 0,
            "answered": 0,
        },
        {
            "config": None,
            "is_admin": False,
            "default_threshold": 5,
            "window_weeks": 8,
            "company": None,
            "asked": 0,
            "answered": 0,
        },
    ],
    "notice": [
        {"kind": kind, "name": "Weekly", "action": "pause", "department": "sales"} for kind in NOTICE_KINDS
    ],
    "pulse_message": [
        {"view": OPEN_VIEW, "threshold": 5},
        {"view": replace(OPEN_VIEW, needs_department=True, has_comment=True), "threshold": 5},
        {"view": replace(OPEN_VIEW, reminder=1), "threshold": 5},
        {"view": replace(OPEN_VIEW, closed=True), "threshold": 5},
        {"view": replace(OPEN_VIEW, personal=False, delivery="channel"), "threshold": 5},
        {"view": replace(OPEN_VIEW, preview=True, round_id=0), "threshold": 5},
        {
            "view": replace(OPEN_VIEW, statements=tuple(replace(s, score=2) for s in STATEMENTS)),
            "threshold": 5,
        },
    ],
    "pulse_tap_reply": [
        {"outcome": outcome, "view": OPEN_VIEW, "statement": STATEMENTS[0]}
        for outcome in ("saved", "closed", "preview", "not_asked")
    ],
    "pulse_comment_modal": [
        {"private_metadata": "{}", "threshold": 5, "text": ""},
        {"private_metadata": "{}", "threshold": 5, "text": "<!channel> earlier"},
    ],
    "pulse_list": [
        {"summaries": [], "window_weeks": 8},
        {
            "summaries": [
                CadenceSummary("Weekly <pulse>", SETTINGS, False, NOW, True, covered=20, instrument=20),
                CadenceSummary(
                    "Paused",
                    replace(SETTINGS, audience_channels=("C1",), team_calendars={"sales": ("IR",)}),
                    True,
                    None,
                    False,
                ),
                CadenceSummary(
                    "Monthly",
                    replace(
                        SETTINGS,
                        recurrence=replace(RECURRENCE, kind="monthly", nth=-1, weekday=4),
                        holiday_calendars=("DE-BE", "US"),
                        team_calendars={"sales": ("IR", "AE"), "marketing": ("DE-BY",)},
                    ),
                    False,
                    None,
                    False,
                    covered=4,
                    instrument=20,
                ),
                CadenceSummary("Start", replace(SETTINGS, kind="baseline"), False, NOW, False, 20, 20),
            ],
            "window_weeks": 8,
        },
    ],
    "pulse_modal": [
        {
            "callback_id": "pulse_add",
            "form": CadenceForm(send_time="10:00", timezone="UTC", start_date="2026-03-02", weekdays=("1",)),
            "private_metadata": "{}",
            "window_weeks": 8,
        },
        {
            "callback_id": "pulse_edit",
            "form": form_from_settings(SETTINGS),
            "private_metadata": "{}",
            "window_weeks": 8,
        },
        {
            "callback_id": "pulse_edit",
            "form": form_from_settings(
                replace(SETTINGS, holiday_calendars=("DE-BE",), team_calendars={"marketing": ("IR",)})
            ),
            "private_metadata": "{}",
            "window_weeks": 8,
        },
        {
            "callback_id": "pulse_edit",
            "form": form_from_settings(
                replace(SETTINGS, kind="baseline", recurrence=replace(RECURRENCE, kind="once"))
            ),
            "private_metadata": "{}",
            "window_weeks": 8,
        },
        {
            "callback_id": "pulse_edit",
            "form": form_from_settings(
                replace(
                    SETTINGS,
                    recurrence=replace(RECURRENCE, kind="monthly", nth=2, weekday=2, skip_weekends=True),
                    include_guests=True,
                    delivery="channel",
                    audience_channels=("C1",),
                )
            ),
            "private_metadata": "{}",
            "window_weeks": 8,
        },
    ],
    "pulse_delete_confirm": [{"name": "Weekly"}],
    "forget_me_confirm": [{}],
    "questions_list": [
        {
            "dimensions": [
                DimensionItems(d.id, d.names["en"], tuple(i for i in BANK.items if i.dimension == d.id))
                for d in BANK.dimensions
            ],
            "disabled": {"hbr01"},
        }
    ],
    "digest": [
        {
            "view": compose(
                NOW.date(),
                DIGEST_RESULTS,
                DIGEST_RESULTS,
                None,
                "aligned",
                PARTICIPATION,
                [("sales", "Share <!channel> leads"), (None, "hidden")],
            ),
            "items": {item.id: item.text("en") for item in BANK.items}
            | {"A": "Statement A", "B": "Statement B"},
            "dimensions": {d.id: d.names["en"] for d in BANK.dimensions}
            | {"d1": "Dimension one", "d2": "Two"},
            "threshold": 3,
            "window_weeks": 8,
        },
        {
            "view": replace(
                compose(NOW.date(), DIGEST_RESULTS, None, None, "defined", PARTICIPATION, []),
                nudges=tuple(every_nudge()[:8]),  # one of each kind: a digest carries a few
                follow_ups=FOLLOW_UPS,
            ),
            "items": {item.id: item.text("en") for item in BANK.items}
            | {"A": "Statement A", "B": "Statement B"},
            "dimensions": {d.id: d.names["en"] for d in BANK.dimensions}
            | {"d1": "Dimension one", "d2": "Two"},
            "threshold": 3,
            "window_weeks": 8,
        },
        {
            "view": compose(NOW.date(), score([], {}, 5), None, None, None, {}, []),
            "items": {},
            "dimensions": {},
            "threshold": 5,
            "window_weeks": 8,
        },
    ],
    "digest_failed": [
        {"week": NOW.date(), "destination": destination, "error": error}
        for destination, error in (
            ("C0LEADER1", "not_in_channel"),
            ("C0LEADER1", "channel_not_found"),
            ("C0LEADER1", "is_archived"),
            ("C0LEADER1", "<restricted_action>"),
            ("U0SALESHD", "cannot_dm_bot"),
        )
    ],
    "chart_labels": [{}],
    "nudge_act_modal": [{"private_metadata": "{}", "owner": "U0ANA", "due": NOW.date()}],
    "digest_schedule_modal": [
        {
            "settings": SimpleNamespace(weekday=0, local_time="09:00", to_channel=True, leaders=["U1"]),
            "timezone": "Asia/Tehran",
            "private_metadata": "{}",
        },
        {
            "settings": SimpleNamespace(weekday=6, local_time="17:45", to_channel=False, leaders=[]),
            "timezone": "UTC",
            "private_metadata": "{}",
        },
    ],
    "you_said_we_did": [
        {
            "key": key,
            "note": "We meet <!channel> on Thursday",
            "items": {"hbr05": "Statement"},
            "dimensions": {"knowledge": "Knowledge"},
        }
        for key in (
            "low_dimension:knowledge",
            "gap:hbr05",
            "gap:knowledge",
            "participation:sales",
            "stage_drop",
        )
    ],
    "question_add_modal": [
        {
            "dimensions": [DimensionItems(d.id, d.names["en"], ()) for d in BANK.dimensions],
            "private_metadata": "{}",
        }
    ],
    "meeting_modal": [
        {
            "callback_id": "meeting_add",
            "form": MeetingForm(
                start_time="10:00", timezone="UTC", first_date="2026-03-02", channels=("C1",)
            ),
            "private_metadata": "{}",
        },
        {
            "callback_id": "meeting_edit",
            "form": meeting_form(
                replace(
                    MEETING,
                    recurrence=replace(
                        RECURRENCE, kind="monthly", nth=-1, weekday=4, skip_weekends=True, end=NOW.date()
                    ),
                    reminder_offsets=(2880, 90),
                )
            ),
            "private_metadata": "{}",
        },
        {
            "callback_id": "meeting_edit",
            "form": meeting_form(
                replace(MEETING, recurrence=ONE_OFF, reminder_offsets=(), link=None, owner=None)
            ),
            "private_metadata": "{}",
        },
    ],
    "meeting_list": [
        {"summaries": []},
        {
            "summaries": [
                MeetingSummary(1, MEETING, False, (NOW, NOW), (NOW.date(),)),
                MeetingSummary(
                    2, replace(MEETING, recurrence=ONE_OFF, reminder_offsets=(), owner=None), True, (), ()
                ),
                MeetingSummary(3, replace(MEETING, link=None), False, (), ()),
            ]
        },
    ],
    "meeting_remove_confirm": [{"name": "Pipeline <review>", "meeting_id": 3}],
    "meeting_reminder": [
        {
            "view": ReminderView(
                1,
                "Pipeline <review>",
                NOW,
                NOW.date(),
                45,
                15,
                "https://x.example/a&b",
                "U0OWNER01",
                build_agenda(DIGEST_RESULTS, every_nudge(), 2, ["Agree the <!channel> lead definition"]),
                3,
                1,
            ),
            "items": {item.id: item.text("en") for item in BANK.items},
            "dimensions": {d.id: d.names["en"] for d in BANK.dimensions} | {"d1": "One", "d2": "Two"},
        },
        {
            "view": ReminderView(
                1, "Weekly", NOW, NOW.date(), 60, 1440, None, None, build_agenda(None, (), 3, ()), 0, 0
            ),
            "items": {},
            "dimensions": {},
        },
    ],
    "meeting_check": [
        {"view": CheckView(4, "Pipeline <review>", NOW, None, False, False, "en"), "threshold": 5},
        {"view": CheckView(4, "Pipeline", NOW, 4, True, False, "en"), "threshold": 5},
        {"view": CheckView(4, "Pipeline", NOW, 2, False, True, "en"), "threshold": 5},
        {"view": CheckView(4, "Pipeline", NOW, None, False, True, "en"), "threshold": 5},
        {"view": CheckView(4, "Pipeline", NOW, None, False, False, "en", confirm=True), "threshold": 5},
        {"view": CheckView(4, "Pipeline", NOW, None, False, False, "en", held=False), "threshold": 5},
    ],
    "meeting_check_comment_modal": [
        {"private_metadata": "{}", "threshold": 5, "text": ""},
        {"private_metadata": "{}", "threshold": 5, "text": "<!channel> shorter"},
    ],
}
CONTEXTS["digest"] += [
    {**CONTEXTS["digest"][0], "view": replace(CONTEXTS["digest"][0]["view"], meetings=meetings)}
    for meetings in (Adherence(4, 3, 0.75), Adherence(0, 0, None))
]
CONTEXTS["digest"] += [
    {**CONTEXTS["digest"][0], "view": replace(CONTEXTS["digest"][0]["view"], away=away, own_time=own_time)}
    for away, own_time in ((3, True), (0, True), (2, False))
]
REACHES = (
    NextReach(NOW, NOW, NOW + timedelta(hours=11), 2, ("IR: Nowruz Holiday",), 3),
    NextReach(NOW, NOW, NOW, 0, (), 0),
    NextReach(NOW, None, None, 1, (), 0),
)
CONTEXTS["pulse_list"] += [{**CONTEXTS["pulse_list"][1], "reach": {"Weekly <pulse>": r}} for r in REACHES]
CONTEXTS["pulse_message"] += [
    {"view": replace(OPEN_VIEW, preview=True, cadence_name="Weekly", reach=r), "threshold": 5}
    for r in REACHES
]
PIPELINE_SECTION = PipelineSection(
    "2026-W10",
    "2025-Q4",
    (
        PipelineLine(
            FORECAST_ACCURACY,
            PipelineFigure(FORECAST_ACCURACY, None, None, 0),
            PipelineFigure(FORECAST_ACCURACY, 0.94, 0.75, 1),
            (StatementRatings("hbr01", 2.0, None), StatementRatings("unknown", 3.5, 4.25)),
        ),
        PipelineLine(
            HOURS_TO_FIRST_TOUCH,
            PipelineFigure(HOURS_TO_FIRST_TOUCH, 6.5, 9.25, 12),
            PipelineFigure(HOURS_TO_FIRST_TOUCH, None, None, 3, withheld=True),
            (),
        ),
    ),
    (("No budget <b>", 5), ("Wrong industry", 5)),
)
CONTEXTS["digest"].append(
    {**CONTEXTS["digest"][0], "view": replace(CONTEXTS["digest"][0]["view"], pipeline=PIPELINE_SECTION)}
)
CONTEXTS["home"].append(
    {
        **CONTEXTS["home"][0],
        "last_digest": replace(CONTEXTS["home"][0]["last_digest"], pipeline=PIPELINE_SECTION),
    }
)
CONTEXTS["notice"] += [
    {"kind": kind, "name": "Pipeline <review>", "when": NOW}
    for kind in ("meeting_skip_next", "agenda_added", "rsvp_going")
]
PIPELINE_PROBLEMS = [
    Problem(0, "setup_first"),
    Problem(1, "empty_file"),
    Problem(1, "unknown_kind"),
    Problem(1, "missing_columns", value="record_id, amount"),
    Problem(2, "missing_id", "Record ID"),
    Problem(3, "conflicting_duplicate", "Record ID", "<L1>"),
    Problem(4, "bad_date", "Create Date", "2026-13-01"),
    Problem(5, "bad_amount", "Amount", "12abc"),
    Problem(6, "bad_period", "Quarter", "Q5"),
    Problem(7, "bad_flag", "Won", "perhaps"),
    Problem(8, "mixed_date_orders", "Close Date", "3/25/2026"),
    Problem(9, "not_text", value="utf-8"),
    Problem(10, "not_csv", value="field larger than field limit"),
    Problem(1, "unknown_field", "amount", "leads"),
    Problem(1, "unknown_header", "created_at", "Created <On>"),
    Problem(1, "header_twice", "Contact Number", "record_id, sql_at"),
]
PIPELINE_SHAPE = {"kind": Kind.DEALS, "headers": ("Record ID", "Name *bold*"), "rows": 12}
AMBIGUOUS_DATE = Problem(3, "ambiguous_date", "Created", "3/4/2026")
CONTEXTS["pipeline_import"] = [
    {
        "report": ImportReport(Survey(**PIPELINE_SHAPE, empty_rows=2, duplicate_lines={4}), 10, 1, 1),
        "surface": "slack",
    },
    {"report": ImportReport(Survey(**PIPELINE_SHAPE), 0, 0, 12), "surface": "cli"},
    {
        "report": ImportReport(Survey(**PIPELINE_SHAPE, problems=PIPELINE_PROBLEMS, problem_count=40)),
        "surface": "cli",
    },
    {"report": ImportReport(Survey(**PIPELINE_SHAPE, ambiguous_date=AMBIGUOUS_DATE)), "surface": "slack"},
    {"report": ImportReport(Survey(**PIPELINE_SHAPE, ambiguous_date=AMBIGUOUS_DATE)), "surface": "cli"},
]
MAPPING_STEP = mapping_step(("Contact Number", "Created On", "", "x" * 90, "MQL On"), Kind.LEADS)
UNMAPPED = Survey(headers=MAPPING_STEP.headers, problems=[Problem(1, "unknown_kind")], problem_count=1)
CONTEXTS["pipeline_import"] += [
    {
        "report": ImportReport(UNMAPPED, mapping=MAPPING_STEP),
        "surface": "slack",
        "map_value": '{"file":"F1"}',
    },
    {"report": ImportReport(UNMAPPED, mapping=MAPPING_STEP), "surface": "cli"},
    {"report": ImportReport(UNMAPPED, mapping=mapping_step(("A", "B"), Kind.DEALS)), "surface": "cli"},
]
CONTEXTS["pipeline_import_modal"] = [{"private_metadata": "{}"}]
CONTEXTS["pipeline_mapping_modal"] = [
    {"step": MAPPING_STEP, "file_name": "crm *export*.csv", "private_metadata": "{}"},
    {
        "step": mapping_step([f"Header {a}{b}" for a in "abcdefghij" for b in "abcdefghijkl"], Kind.DEALS),
        "file_name": "big.csv",
        "private_metadata": "{}",
    },
]
CONTEXTS["pipeline_usage"] = [{}]
CONTEXTS["pipeline_hubspot_modal"] = [{"private_metadata": "{}"}]
CONTEXTS["pipeline_sync"] = [
    {"report": SyncReport(150, 3)},
    *(
        {"report": SyncReport(error=code)}
        for code in (
            "invalid_token",
            "forbidden",
            "unreachable",
            "rate_limited",
            "unavailable",
            "unexpected_data",
            "http_418",
        )
    ),
]
LANGUAGES = ("en", "fa")
renderer = Renderer()


def test_every_template_has_a_context_here():
    assert set(renderer.template_names()) == set(CONTEXTS)


CASES = [(name, index) for name, contexts in sorted(CONTEXTS.items()) for index in range(len(contexts))]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("name", "index"), CASES)
def test_template_renders_valid_block_kit(name, index, language):
    context = CONTEXTS[name][index]
    rendered = renderer.render(name, language, **context)
    if name == "chart_labels":
        assert set(rendered) == LABEL_KEYS | HEATMAP_LABEL_KEYS and all(rendered.values())
        return
    if name == "field_errors":
        assert set(rendered) == set(context["errors"])
        assert all(isinstance(text, str) and text for text in rendered.values())
        return
    if rendered.get("type") in ("modal", "home"):
        assert validate_view(rendered, rendered["type"]) == []
        View(**rendered).to_dict()
        blocks = rendered["blocks"]
    else:
        assert rendered["text"]
        assert validate_message_blocks(rendered["blocks"]) == []
        blocks = rendered["blocks"]
    for block in blocks:
        assert Block.parse(block) is not None


def test_persian_is_really_persian():
    english = renderer.render("help", "en", **CONTEXTS["help"][0])
    persian = renderer.render("help", "fa", **CONTEXTS["help"][0])
    assert english["text"] != persian["text"]
    assert any("\u0600" <= char <= "\u06ff" for char in persian["text"])


def test_persian_numbers_use_persian_digits():
    status = renderer.render("status", "fa", config=CONFIG, threshold_change=None)
    assert "۵ نفر" in str(status)
    change = ThresholdChange("U0ADMIN01", datetime(2026, 3, 9, 9, tzinfo=UTC), 5, 3)
    changed = str(renderer.render("status", "fa", config=CONFIG, threshold_change=change))
    assert "از ۵ به ۳" in changed


def test_language_usage_without_a_typed_language_still_explains():
    text = str(renderer.render("language_usage", "en", typed=""))
    assert "/align language fa" in text


def test_user_text_is_escaped():
    rendered = renderer.render("unknown_command", "en", typed="<!channel>", suggestion=None, subcommands=())
    text = str(rendered)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


def test_persian_catalog_translates_every_message():
    msgids = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            "message_templates",
            method_map=[("**.j2", "jinja2")],
            options_map={"**.j2": {"extensions": "jinja2.ext.i18n"}},
        )
    }
    with open("message_templates/locales/fa.po", "rb") as handle:
        catalog = read_po(handle, locale="fa")
    translated = {m.id: m.string for m in catalog if m.id and not m.fuzzy}
    missing = sorted(m for m in msgids if not translated.get(m))
    assert missing == [], "untranslated in fa.po (run `make catalog`):\n" + "\n".join(missing)
    obsolete = sorted(set(translated) - msgids)
    assert obsolete == [], "fa.po has messages no template uses:\n" + "\n".join(obsolete)


def test_placeholders_survive_translation():
    with open("message_templates/locales/fa.po", "rb") as handle:
        catalog = read_po(handle, locale="fa")

    for message in catalog:
        if message.id:
            assert sorted(re.findall(r"%\(\w+\)s", message.id)) == sorted(
                re.findall(r"%\(\w+\)s", message.string)
            ), message.id


def test_statements_and_names_typed_by_admins_are_escaped():
    message = renderer.render("pulse_message", "en", view=OPEN_VIEW, threshold=5)
    assert "We share &lt;the&gt; lead list &amp; notes" in str(message)
    listing = renderer.render("pulse_list", "en", **CONTEXTS["pulse_list"][1])
    assert "Weekly &lt;pulse&gt;" in str(listing)


def test_a_pulse_shows_the_chosen_answer_and_progress():
    message = renderer.render("pulse_message", "en", view=OPEN_VIEW, threshold=5)
    chosen = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e.get("style")]
    assert [e["value"] for e in chosen] == ["7:hbr01:4"]
    assert "Answered 1 of 2" in str(message)


def test_every_nudge_action_has_words_in_the_digest():
    digest = renderer.render("digest", "en", **CONTEXTS["digest"][1])
    text = str(digest)
    assert "What would help next" in text
    assert "information_sharing" not in text  # codes become names and sentences


# What may keep Latin digits in Persian text: Slack ids and mentions, commands in code spans, links,
# IANA timezone names, the YYYY-MM-DD date format people type into a text field (shown with an example),
# the shape of a HubSpot token as the placeholder of the field it is pasted into, and what a CRM file
# itself holds: its encodings' names and its dates as written in it.
_KEPT_LATIN = re.compile(
    r"<[#@!][^>]*>|`[^`]*`|https?://\S+|\b[A-Za-z]+/[A-Za-z_]+\b|مثلاً 2026-12-25|\bpat-[a-z0-9]+-…"
    r"|\b(?i:utf)-(?:8|16)\b|\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{4}-(?:Q\d|W\d{1,2}|\d{2})\b"
)
_NOT_READ = {"value", "action_id", "block_id", "callback_id", "private_metadata", "url", "slack_file"}
_NOT_READ |= {"initial_value", "min_value", "max_value", "initial_time", "initial_date", "initial_users"}
_NOT_READ |= {"initial_conversations", "initial_channels", "initial_conversation", "initial_channel"}
_NOT_READ |= {"initial_user"}


def _read_texts(node, texts: list[str]) -> list[str]:
    """Every string a reader sees in a payload (not ids, values or the inputs' machine formats)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in _NOT_READ:
                _read_texts(value, texts)
    elif isinstance(node, list):
        for item in node:
            _read_texts(item, texts)
    elif isinstance(node, str):
        texts.append(node)
    return texts


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_persian_text_prints_every_number_and_date_in_persian_digits(name: str) -> None:
    for context in CONTEXTS[name]:
        for text in _read_texts(renderer.render(name, "fa", **context), []):
            assert not re.search("[0-9]", _KEPT_LATIN.sub("", text)), (name, text)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_every_action_has_a_sentence_of_its_own(language):
    """No two nudges in one digest say the same sentence: each action code reads differently."""
    environment = renderer._environments[language]
    module = environment.get_template("_nudges.j2").make_module({"items": {}, "dimensions": {}})
    sentences = [module.actions[action] for action in ACTIONS]
    assert len(set(sentences)) == len(ACTIONS)
