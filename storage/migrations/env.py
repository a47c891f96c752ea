"""Alembic environment: the URL and (optionally) a live connection come from storage.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.db import make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _migrate(conn: Connection) -> None:
    """Run the revisions on ``conn``. On SQLite, ``render_as_batch`` changes a column by copying the table and
    dropping the old one, which foreign keys (switched on by storage.db) refuse while other rows point at it —
    so an existing database with data could not be upgraded. Checks are off during the migration (the PRAGMA
    only works outside a transaction) and every reference is verified before the revisions commit."""
    sqlite = conn.dialect.name == "sqlite"
    driver = conn.connection.driver_connection  # the sqlite3 connection (a live connection always has one)
    assert driver is not None
    if sqlite:  # on the driver's connection: storage.db makes every SQLAlchemy transaction an explicit BEGIN
        driver.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows pointing at nothing: {broken[:5]}")
    finally:
        if sqlite:
            driver.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _migrate(conn)
    finally:  # a refused upgrade too: else its pooled connection lingers until the garbage collector finds it
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
