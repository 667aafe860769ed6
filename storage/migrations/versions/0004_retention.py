"""Retention: a round's answers can expire, leaving per-statement counts behind.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "round_aggregates",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pulse_rounds.id"],
            name=op.f("fk_round_aggregates_round_id_pulse_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "department", "item_id", name=op.f("pk_round_aggregates")),
    )
    with op.batch_alter_table("round_aggregates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_aggregates_team_id"), ["team_id"], unique=False)
    with op.batch_alter_table("pulse_rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pulse_rounds", schema=None) as batch_op:
        batch_op.drop_column("expired_at")
    with op.batch_alter_table("round_aggregates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_aggregates_team_id"))
    op.drop_table("round_aggregates")
