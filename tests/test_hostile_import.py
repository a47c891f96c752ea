"""Hostile link lists: what a careless (or hostile) file can do to the import, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.link_lists import good_rows, import_links, snapshot, to_csv


@pytest.mark.parametrize("column", [0, 1, 2, 3, 6, 8])
def test_nul_in_a_cell_is_a_problem_row_not_a_crash(session: Any, column: int) -> None:
    """PostgreSQL text cannot hold NUL: a cell with one crashed the import (DataError) instead of naming the row."""
    rows = good_rows()
    rows[1][column] = f"{rows[1][column]}\x00x"
    before = snapshot(session)
    plan = import_links(session, to_csv(rows))
    assert not plan.ok
    assert any(p.row == 3 and "NUL" in p.message for p in plan.problems), plan.problems
    assert snapshot(session) == before
