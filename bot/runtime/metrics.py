"""Prometheus metrics, served at /metrics.

Each runtime has a registry of its own rather than the library's global one, so several
runtimes in one process (the tests) keep separate counts. Label values come from a fixed set
(never from a request as sent), so nobody can grow the series by sending odd requests.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.jobs.digests import DigestRunner
from bot.jobs.pulse_rounds import RunReport

#: What Slack sends to /slack/events: slash commands, the interaction payload types, Events API types.
REQUEST_KINDS = frozenset(
    {
        "slash_command",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "event_callback",
        "url_verification",
        "app_rate_limited",
    }
)
#: Slack wants an answer within 3 s.
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
LAG_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "alignbot_slack_requests",
            "Requests from Slack (at /slack/events, or over Socket Mode), by kind and HTTP status.",
            ["kind", "status"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "alignbot_slack_ack_seconds",
            "Time from receiving a request from Slack to answering it (Slack allows 3 s), by kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.api_calls = Counter(
            "alignbot_slack_api_calls",
            "Slack Web API attempts by method and outcome: ok, error (Slack said no, or no answer) or 429.",
            ["method", "outcome"],
            registry=registry,
        )
        self.api_retries = Counter(
            "alignbot_slack_api_retries",
            "Slack Web API attempts that repeated an earlier one (after a 429, a 5xx or a lost connection).",
            ["method"],
            registry=registry,
        )
        self.rounds = Counter(
            "alignbot_pulse_rounds",
            "Pulse rounds the scheduler started, skipped (missed or skipped by an admin) and closed.",
            ["event"],
            registry=registry,
        )
        self.deliveries = Counter(
            "alignbot_pulse_deliveries",
            "Pulse messages the scheduler delivered, by outcome: sent, failed, or unconfirmed (Slack may"
            " have it but no look-up could say: reported, never sent twice).",
            ["outcome"],
            registry=registry,
        )
        self.reminders = Counter("alignbot_pulse_reminders", "Pulse reminders sent.", registry=registry)
        self.digests = Counter(
            "alignbot_digest_posts", "Leadership digest posts the scheduler sent.", registry=registry
        )
        self.runs = Counter(
            "alignbot_scheduler_runs",
            "Scheduled runner passes by runner and outcome: ok or error.",
            ["runner", "outcome"],
            registry=registry,
        )
        self.scheduler_lag = Histogram(
            "alignbot_scheduler_lag_seconds",
            "How long after its due time a scheduled run started.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.leader = Gauge(
            "alignbot_scheduler_leader", "1 while this process runs the scheduler, else 0.", registry=registry
        )
        self.taps_waiting = Gauge(
            "alignbot_taps_waiting",
            "Rating taps waiting for the batch of taps being stored to end, to be stored together next.",
            registry=registry,
        )

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)

    def observe_request(self, kind: str, status: int, seconds: float) -> None:
        kind = kind if kind in REQUEST_KINDS else "other"
        self.requests.labels(kind, str(status)).inc()
        self.ack_seconds.labels(kind).observe(seconds)

    def observe_lag(self, seconds: float) -> None:
        self.scheduler_lag.observe(seconds)

    def observe_run(self, runner: object, result: object) -> None:
        """One scheduled pass of a runner; `result` is what its `run_due()` returned, None if it raised."""
        self.runs.labels(type(runner).__name__, "error" if result is None else "ok").inc()
        if isinstance(result, RunReport):
            self.rounds.labels("started").inc(result.rounds_started)
            self.rounds.labels("skipped").inc(result.rounds_skipped)
            self.rounds.labels("closed").inc(result.rounds_closed)
            self.deliveries.labels("sent").inc(result.sent)
            self.deliveries.labels("failed").inc(result.failed)
            self.deliveries.labels("unconfirmed").inc(result.unconfirmed)
            self.reminders.inc(result.reminders)
        elif isinstance(runner, DigestRunner) and isinstance(result, int):
            self.digests.inc(result)

    def observe_drain(self, report: RunReport) -> None:
        """DMs a replica sent or failed while draining the outbox, between scheduled passes."""
        self.deliveries.labels("sent").inc(report.sent)
        self.deliveries.labels("failed").inc(report.failed)

    def api_call_observer(self) -> RetryHandler:
        return _ApiCallObserver(self)

    def observe_api_call(self, method: str, outcome: str, retry: bool) -> None:
        """One Web API attempt: `ok`, `error` or `429`; `retry` when it repeats an earlier one."""
        self.api_calls.labels(method, outcome).inc()
        if retry:
            self.api_retries.labels(method).inc()


class _ApiCallObserver(RetryHandler):
    """Counts every Web API attempt. slack_sdk shows each answer (a 200 too) to the client's retry
    handlers in order until one retries; this one comes first, counts, and never retries itself.
    Bolt copies the handlers into each listener's client, so listeners' calls are counted too."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        if response is None:
            outcome = "error"  # no answer: a dropped connection or a timeout
        elif response.status_code == 429:
            outcome = "429"
        elif response.status_code == 200 and (response.body or {}).get("ok"):
            outcome = "ok"
        else:
            outcome = "error"
        self.metrics.observe_api_call(method, outcome, retry=state.current_attempt > 0)
        return False
