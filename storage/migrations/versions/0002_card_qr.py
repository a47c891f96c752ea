"""service cards' permanent QR codes; how a villager's account was linked

Revision ID: 0002_card_qr
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = '0002_card_qr'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('service_card', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qr_scene', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('qr_ticket', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('qr_url', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('qr_created_at', storage.timestamps.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_service_card_qr_scene'), ['qr_scene'])
    with op.batch_alter_table('wechat_identity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bound_via', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('wechat_identity', schema=None) as batch_op:
        batch_op.drop_column('bound_via')
    with op.batch_alter_table('service_card', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_service_card_qr_scene'), type_='unique')
        batch_op.drop_column('qr_created_at')
        batch_op.drop_column('qr_url')
        batch_op.drop_column('qr_ticket')
        batch_op.drop_column('qr_scene')
