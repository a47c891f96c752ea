"""the office's month: published circulars, leave requests and decisions, paper diary entries (补录), offline villager requests

Revision ID: 0004_office_month
Revises: 0005_voice_kept
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0004_office_month"
down_revision: str | None = "0005_voice_kept"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("format", sa.String(length=5), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("published_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_report")),
        sa.UniqueConstraint("kind", "period", "format", name=op.f("uq_published_report_kind_period_format")),
    )
    with op.batch_alter_table("cadre_leave", schema=None) as b:
        # Leave entered before this revision was entered by the office: approved.
        b.add_column(sa.Column("status", sa.String(length=10), server_default="approved", nullable=False))
        b.add_column(sa.Column("requested_by", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("requested_at", storage.timestamps.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("decided_by", sa.String(length=100), nullable=True))
        b.add_column(sa.Column("decided_at", storage.timestamps.UTCDateTime(), nullable=True))
    with op.batch_alter_table("diary_entry", schema=None) as b:
        b.add_column(sa.Column("entered_by", sa.String(length=100), nullable=True))
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.add_column(sa.Column("channel", sa.String(length=10), server_default="wechat", nullable=False))
        b.add_column(sa.Column("recorded_by", sa.String(length=100), nullable=True))
        b.alter_column("identity_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Offline requests have no WeChat account to point at; they cannot survive the older schema.
    op.execute("DELETE FROM request_reply WHERE request_id IN (SELECT id FROM villager_request WHERE identity_id IS NULL)")
    op.execute("DELETE FROM villager_request WHERE identity_id IS NULL")
    with op.batch_alter_table("villager_request", schema=None) as b:
        b.alter_column("identity_id", existing_type=sa.Integer(), nullable=False)
        b.drop_column("recorded_by")
        b.drop_column("channel")
    with op.batch_alter_table("diary_entry", schema=None) as b:
        b.drop_column("entered_by")
    # The older schema knows only leave that counts: a request still waiting, or one refused, must not turn
    # into approved leave (no reminders, fewer days owed) by losing its status.
    op.execute("DELETE FROM cadre_leave WHERE status <> 'approved'")
    with op.batch_alter_table("cadre_leave", schema=None) as b:
        b.drop_column("decided_at")
        b.drop_column("decided_by")
        b.drop_column("requested_at")
        b.drop_column("requested_by")
        b.drop_column("status")
    op.drop_table("published_report")
