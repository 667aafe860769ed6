"""Alembic environment: always runs on the connection `storage.migrate` hands it."""

from alembic import context

from storage.models import Base, UTCDateTime

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `alignbot db upgrade` (storage.migrate.upgrade)")


def render_item(kind, obj, autogen_context):
    """New migrations write our UTC column type as the plain timezone-aware DateTime it stores."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
