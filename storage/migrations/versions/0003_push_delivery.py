"""push delivery: the customer-service window as WeChat counts it, links to whole messages, held delivery

Revision ID: 0003_push_delivery
Revises: 0002_card_qr
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = '0003_push_delivery'
down_revision: str | None = '0002_card_qr'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('access_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forced_at', storage.timestamps.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('forced_day', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('forced_count', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('wechat_identity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_opened_at', storage.timestamps.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('window_until', storage.timestamps.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('window_quota', sa.Integer(), server_default='0', nullable=False))
    op.create_table('push_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('outbox_id', sa.BigInteger(), nullable=True),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.timestamps.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.timestamps.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_push_link_token_hash'))
    )
    with op.batch_alter_table('push_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_link_outbox_id'), ['outbox_id'], unique=False)
    op.create_table('delivery_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('since', storage.timestamps.UTCDateTime(), nullable=False),
    sa.Column('next_probe_at', storage.timestamps.UTCDateTime(), nullable=False),
    sa.Column('notified', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_hold')),
    sa.UniqueConstraint('scope', name=op.f('uq_delivery_hold_scope'))
    )


def downgrade() -> None:
    op.drop_table('delivery_hold')
    with op.batch_alter_table('push_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_link_outbox_id'))
    op.drop_table('push_link')
    with op.batch_alter_table('wechat_identity', schema=None) as batch_op:
        batch_op.drop_column('window_quota')
        batch_op.drop_column('window_until')
        batch_op.drop_column('window_opened_at')
    with op.batch_alter_table('access_token', schema=None) as batch_op:
        batch_op.drop_column('forced_count')
        batch_op.drop_column('forced_day')
        batch_op.drop_column('forced_at')
