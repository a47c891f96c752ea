"""group links: a cadre for a 村民小组 (包组联户, issue 15 item 6)

Revision ID: 0007_group_links
Revises: 0006_office_remarks
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = '0007_group_links'
down_revision: str | None = '0006_office_remarks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('villager_group', schema=None) as batch:
        batch.add_column(sa.Column('cadre_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('cadre_linked_at', storage.timestamps.UTCDateTime(), nullable=True))
        batch.create_index(batch.f('ix_villager_group_cadre_id'), ['cadre_id'], unique=False)
        batch.create_foreign_key(batch.f('fk_villager_group_cadre_id_cadre'), 'cadre', ['cadre_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('villager_group', schema=None) as batch:
        batch.drop_constraint(batch.f('fk_villager_group_cadre_id_cadre'), type_='foreignkey')
        batch.drop_index(batch.f('ix_villager_group_cadre_id'))
        batch.drop_column('cadre_linked_at')
        batch.drop_column('cadre_id')
