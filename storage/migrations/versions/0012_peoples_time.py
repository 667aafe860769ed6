"""Respecting people's time: a pulse at each person's local time, quiet hours and holiday calendars;
each delivery's own zone, send instant, window and reminder instants; when a meeting's check DM may go;
a person's own holiday calendar and the date they are away until. Existing pulses keep today's behaviour.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("each_persons_time", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("quiet_hours", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("holiday_calendars", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("pulse_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminders_at", sa.JSON(), nullable=True))
    with op.batch_alter_table("meeting_check_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("person_preferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holiday_calendar", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("away_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person_preferences", schema=None) as batch_op:
        batch_op.drop_column("away_until")
        batch_op.drop_column("holiday_calendar")
    with op.batch_alter_table("meeting_check_deliveries", schema=None) as batch_op:
        batch_op.drop_column("due_at")
    with op.batch_alter_table("pulse_deliveries", schema=None) as batch_op:
        batch_op.drop_column("reminders_at")
        batch_op.drop_column("closes_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("timezone")
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.drop_column("holiday_calendars")
        batch_op.drop_column("quiet_hours")
        batch_op.drop_column("each_persons_time")
