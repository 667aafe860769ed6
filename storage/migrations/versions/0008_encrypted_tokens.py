"""Slack tokens are stored encrypted (see storage/secrets.py): their columns become text, since an
encrypted token is longer than the 200 characters slack_sdk's tables allow. Tokens stored before stay
readable and are encrypted by `alignbot secrets rotate`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKEN_COLUMNS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


def upgrade() -> None:
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
                )


def downgrade() -> None:
    """Back to slack_sdk's 200 characters, which an encrypted token exceeds: PostgreSQL refuses while one
    is stored (the version before this one could not read it anyway)."""
    for table, columns in TOKEN_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
                )
