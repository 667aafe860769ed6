"""Action items: what a leader took on from a nudge, its owner, due date and status; and who
confirms that a joint meeting took place, and whether it did.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("request_key", sa.String(length=128), nullable=False),
        sa.Column("nudge_key", sa.String(length=96), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=32), nullable=True),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=32), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_action_items_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
        sa.UniqueConstraint("team_id", "request_key", name=op.f("uq_action_items_team_id")),
    )
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index("ix_action_items_team_status", ["team_id", "status"], unique=False)
    with op.batch_alter_table("meeting_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmer", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("held", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("held_confirmed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting_checks", schema=None) as batch_op:
        batch_op.drop_column("held_confirmed_at")
        batch_op.drop_column("held")
        batch_op.drop_column("confirmer")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_action_items_team_status")
    op.drop_table("action_items")
