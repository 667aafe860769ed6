"""Secrets at rest: values such as Slack's bot and refresh tokens are stored encrypted with Fernet keys
that live only in the environment (ALIGNBOT_SECRET_KEYS), so the database file, a dump of it or an
`alignbot db backup` reveals none of them.

A column holding a secret is declared `EncryptedString()`; an engine gets its keys from `use_keys`. The
first key encrypts, any of them decrypts (`MultiFernet`), which is how a key is rotated: put the new one
first, run `alignbot secrets rotate` (`rotate_all`), then drop the old one. A stored value says it is
encrypted by its prefix; one without the prefix was stored before there was a key, is read as it is,
and is encrypted by the next rotation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    Table,
    Text,
    select,
    type_coerce,
    update,
)
from sqlalchemy.types import TypeDecorator

#: What an encrypted value starts with: the rest is a Fernet token.
SEALED = "fernet:"


class SecretsError(Exception):
    """Stored secrets cannot be read with the keys given (or without any); the message says why."""


class SecretBox:
    """Fernet keys, newest first: the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[str]) -> None:
        # Here, not at import: a bot without ALIGNBOT_SECRET_KEYS never loads cryptography (8 MB).
        from cryptography.fernet import Fernet, MultiFernet

        if not keys:
            raise ValueError("at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @staticmethod
    def new_key() -> str:
        from cryptography.fernet import Fernet  # see __init__

        return Fernet.generate_key().decode()

    def seal(self, value: str) -> str:
        return SEALED + self._fernet.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        """The value a stored one holds (one stored without a key is returned as it is)."""
        from cryptography.fernet import InvalidToken  # see __init__

        if not stored.startswith(SEALED):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED).encode()).decode()
        except InvalidToken:
            raise SecretsError("none of the keys decrypts the secrets stored in the database") from None

    def reseal(self, stored: str) -> str:
        """The same value encrypted with the first key."""
        return self.seal(self.open(stored))


class EncryptedString(TypeDecorator[str]):
    """Text encrypted with the keys of the engine it is written and read through (see `use_keys`).
    Without keys a value is stored as it is, and an encrypted one cannot be read; a value already
    encrypted (restored from a backup) is stored unchanged."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        box = _box_of(dialect)
        if value is None or box is None or value.startswith(SEALED):
            return value
        return box.seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(SEALED):
            return value
        box = _box_of(dialect)
        if box is None:
            raise SecretsError("the database holds encrypted secrets, and no key was given to read them")
        return box.open(value)


def use_keys(engine: Engine, box: SecretBox | None) -> None:
    """Encrypt and decrypt the secret columns read and written through `engine` with `box`'s keys."""
    engine.dialect.alignbot_secret_box = box


def _box_of(dialect: Dialect) -> SecretBox | None:
    return getattr(dialect, "alignbot_secret_box", None)


def encrypt_columns(table: Table, *names: str) -> Table:
    """Declare columns of a table built elsewhere (slack_sdk's) as holding secrets."""
    for name in names:
        table.c[name].type = EncryptedString()
    return table


def secret_columns(tables: Sequence[Table]) -> Iterator[Column]:
    for table in tables:
        yield from (column for column in table.columns if isinstance(column.type, EncryptedString))


def as_stored(table: Table) -> list[ColumnElement]:
    """A table's columns as the database holds them: its secrets still encrypted (backups)."""
    return [
        type_coerce(column, Text).label(column.name) if isinstance(column.type, EncryptedString) else column
        for column in table.columns
    ]


def stored_secrets(
    connection: Connection, tables: Sequence[Table], for_update: bool = False
) -> Iterator[tuple[Column, object, str]]:
    """Every secret stored in `tables`, as stored: (its column, its row's primary key, its value)."""
    for column in secret_columns(tables):
        [key] = column.table.primary_key.columns
        query = select(key, type_coerce(column, Text)).where(column.is_not(None))
        rows = connection.execute(query.with_for_update() if for_update else query).all()
        yield from ((column, row[0], row[1]) for row in rows)


def check_readable(engine: Engine, tables: Sequence[Table], box: SecretBox | None) -> int:
    """Raise `SecretsError` unless every stored secret can be read with `box` (or, without keys, none is
    encrypted); the number stored unencrypted."""
    unencrypted = 0
    with engine.connect() as connection:
        for _column, _key, value in stored_secrets(connection, tables):
            if not value.startswith(SEALED):
                unencrypted += 1
            elif box is None:
                raise SecretsError("the database holds encrypted secrets, and no key was given to read them")
            else:
                box.open(value)
    return unencrypted


def rotate_all(engine: Engine, tables: Sequence[Table], box: SecretBox) -> int:
    """Encrypt every stored secret with the first key (those stored unencrypted too), in one transaction
    that holds their rows, so a token refreshed meanwhile is not overwritten; the number rewritten."""
    with engine.begin() as connection:
        resealed = [
            (column, key, box.reseal(value))
            for column, key, value in stored_secrets(connection, tables, for_update=True)
        ]
        for column, key, value in resealed:
            [key_column] = column.table.primary_key.columns
            connection.execute(
                update(column.table).where(key_column == key).values({column.name: type_coerce(value, Text)})
            )
    return len(resealed)
