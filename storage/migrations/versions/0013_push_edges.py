"""pushes at the platform's edges: expired and refused outbox rows, a reminder's end (expires_at), and the msgid
WeChat gave a template message (wechat_msgid), by which its TEMPLATESENDJOBFINISH event names it

Revision ID: 0013_push_edges
Revises: 0012_golive
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0013_push_edges"
down_revision: str | None = "0012_golive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status IN ('pending','sending','sent','failed','merged')"
NEW = "status IN ('pending','sending','sent','failed','merged','expired','refused')"


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as b:
        b.add_column(sa.Column("expires_at", storage.timestamps.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("wechat_msgid", sa.String(length=32), nullable=True))
        b.create_index(b.f("ix_outbox_message_wechat_msgid"), ["wechat_msgid"], unique=False)
        b.drop_constraint("outbox_status", type_="check")
        b.create_check_constraint("outbox_status", NEW)


def downgrade() -> None:
    # The old statuses hold no expired or refused row: an expired reminder was never sent (failed says so), a
    # refused push waits for its person (pending, as before the refusal was recognised).
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE outbox_message SET status = 'failed' WHERE status = 'expired'"))
    conn.execute(sa.text("UPDATE outbox_message SET status = 'pending' WHERE status = 'refused'"))
    with op.batch_alter_table("outbox_message", schema=None) as b:
        b.drop_constraint("outbox_status", type_="check")
        b.create_check_constraint("outbox_status", OLD)
        b.drop_index(b.f("ix_outbox_message_wechat_msgid"))
        b.drop_column("wechat_msgid")
        b.drop_column("expires_at")
