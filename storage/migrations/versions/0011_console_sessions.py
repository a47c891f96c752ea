"""console sessions on the server, a shared secret key, and push links that can be revoked and count their views
(issue 21 items 3 and 6, issue 22 item 1)

``console_session``: one row per console login (the cookie holds a random id; its SHA-256 is kept), ended by
logout, a disabled account or a password change. ``app_secret``: the console's session key made at ``lianxin
init`` (every worker reads it). ``push_link`` gains ``revoked_at``, view counts and an index on ``openid`` (links
are revoked per recipient).

Revision ID: 0011_console_sessions
Revises: 0010_bind_codes
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.timestamps

revision: str = "0011_console_sessions"
down_revision: str | None = "0010_bind_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.Column("ended_at", storage.timestamps.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["console_user.id"], name=op.f("fk_console_session_user_id_console_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
        sa.UniqueConstraint("sid_hash", name=op.f("uq_console_session_sid_hash")),
    )
    with op.batch_alter_table("console_session", schema=None) as b:
        b.create_index(b.f("ix_console_session_user_id"), ["user_id"], unique=False)
    op.create_table(
        "app_secret",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", storage.timestamps.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secret")),
    )
    with op.batch_alter_table("push_link", schema=None) as b:
        b.add_column(sa.Column("revoked_at", storage.timestamps.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("views", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("first_viewed_at", storage.timestamps.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("last_viewed_at", storage.timestamps.UTCDateTime(), nullable=True))
        b.add_column(sa.Column("refused_views", sa.Integer(), nullable=False, server_default="0"))
        b.create_index(b.f("ix_push_link_openid"), ["openid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_link", schema=None) as b:
        b.drop_index(b.f("ix_push_link_openid"))
        b.drop_column("refused_views")
        b.drop_column("last_viewed_at")
        b.drop_column("first_viewed_at")
        b.drop_column("views")
        b.drop_column("revoked_at")
    op.drop_table("app_secret")
    with op.batch_alter_table("console_session", schema=None) as b:
        b.drop_index(b.f("ix_console_session_user_id"))
    op.drop_table("console_session")
