"""PostgreSQL connections the server dropped while they sat in the pool are not handed out."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import storage.db
from storage.db import Database, scratch_postgres_database
from tests.conversation import DATABASES, POSTGRES_URL

pytestmark = pytest.mark.skipif("postgresql" not in DATABASES, reason="PostgreSQL only")


def backend_pid(database: Database) -> int:
    with database.session() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


@pytest.mark.parametrize("idle_seconds", [0.0, 3600.0])
def test_a_connection_the_server_ended_is_replaced_before_use_once_idle_long_enough(
    monkeypatch, idle_seconds
):
    monkeypatch.setattr(storage.db, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    with scratch_postgres_database(POSTGRES_URL, prefix="alignbot_test") as url:
        database = Database(url)
        try:
            ended = backend_pid(database)
            other = Database(url)
            with other.engine.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended})
            other.dispose()
            if idle_seconds:  # not idle long enough to be pinged: its next transaction fails, once
                with pytest.raises(DBAPIError):
                    backend_pid(database)
            assert backend_pid(database) != ended
        finally:
            database.dispose()
