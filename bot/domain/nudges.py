"""Nudges: a few concrete, evidence-backed suggestions for leaders, drawn from the weekly results.

Each rule reads only what the scoring model shows, so a withheld figure (a group under the anonymity
threshold) never produces a nudge or a number in one. A nudge carries codes and numbers, not prose:
a template turns its `action` code and `evidence` into a sentence in each language. The rules and
their sources are in docs/MODEL.md; the § numbers in the comments below refer to its sections.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.pipeline_digest import PipelineSection
from bot.domain.pipeline_figures import FORECAST_ACCURACY, MQL_REJECTED
from bot.domain.pipeline_figures import Figure as PipelineFigure
from bot.domain.scoring import BAND_FLOORS, STAGES, Figure, Results
from bot.domain.vocabulary import DEPARTMENTS, EVERYONE, MARKETING, SALES

LOW_DIMENSION = "low_dimension"
WIDE_GAP = "wide_gap"
LOW_PARTICIPATION = "low_participation"
STAGE_DROP = "stage_drop"
NEXT_STAGE = "next_stage"
NO_USEFUL_MEETING = "no_useful_meeting"
PIPELINE_LEADS = "pipeline_leads"
PIPELINE_FORECAST = "pipeline_forecast"
KINDS = (
    LOW_DIMENSION,
    WIDE_GAP,
    LOW_PARTICIPATION,
    STAGE_DROP,
    NEXT_STAGE,
    NO_USEFUL_MEETING,
    PIPELINE_LEADS,
    PIPELINE_FORECAST,
)

LEADERS, BOTH_TEAMS = "leaders", "both_teams"

#: Lower is more urgent. A drop or a lasting low matters more than a gap, which is a prompt to talk
#: (Homburg & Jensen). The next step has a slot of its own, always last.
PRIORITY = {
    STAGE_DROP: 1,
    LOW_DIMENSION: 2,
    # Where the numbers and the perception disagree: the most useful conversation (issue 15).
    PIPELINE_LEADS: 2,
    PIPELINE_FORECAST: 2,
    LOW_PARTICIPATION: 3,
    NO_USEFUL_MEETING: 4,
    WIDE_GAP: 5,
    NEXT_STAGE: 6,
}

LOW_WEEKS = 3
GAP_WIDTH = 1.0
LOW_SHARE = 0.4
DROP_WEEKS = 4
MEETING_DAYS = 30
#: The pipeline beside the perception. Rejections "rising": up by at least 5 points on the period
#: before; a gap "widening": at least half a point wider than DROP_WEEKS weeks before. A forecast
#: "accurate": within 10 % of the actual; a statement "rated low": 2.5 of 5 or less by a team.
REJECTION_RISE = 0.05
GAP_WIDENING = 0.5
ACCURATE = 0.9
LOW_RATING = 2.5
LEAD_STATEMENTS = ("hbr07", "ext06")
"""What a qualified lead is, and the hand-over rules (bot/domain/question_bank.toml)."""
FORECAST_STATEMENT = "hbr01"
"""The statement "Our actual sales usually land close to the sales forecast"."""
#: Means of means carry float noise (7/3 − 4/3 is 1.0000000000000002); it must not decide a boundary.
_EPSILON = 1e-9

#: What to do about a dimension that stays below the next stage's band, or that the teams see apart.
DIMENSION_ACTIONS = {
    # §5 joint activities: forecasting and target setting are where synergy happens.
    "joint_planning": "joint_planning_session",
    # §3 finding: senior-management support reduces conflict more than aligned rewards
    # (Le Meunier-FitzHugh, Massey & Piercy 2011).
    "culture_trust": "senior_sponsor",
    # §3 Defined → Aligned: put marketing into key accounts.
    "key_accounts": "marketing_in_key_accounts",
    # §3 Defined → Aligned: low-effort ways to capture sales-force feedback.
    "information_sharing": "sales_feedback_loop",
    # §3 Undefined → Defined: a common language, starting with what a qualified lead is.
    "shared_language": "write_lead_definition",
    # §3 finding: meeting frequency alone did not predict performance (Kahn); ask about usefulness.
    "joint_meetings": "review_meeting_usefulness",
    # §3 Aligned → Integrated: shared metrics (and rewards) for revenue.
    "shared_metrics": "shared_revenue_metric",
    # §3 collaboration practices and job rotation: cross-training.
    "knowledge": "cross_training",
    # §4 power: decision rights must be explicit.
    "decision_rights": "write_decision_rights",
}

#: The playbook (§3, from the seeds): per stage, the concrete steps towards the next one, rotated week
#: by week so the stage's slot does not repeat one step. Integrated's steps keep it (§2: it is rare, and
#: culture is the hardest part to keep).
PLAYBOOK = {
    # Undefined → Defined: processes and rules for hand-offs, roles, a common language.
    "undefined": ("step_handoff_rules", "step_roles", "step_lead_definition", "step_stage_names"),
    # Defined → Aligned: plan and train together, marketing in key accounts, sales using marketing's
    # terms, joint meetings on a rhythm (useful ones: frequency alone did not help, Kahn).
    "defined": (
        "step_joint_planning",
        "step_joint_training",
        "step_key_accounts",
        "step_common_terms",
        "step_meeting_rhythm",
    ),
    # Aligned → Integrated: shared structures and systems, shared metrics and rewards, flexible
    # budgets, a "rise or fall together" culture.
    "aligned": (
        "step_shared_systems",
        "step_shared_rewards",
        "step_flexible_budget",
        "step_rise_or_fall_together",
    ),
    "integrated": ("step_review_structures", "step_onboard_together", "step_job_rotation"),
}

DISCUSS_GAP = "discuss_gap"
EXPLAIN_AND_ACT = "explain_and_act"
REVIEW_WHAT_CHANGED = "review_what_changed"
HOLD_USEFUL_JOINT_MEETING = "hold_useful_joint_meeting"
AGREE_LEAD_DEFINITION = "agree_lead_definition"
REVIEW_FORECAST_TOGETHER = "review_forecast_together"

#: Every action code a nudge can carry, so the templates can be checked for completeness. Each has a
#: sentence of its own, and a digest carries an action at most once: no two nudges say the same thing.
ACTIONS = (
    *DIMENSION_ACTIONS.values(),
    *(step for steps in PLAYBOOK.values() for step in steps),
    DISCUSS_GAP,
    EXPLAIN_AND_ACT,
    REVIEW_WHAT_CHANGED,
    HOLD_USEFUL_JOINT_MEETING,
    AGREE_LEAD_DEFINITION,
    REVIEW_FORECAST_TOGETHER,
)


_EVIDENCE_NEEDED = {
    LOW_DIMENSION: ("target", "target_stage"),
    NEXT_STAGE: ("target_stage",),
    PIPELINE_LEADS: ("rejected", "rejected_before", "period", "gap", "gap_before"),
    PIPELINE_FORECAST: ("accuracy", "period", "item"),
}


def still_readable(nudge: Nudge) -> bool:
    """Whether a nudge stored earlier (a meeting reminder's agenda) can be shown by this version: its
    advice still exists and its evidence has what the templates read. Older ones are left out."""
    return nudge.action in ACTIONS and all(
        key in nudge.evidence for key in _EVIDENCE_NEEDED.get(nudge.kind, ())
    )


def target_stage(stage: str | None) -> str:
    """The band a dimension is held to: the next stage's (Integrated's own once there); Defined's
    while the stage is unknown."""
    if stage is None:
        return STAGES[1]
    return STAGES[min(STAGES.index(stage) + 1, len(STAGES) - 1)]


def band_floor_mean(stage: str) -> float:
    """The mean rating (1–5) where a stage's band begins on the 20–100 scale."""
    return BAND_FLOORS[STAGES.index(stage)] / 20


@dataclass(frozen=True)
class WeekSnapshot:
    """What the rules look at for one week (the digest builds these from stored results)."""

    week: date
    results: Results
    """From `bot.domain.scoring.score` over the rolling window ending that week."""
    stage: str | None
    """The settled stage for everyone that week (`bot.domain.scoring.settled_stage`); None while unknown."""
    participation: Mapping[str, float | None]
    """Group → share of the people asked who answered; None when withheld."""


@dataclass(frozen=True)
class Nudge:
    """One suggestion: a stable key for follow-through and snoozing, and the numbers behind it."""

    key: str
    kind: str
    action: str
    evidence: Mapping[str, float | int | str]
    audience: str
    """"leaders", or "both_teams" when it may also be shared with the two teams."""
    priority: int
    """Lower is more urgent."""


def nudges(
    history: Sequence[WeekSnapshot],
    dimension_of: Mapping[str, str],
    *,
    quiet: Collection[str] = (),
    days_since_useful_meeting: int | None = None,
    max_nudges: int = 4,
    pipeline: PipelineSection | None = None,
) -> list[Nudge]:
    """The nudges for the last week of `history` (oldest first, one snapshot a week).

    One slot always holds the playbook's step for the current stage (the first of this week's
    rotation that leaders have not acted on or snoozed), so urgent nudges cannot crowd it out. The
    others, minus the `quiet` keys (acted on or snoozed), fill the rest: ordered by priority, then by
    strength of evidence (lower mean, wider gap, lower share first), then by key; a nudge whose action
    an earlier one already carries is left out, so no two say the same sentence. `dimension_of` maps
    item ids to dimension ids; `pipeline`, the digest's pipeline section, lets the rules that set the
    CRM's figures beside the teams' ratings speak.
    """
    if max_nudges < 0:
        raise ValueError(f"max_nudges must not be negative, not {max_nudges}")
    ranked: list[tuple[Nudge, float]] = []
    step = None
    if history:
        current = history[-1]
        ranked += _low_dimensions(history)
        ranked += _wide_gaps(history, dimension_of)
        ranked += _low_participation(current.participation)
        ranked += _stage_drop(history)
        if pipeline is not None:
            combined = _lead_definition(history, pipeline) + _forecast_trust(current.results, pipeline)
            ranked = _covered_gaps_left_out(ranked, combined, dimension_of)
        step = _next_step(current, quiet)
    ranked += _no_useful_meeting(days_since_useful_meeting)
    ranked.sort(key=lambda pair: (pair[0].priority, -pair[1], pair[0].key))
    chosen: list[Nudge] = []
    said = {step.action} if step else set()
    for nudge, _strength in ranked:
        if nudge.key in quiet or nudge.action in said:
            continue
        said.add(nudge.action)
        chosen.append(nudge)
    if step is None or max_nudges == 0:
        return chosen[:max_nudges]
    return [*chosen[: max_nudges - 1], step]


def _below(value: float, limit: float) -> bool:
    return value < limit - _EPSILON


def _above(value: float, limit: float) -> bool:
    return value > limit + _EPSILON


def _low_dimensions(history: Sequence[WeekSnapshot]) -> list[tuple[Nudge, float]]:
    """§3/§4/§5: a dimension below the next stage's band for weeks in a row calls for its action.

    The band, not a fixed mark: a company that is Aligned is held to where Integrated begins, so its
    weakest dimension gets advice even at 3.0 of 5. Several weeks, not one, because a rolling
    window's mean moves with who happened to answer.
    """
    current = history[-1]
    target = target_stage(current.stage)
    limit = band_floor_mean(target)
    found = []
    for group, dimension in current.results.dimensions:
        if group != EVERYONE or dimension not in DIMENSION_ACTIONS:
            continue
        weeks = _streak(history, lambda results, dimension=dimension: _low(results, dimension, limit))
        if weeks < LOW_WEEKS:
            continue
        figure = current.results.dimensions[EVERYONE, dimension]
        evidence: dict[str, float | int | str] = {
            "dimension": dimension,
            "mean": figure.mean,
            "respondents": figure.respondents,
            "target_stage": target,
            "target": limit,
            "weeks": weeks,
        }
        if dimension in current.results.dimension_gaps:
            sides = current.results.dimensions
            evidence |= _sides(sides[SALES, dimension], sides[MARKETING, dimension])
            evidence["gap"] = abs(current.results.dimension_gaps[dimension])
        nudge = Nudge(
            key=f"{LOW_DIMENSION}:{dimension}",
            kind=LOW_DIMENSION,
            action=DIMENSION_ACTIONS[dimension],
            evidence=evidence,
            audience=LEADERS,
            priority=PRIORITY[LOW_DIMENSION],
        )
        found.append((nudge, limit - figure.mean))
    return found


def _low(results: Results, dimension: str, limit: float) -> bool:
    figure = results.dimensions.get((EVERYONE, dimension))
    return figure is not None and not figure.withheld and _below(figure.mean, limit)


def _streak(history: Sequence[WeekSnapshot], holds) -> int:
    """How many weeks, back from the last, `holds(results)` was true; a week where it was not ends it."""
    weeks = 0
    for snapshot in reversed(history):
        if not holds(snapshot.results):
            break
        weeks += 1
    return weeks


def _wide_gaps(history: Sequence[WeekSnapshot], dimension_of: Mapping[str, str]) -> list[tuple[Nudge, float]]:
    """§7: the perception gap is a first-class result; a wide one is worth talking about.

    Some differences between the two thought worlds help (Homburg & Jensen 2007), so the nudge is a
    conversation both teams may see, not a verdict, with the topic's own action to talk about. One
    nudge per dimension, the widest of the dimension's gap and its items' gaps, so one topic cannot
    take every slot.
    """
    results = history[-1].results
    candidates = [(dimension, None, gap) for dimension, gap in results.dimension_gaps.items()]
    candidates += [(dimension_of.get(item, item), item, gap) for item, gap in results.item_gaps.items()]
    candidates.sort(key=lambda c: (-abs(c[2]), c[1] is not None, c[1] or c[0]))
    widest: dict[str, tuple[str | None, float]] = {}
    for topic, item, gap in candidates:
        if _above(abs(gap), GAP_WIDTH):
            widest.setdefault(topic, (item, gap))
    found = []
    for topic, (item, gap) in widest.items():
        figures = results.items if item else results.dimensions
        gaps_of = (lambda r: r.item_gaps) if item else (lambda r: r.dimension_gaps)
        key = item or topic
        sales, marketing = figures[SALES, key], figures[MARKETING, key]
        where = {"item": item} if item else {}
        if topic != item:
            where["dimension"] = topic
        weeks = _streak(
            history, lambda r, key=key, gaps_of=gaps_of: _above(abs(gaps_of(r).get(key, 0.0)), GAP_WIDTH)
        )
        nudge = Nudge(
            key=f"gap:{key}",
            kind=WIDE_GAP,
            action=DIMENSION_ACTIONS.get(topic, DISCUSS_GAP),
            evidence={**where, **_sides(sales, marketing), "gap": abs(gap), "weeks": weeks},
            audience=BOTH_TEAMS,
            priority=PRIORITY[WIDE_GAP],
        )
        found.append((nudge, abs(gap)))
    return found


def _sides(sales: Figure, marketing: Figure) -> dict[str, float | int | str]:
    return {
        "sales": sales.mean,
        "marketing": marketing.mean,
        "sales_respondents": sales.respondents,
        "marketing_respondents": marketing.respondents,
        "more_positive": MARKETING if marketing.mean > sales.mean else SALES,
    }


def _low_participation(participation: Mapping[str, float | None]) -> list[tuple[Nudge, float]]:
    """§9: a group's figures are only as good as the share who answer.

    Survey fatigue is mostly lack-of-action fatigue (survey practice, not the sources), so the action is to
    explain the pulse and close the loop ("you said, we did"). Per department: that names who to talk to.
    """
    found = []
    for group in DEPARTMENTS:
        share = participation.get(group)
        if share is None or not _below(share, LOW_SHARE):
            continue
        nudge = Nudge(
            key=f"participation:{group}",
            kind=LOW_PARTICIPATION,
            action=EXPLAIN_AND_ACT,
            evidence={"group": group, "share": share},
            audience=LEADERS,
            priority=PRIORITY[LOW_PARTICIPATION],
        )
        found.append((nudge, LOW_SHARE - share))
    return found


def _stage_drop(history: Sequence[WeekSnapshot]) -> list[tuple[Nudge, float]]:
    """§2: companies usually move up the stages; a settled stage that fell needs a look at what changed.

    The settled stage moves only when the interval clears a band boundary, so a drop is not noise.
    """
    back = min(DROP_WEEKS, len(history) - 1)
    then, now = history[-1 - back], history[-1]
    if then.stage is None or now.stage is None or STAGES.index(now.stage) >= STAGES.index(then.stage):
        return []
    nudge = Nudge(
        key=STAGE_DROP,
        kind=STAGE_DROP,
        action=REVIEW_WHAT_CHANGED,
        evidence={"previous_stage": then.stage, "stage": now.stage, "weeks": back},
        audience=LEADERS,
        priority=PRIORITY[STAGE_DROP],
    )
    return [(nudge, 0.0)]


def _next_step(current: WeekSnapshot, quiet: Collection[str]) -> Nudge | None:
    """§3: this week's step of the playbook from the current stage; nothing while the stage is unknown.

    Steps rotate by the week's number, so consecutive digests suggest different ones; a step leaders
    acted on or snoozed gives way to the next in the rotation.
    """
    if current.stage is None:
        return None
    steps = PLAYBOOK[current.stage]
    start = current.week.toordinal() // 7 % len(steps)
    evidence: dict[str, float | int | str] = {
        "stage": current.stage,
        "target_stage": target_stage(current.stage),
    }
    composite = current.results.composites.get(EVERYONE)
    if composite is not None and not composite.withheld:
        evidence["score"] = composite.score
    for offset in range(len(steps)):
        action = steps[(start + offset) % len(steps)]
        key = f"{NEXT_STAGE}:{action}"
        if key not in quiet:
            return Nudge(
                key=key,
                kind=NEXT_STAGE,
                action=action,
                evidence=evidence,
                audience=BOTH_TEAMS,
                priority=PRIORITY[NEXT_STAGE],
            )
    return None


def _no_useful_meeting(days: int | None) -> list[tuple[Nudge, float]]:
    """§4 factor 2 and §5: joint meetings on a rhythm, centred on joint work; useful ones count (Kahn)."""
    if days is None or days <= MEETING_DAYS:
        return []
    nudge = Nudge(
        key=NO_USEFUL_MEETING,
        kind=NO_USEFUL_MEETING,
        action=HOLD_USEFUL_JOINT_MEETING,
        evidence={"days": days},
        audience=LEADERS,
        priority=PRIORITY[NO_USEFUL_MEETING],
    )
    return [(nudge, 0.0)]


def _covered_gaps_left_out(
    ranked: list[tuple[Nudge, float]], combined: list[tuple[Nudge, float]], dimension_of: Mapping[str, str]
) -> list[tuple[Nudge, float]]:
    """A nudge setting the CRM's figure beside a statement says all a wide gap on that statement (or
    its dimension) would say, and more: that gap's nudge gives way to it."""
    items = {nudge.evidence["item"] for nudge, _strength in combined}
    topics = items | {dimension_of.get(str(item), str(item)) for item in items}
    kept = [
        (nudge, strength)
        for nudge, strength in ranked
        if nudge.kind != WIDE_GAP
        or not {nudge.evidence.get("item"), nudge.evidence.get("dimension")} & topics
    ]
    return kept + combined


def _pipeline_figure(section: PipelineSection, name: str) -> tuple[str, PipelineFigure] | None:
    """The CRM figure `name` of the last full quarter, else of the last full week: the first shown
    (a figure from too few records or owners is withheld, and so never evidence)."""
    line = next((line for line in section.lines if line.name == name), None)
    if line is None:
        return None
    for period, figure in ((section.quarter, line.quarter), (section.week, line.week)):
        if figure.value is not None and not figure.withheld:
            return period, figure
    return None


def _lead_definition(history: Sequence[WeekSnapshot], section: PipelineSection) -> list[tuple[Nudge, float]]:
    """§3 Undefined → Defined, from both sides: sales reject a growing share of marketing's leads while
    the teams' views of what a good lead is move apart. The fix is one lead definition, agreed together.

    Evidence only from figures that are shown: the rejection share from enough MQLs and owners in both
    periods, and a statement's gap only where both teams' ratings clear the anonymity threshold now and
    DROP_WEEKS weeks before."""
    found = _pipeline_figure(section, MQL_REJECTED)
    if found is None:
        return []
    period, figure = found
    change = figure.change
    if change is None or _below(change, REJECTION_RISE):
        return []
    back = min(DROP_WEEKS, len(history) - 1)
    now, then = history[-1].results, history[-1 - back].results
    widening = []
    for item in LEAD_STATEMENTS:
        gap_now, gap_then = now.item_gaps.get(item), then.item_gaps.get(item)
        if back and gap_now is not None and gap_then is not None:
            growth = abs(gap_now) - abs(gap_then)
            if not _below(growth, GAP_WIDENING):
                widening.append((growth, item, abs(gap_now), abs(gap_then)))
    if not widening:
        return []
    growth, item, gap, gap_before = max(widening, key=lambda found: (found[0], found[1]))
    nudge = Nudge(
        key=PIPELINE_LEADS,
        kind=PIPELINE_LEADS,
        action=AGREE_LEAD_DEFINITION,
        evidence={
            "item": item,
            **_sides(now.items[SALES, item], now.items[MARKETING, item]),
            "gap": gap,
            "gap_before": gap_before,
            "weeks": back,
            "rejected": figure.value,
            "rejected_before": figure.previous,
            "period": period,
            "records": figure.count,
        },
        audience=BOTH_TEAMS,
        priority=PRIORITY[PIPELINE_LEADS],
    )
    return [(nudge, growth)]


def _forecast_trust(results: Results, section: PipelineSection) -> list[tuple[Nudge, float]]:
    """The forecast lands close to the actual, yet a team rates "our actual sales usually land close to
    the forecast" low: the problem is trust, not accuracy, and trust grows from reviewing the forecast
    together each week (§5 joint activities: forecasting together). Both teams' ratings must be shown."""
    found = _pipeline_figure(section, FORECAST_ACCURACY)
    if found is None:
        return []
    period, figure = found
    sales = results.items.get((SALES, FORECAST_STATEMENT))
    marketing = results.items.get((MARKETING, FORECAST_STATEMENT))
    if figure.value is None or _below(figure.value, ACCURATE) or sales is None or marketing is None:
        return []
    if sales.withheld or marketing.withheld or sales.mean is None or marketing.mean is None:
        return []
    lowest = min(sales.mean, marketing.mean)
    if _above(lowest, LOW_RATING):
        return []
    nudge = Nudge(
        key=PIPELINE_FORECAST,
        kind=PIPELINE_FORECAST,
        action=REVIEW_FORECAST_TOGETHER,
        evidence={
            "item": FORECAST_STATEMENT,
            **_sides(sales, marketing),
            "accuracy": figure.value,
            "period": period,
        },
        audience=BOTH_TEAMS,
        priority=PRIORITY[PIPELINE_FORECAST],
    )
    return [(nudge, LOW_RATING - lowest)]
