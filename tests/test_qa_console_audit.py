"""QA finding: the audit page showed a record's details as \\uXXXX escapes (新桥村 as \\u65b0\\u6865\\u6751)."""

from __future__ import annotations

from storage.audit import record
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def test_audit_details_show_chinese_and_stay_escaped(world: World) -> None:
    with world.lx.session() as s:
        record(s, actor="cli", action="qa.check", target="user:x",
               detail={"village": "新桥村", "note": "<b>x</b>"})
    page = world.login("admin").get("/audit?action=qa.check").get_data(as_text=True)
    assert "新桥村" in page and "\\u65b0" not in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
