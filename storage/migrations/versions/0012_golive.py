"""go-live: one signed /wechat query per message (wechat_signed_query), how each message came (inbound_message.
transport) and the faults of signed requests we could not read (wechat_edge_fault), for `lianxin wechat check`
(issue 21 item 5, issue 22 item 2)

Revision ID: 0012_golive
Revises: 0009_township_circulars
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0012_golive"
down_revision: str | None = "0009_township_circulars"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wechat_signed_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_hash", sa.String(length=64), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_signed_query")),
        sa.UniqueConstraint("query_hash", name=op.f("uq_wechat_signed_query_query_hash")),
    )
    op.create_index(op.f("ix_wechat_signed_query_expires_at"), "wechat_signed_query", ["expires_at"], unique=False)
    op.create_table(
        "wechat_edge_fault",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("first_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("last_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_wechat_edge_fault")),
    )
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("transport", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("transport")
    op.drop_table("wechat_edge_fault")
    op.drop_index(op.f("ix_wechat_signed_query_expires_at"), table_name="wechat_signed_query")
    op.drop_table("wechat_signed_query")
