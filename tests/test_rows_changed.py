"""storage.db.rows_changed: the one place an UPDATE's or DELETE's count is read (typed; a SELECT is refused)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update

from storage.db import rows_changed
from storage.models import Township


def test_rows_changed_counts_what_an_update_or_delete_matched_and_refuses_a_select(session: Any) -> None:
    session.add_all([Township(name="甲镇"), Township(name="乙镇"), Township(name="丙镇")])
    session.flush()
    renamed = update(Township).where(Township.name.in_(["甲镇", "乙镇"])).values(name=Township.name + "1")
    assert rows_changed(session.execute(renamed.execution_options(synchronize_session=False))) == 2
    assert rows_changed(session.execute(delete(Township).where(Township.name == "无此镇"))) == 0
    with pytest.raises(TypeError, match="not the result of an UPDATE or DELETE"):
        rows_changed(session.execute(select(Township)))
    assert sorted(session.scalars(select(Township.name))) == sorted(["甲镇1", "乙镇1", "丙镇"])
