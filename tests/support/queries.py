"""Small row counts the tests assert on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select


def count_rows(lx: Any, model: Any, *where: Any) -> int:
    """Rows of ``model`` matching ``where``, in a session of its own."""
    with lx.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def count_in(session: Any, model: Any, *where: Any) -> int:
    """Rows of ``model`` matching ``where``, in the caller's session (sees its uncommitted rows)."""
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0
