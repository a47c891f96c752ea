"""The schema as migrated matches the models, and the basic constraints hold."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from storage.models import Base, Link
from tests.factories import Factory


def test_migrations_match_models(lx):
    with lx.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ; run python -m storage.regen_migration: {diff}"


def test_one_cadre_per_household(session):
    f = Factory(session)
    a, b = f.cadre(), f.cadre()
    h = f.household(a)
    session.commit()
    session.add(Link(household_id=h.id, cadre_id=b.id))
    with pytest.raises(IntegrityError):
        session.flush()
