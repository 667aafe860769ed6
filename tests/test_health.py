"""`/healthz` answers from the database, and no crowd of idle clients keeps Slack or the probes out."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

from bot.runtime.server import CLEANUP_INTERVAL_SECONDS, IDLE_TIMEOUT_SECONDS
from bot.sandbox.workspace import OWNER


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_healthy_when_the_database_answers(bot):
    status, body = get(bot.url + "/healthz")
    assert status == 200
    assert body == {"status": "ok", "database": bot.database.backend}


def test_unhealthy_when_the_database_does_not(bot, monkeypatch):
    def unreachable():
        raise ConnectionError("database went away")

    monkeypatch.setattr(bot.database, "ping", unreachable)
    status, body = get(bot.url + "/healthz")
    assert status == 503
    assert body["status"] == "error"


def test_idle_and_half_sent_connections_starve_neither_slack_nor_the_probes(bot, driver):
    """150 clients that connect and then send nothing, or only a request line, or a request whose body
    never comes: a signed command is still acknowledged within Slack's 3 s, `/healthz` within 1 s."""
    host, port = bot.url.removeprefix("http://").split(":")
    idle = []
    try:
        for number in range(150):
            sock = socket.create_connection((host, int(port)), timeout=5)
            if number % 3 == 1:
                sock.sendall(b"POST /slack/events HTTP/1.1\r\n")
            elif number % 3 == 2:
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nab")
            idle.append(sock)
        started = time.monotonic()
        status, _ = get(bot.url + "/healthz")
        assert status == 200 and time.monotonic() - started < 1
        started = time.monotonic()
        response = driver.slash_command(OWNER, "help")
        assert response.status == 200 and time.monotonic() - started < 3
        assert bot.wait_idle()
    finally:
        for sock in idle:
            sock.close()


def test_a_silent_connection_is_closed_after_the_idle_timeout(bot):
    host, port = bot.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=IDLE_TIMEOUT_SECONDS * 3) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nab")
        started = time.monotonic()
        while sock.recv(1024):  # waitress closes it (after answering, if it answers at all)
            pass
        assert time.monotonic() - started < IDLE_TIMEOUT_SECONDS + 2 * CLEANUP_INTERVAL_SECONDS
