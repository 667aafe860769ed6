"""Rollups: each closed round's answers in a row per person, which the digest reads instead.

The rounds closed before it are rolled up once the upgrade reaches head (`storage.migrate`), with
the code that rolls up every close: not here, where that code would meet this revision's schema.

Revision ID: 0014
Revises: 0017
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_people",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pulse_rounds.id"],
            name=op.f("fk_rollup_people_round_id_pulse_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "user_id", "department", name=op.f("pk_rollup_people")),
    )
    with op.batch_alter_table("rollup_people", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_people_team_user", ["team_id", "user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rollup_people", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_people_team_user")
    op.drop_table("rollup_people")
