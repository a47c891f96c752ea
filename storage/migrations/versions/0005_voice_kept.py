"""voice kept: a villager's photo or voice forwarded to the cadre as itself, once (issue 14 item 5)

Revision ID: 0005_voice_kept
Revises: 0003_push_delivery
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = '0005_voice_kept'
down_revision: str | None = '0003_push_delivery'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.add_column(sa.Column('forwarded_at', storage.timestamps.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('forward_note', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.drop_column('forward_note')
        batch.drop_column('forwarded_at')
