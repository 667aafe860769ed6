"""`/healthz` answers from the database."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


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
