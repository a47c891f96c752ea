"""The schema as migrated matches the models, and the basic constraints hold."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from storage.models import Base, Link
from tests.support.factories import Factory


def _ours(obj, name, type_, reflected, compare_to):
    # APScheduler creates and owns its job-store table (reminders.scheduler), outside our migrations.
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table != "apscheduler_jobs"


def test_migrations_match_models(lx):
    with lx.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; run python -m storage.regen_migration: {diff}"


def test_one_cadre_per_household(session):
    f = Factory(session)
    a, b = f.cadre(), f.cadre()
    h = f.household(a)
    session.commit()
    session.add(Link(household_id=h.id, cadre_id=b.id))
    with pytest.raises(IntegrityError):
        session.flush()
