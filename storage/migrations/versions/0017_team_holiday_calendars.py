"""A pulse's public-holiday calendars per team: sales in Tehran and marketing in Berlin each skip their
own holidays. Existing pulses keep the pulse's calendars for everyone.

Revision ID: 0017
Revises: 0013
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("team_holiday_calendars", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("cadences", schema=None) as batch_op:
        batch_op.drop_column("team_holiday_calendars")
