"""HTTP mode: Slack's requests at /slack/events and a health check, served by waitress."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from storage.db import Database

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def wsgi_app(app: App, database: Database) -> WSGIApp:
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return _health(database, start_response)
        return slack(environ, start_response)

    return application


def _health(database: Database, start_response: Callable) -> Iterable[bytes]:
    try:
        database.ping()
    except Exception as error:  # any failure to answer means unhealthy
        logger.warning("health check failed: %s", error)
        status, body = "503 Service Unavailable", {"status": "error", "database": "unreachable"}
    else:
        status, body = "200 OK", {"status": "ok", "database": database.backend}
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def create_http_server(
    app: App, database: Database, host: str = "127.0.0.1", port: int = 3000, threads: int = 16
):
    """A waitress server (call `.run()`, `.close()`); port 0 picks a free port, see `.effective_port`."""
    return create_server(wsgi_app(app, database), host=host, port=port, threads=threads, ident="alignbot")
