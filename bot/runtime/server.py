"""HTTP mode, served by waitress: Slack's requests at /slack/events; /healthz (liveness),
/readyz (readiness) and /metrics (Prometheus) for the platform running the bot, which Socket Mode
serves alone (`probes_app`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from waitress.server import create_server

from bot.runtime.edge import MAX_BODY_BYTES, Refused, SlackDoor
from bot.runtime.metrics import Metrics
from storage.db import Database

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
#: Open connections served at once. waitress reads requests on its event loop and gives a thread only
#: a complete request, so idle or half-sent connections cost a socket each, not a thread; its default
#: of 100 let 150 idle sockets stop the bot accepting Slack's requests and the probes.
CONNECTION_LIMIT = 2000
#: A connection silent this long is closed (waitress's default is 120 s): idle clients go quickly.
IDLE_TIMEOUT_SECONDS = 15
#: How often idle connections are looked for.
CLEANUP_INTERVAL_SECONDS = 5
#: Threads serving Slack's requests: waitress's own default. A tap is answered in its request's thread
#: without waiting for another (`bot.runtime.app`), so a request holds a thread only for its own CPU, and
#: more threads only took the interpreter from the listeners storing the taps: 50 people tapping at once
#: had 0.71-0.76 times the floor's taps processed a second with 16 threads, 0.95-0.98 with 4.
REQUEST_THREADS = 4
#: The platform's paths: liveness, readiness, Prometheus metrics.
PROBES = ("/healthz", "/readyz", "/metrics")
#: Whether this process should get traffic, and the details /readyz shows either way.
Readiness = Callable[[], tuple[bool, dict]]


def wsgi_app(
    app: App, signing_secret: str, database: Database, metrics: Metrics, readiness: Readiness
) -> WSGIApp:
    """Every request to /slack/events passes the door, which verifies its signature with `signing_secret`
    (Bolt does not verify it again); the rest (OAuth pages) is Bolt's own handler's."""
    slack = SlackRequestHandler(app, path="/slack/events")
    door = SlackDoor(signing_secret)

    probes = probes_app(database, metrics, readiness)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path in PROBES:
            return probes(environ, start_response)
        if path == "/slack/events" and environ.get("REQUEST_METHOD") == "POST":
            return _slack_events(app, door, metrics, environ, start_response)
        return slack(environ, start_response)

    return application


def probes_app(database: Database, metrics: Metrics, readiness: Readiness) -> WSGIApp:
    """/healthz, /readyz and /metrics alone: all that is served in Socket Mode, and part of HTTP mode."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return _health(database, start_response)
        if path == "/readyz":
            return _ready(readiness, start_response)
        if path == "/metrics":
            return _respond(start_response, "200 OK", metrics.exposition(), CONTENT_TYPE_LATEST)
        return _respond(start_response, "404 Not Found", b"", "text/plain")

    return application


def _slack_events(
    app: App, door: SlackDoor, metrics: Metrics, environ: dict, start_response: Callable
) -> Iterable[bytes]:
    """Bolt answers once the listener has called `ack()`: the time to here is the ack latency.
    A request the door refuses never reaches Bolt and is logged in one line, without its body."""
    started = time.perf_counter()
    try:
        request = door.admit(environ)
    except Refused as refusal:
        logger.warning("Slack request refused with %d: %s", refusal.status, refusal.reason)
        status = HTTPStatus(refusal.status)
        metrics.observe_request("other", status, time.perf_counter() - started)
        return _respond(start_response, f"{status.value} {status.phrase}", b"", "text/plain")
    answer = app.dispatch(request)
    response = WsgiHttpResponse(status=answer.status, headers=answer.headers, body=answer.body)
    start_response(response.status, response.get_headers())
    kind = admitted_kind(request.body)  # parsed once, by Bolt (a tap's body is a few KiB of blocks)
    metrics.observe_request(kind, answer.status, time.perf_counter() - started)
    return response.get_body()


def admitted_kind(body: dict) -> str:
    """`request_kind` of a request the door admitted, from the body Bolt parsed."""
    return "slash_command" if "command" in body else str(body.get("type"))


def request_kind(body: bytes, content_type: str) -> str:
    """What Slack sent: a slash command, an interaction's payload type or an Events API type."""
    try:
        if content_type.startswith("application/json"):
            return str(json.loads(body).get("type"))
        form = parse_qs(body.decode())
        if "command" in form:
            return "slash_command"
        return str(json.loads(form["payload"][0]).get("type"))
    except (ValueError, KeyError, AttributeError, RecursionError):
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
    signing_secret: str,
    database: Database,
    metrics: Metrics,
    readiness: Readiness,
    host: str = "127.0.0.1",
    port: int = 3000,
    threads: int = REQUEST_THREADS,
):
    """A waitress server (call `.run()`, `.close()`); port 0 picks a free port, see `.effective_port`."""
    return waitress_server(wsgi_app(app, signing_secret, database, metrics, readiness), host, port, threads)


def waitress_server(application: WSGIApp, host: str, port: int, threads: int = REQUEST_THREADS):
    """`application` served by waitress with the limits above (see `create_http_server`)."""
    return create_server(
        application,
        host=host,
        port=port,
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_TIMEOUT_SECONDS,
        cleanup_interval=CLEANUP_INTERVAL_SECONDS,
        ident="alignbot",
        max_request_body_size=MAX_BODY_BYTES,  # waitress answers 413 itself, before reading the body
    )
