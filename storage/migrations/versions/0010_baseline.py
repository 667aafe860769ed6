"""A cadence's kind: a recurring pulse, or a baseline that asks every scored statement once.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cadences", sa.Column("kind", sa.String(length=16), server_default="pulse", nullable=False))


def downgrade() -> None:
    op.drop_column("cadences", "kind")
