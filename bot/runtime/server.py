"""HTTP mode, served by waitress: Slack's requests at /slack/events; /healthz (liveness),
/readyz (readiness) and /metrics (Prometheus) for the platform running the bot."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.runtime.metrics import Metrics
from storage.db import Database

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
#: Whether this process should get traffic, and the details /readyz shows either way.
Readiness = Callable[[], tuple[bool, dict]]


def wsgi_app(app: App, database: Database, metrics: Metrics, readiness: Readiness) -> WSGIApp:
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _health(database, start_response)
        if path == "/readyz":
            return _ready(readiness, start_response)
        if path == "/metrics":
            return _respond(start_response, "200 OK", metrics.exposition(), CONTENT_TYPE_LATEST)
        if path == "/slack/events":
            return _timed(slack, metrics, environ, start_response)
        return slack(environ, start_response)

    return application


def _timed(slack: WSGIApp, metrics: Metrics, environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Bolt answers once the listener has called `ack()`: the time to here is the ack latency."""
    started = time.perf_counter()
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads it again
    statuses: list[int] = []

    def recording_start_response(status: str, headers: list, exc_info=None):
        statuses.append(int(status.split(" ", 1)[0]))
        return start_response(status, headers, exc_info)

    answer = slack(environ, recording_start_response)
    metrics.observe_request(
        request_kind(body, environ.get("CONTENT_TYPE", "")), statuses[0], time.perf_counter() - started
    )
    return answer


def request_kind(body: bytes, content_type: str) -> str:
    """What Slack sent: a slash command, an interaction's payload type or an Events API type."""
    try:
        if content_type.startswith("application/json"):
            return str(json.loads(body).get("type"))
        form = parse_qs(body.decode())
        if "command" in form:
            return "slash_command"
        return str(json.loads(form["payload"][0]).get("type"))
    except (ValueError, KeyError, AttributeError):
        return "other"


def _health(database: Database, start_response: Callable) -> Iterable[bytes]:
    try:
        database.ping()
    except Exception as error:  # any failure to answer means unhealthy
        logger.warning("health check failed: %s", error)
        status, body = "503 Service Unavailable", {"status": "error", "database": "unreachable"}
    else:
        status, body = "200 OK", {"status": "ok", "database": database.backend}
    return _respond(start_response, status, json.dumps(body).encode())


def _ready(readiness: Readiness, start_response: Callable) -> Iterable[bytes]:
    ready, details = readiness()
    status, body = (
        ("200 OK", {"status": "ready"}) if ready else ("503 Service Unavailable", {"status": "not ready"})
    )
    return _respond(start_response, status, json.dumps(body | details).encode())


def _respond(
    start_response: Callable, status: str, payload: bytes, content_type: str = "application/json"
) -> Iterable[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(payload)))])
    return [payload]


def create_http_server(
    app: App,
    database: Database,
    metrics: Metrics,
    readiness: Readiness,
    host: str = "127.0.0.1",
    port: int = 3000,
    threads: int = 16,
):
    """A waitress server (call `.run()`, `.close()`); port 0 picks a free port, see `.effective_port`."""
    return create_server(
        wsgi_app(app, database, metrics, readiness), host=host, port=port, threads=threads, ident="alignbot"
    )
