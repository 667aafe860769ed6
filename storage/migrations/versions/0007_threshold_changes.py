"""The anonymity threshold's history, so a change applies from the next snapshot of the figures;
each workspace set up already starts it with the threshold it has.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "threshold_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("old_threshold", sa.Integer(), nullable=True),
        sa.Column("new_threshold", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["workspaces.team_id"],
            name=op.f("fk_threshold_changes_team_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threshold_changes")),
    )
    with op.batch_alter_table("threshold_changes", schema=None) as batch_op:
        batch_op.create_index("ix_threshold_changes_team_changed", ["team_id", "changed_at"], unique=False)
    op.execute(
        "INSERT INTO threshold_changes (team_id, old_threshold, new_threshold, changed_by, changed_at) "
        "SELECT team_id, NULL, anonymity_threshold, configured_by, configured_at FROM workspaces"
    )


def downgrade() -> None:
    with op.batch_alter_table("threshold_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_threshold_changes_team_changed")
    op.drop_table("threshold_changes")
