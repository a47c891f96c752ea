"""go-live: one signed /wechat query per message (wechat_signed_query), how each message came (inbound_message.
transport) and the faults of signed requests we could not read (wechat_edge_fault), for `lianxin wechat check`
(issue 21 item 5, issue 22 item 2); the console's print orders (print_order: cards whose QR codes are made in the
background, a print page that survives a reload; issue 22 item 4)

Revision ID: 0012_golive
Revises: 0011_console_sessions
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0012_golive"
down_revision: str | None = "0011_console_sessions"
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
    op.create_table(
        "print_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=True),
        sa.Column("village", sa.String(length=100), nullable=True),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("made", sa.Integer(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("created_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('cards','listing')", name=op.f("ck_print_order_kind")),
        sa.CheckConstraint("status IN ('pending','running','done')", name=op.f("ck_print_order_status")),
        sa.ForeignKeyConstraint(["township_id"], ["township.id"], name=op.f("fk_print_order_township_id_township")),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"], name=op.f("fk_print_order_user_id_console_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_order")),
        sa.UniqueConstraint("token", name=op.f("uq_print_order_token")),
    )
    op.create_index(op.f("ix_print_order_user_id"), "print_order", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_print_order_user_id"), table_name="print_order")
    op.drop_table("print_order")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("transport")
    op.drop_table("wechat_edge_fault")
    op.drop_index(op.f("ix_wechat_signed_query_expires_at"), table_name="wechat_signed_query")
    op.drop_table("wechat_signed_query")
