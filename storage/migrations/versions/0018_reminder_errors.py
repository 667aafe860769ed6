"""Why a reminder failed, as a DM's failure is kept: so that the reminders no look-up could confirm
are counted on the admins' Home beside the DMs and channel posts.

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pulse_reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pulse_reminders", schema=None) as batch_op:
        batch_op.drop_column("error")
