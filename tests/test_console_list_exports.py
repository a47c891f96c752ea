"""Lists with their totals and an Excel download (issue 25 item 9): the office downloads the list it is looking at
(its filters kept), audited, phones masked as every console export; the others get 403."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


def sheet(data: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    ("path", "unit", "action", "first_header"),
    [
        ("/households", "户", "households.export", "户主"),
        ("/cadres", "名", "cadres.export", "姓名"),
        ("/requests", "件", "requests.export", "编号"),
        ("/diaries", "条", "diaries.export", "日期"),
    ],
)
def test_a_list_shows_its_total_and_the_office_downloads_it(
    world: World, renders: Any, path: str, unit: str, action: str, first_header: str
) -> None:
    c = world.login("admin")
    page = page_text(c.get(path))
    total = renders.page()["total"]
    assert total >= 2 and f"共 {total} {unit}" in page and "导出 Excel" in page
    r = c.get(path + "?format=xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = sheet(r.data)
    assert rows[0][0] == first_header and len(rows) == total + 1
    phones = [i for i, h in enumerate(rows[0]) if "电话" in str(h)]
    assert all("****" in str(row[i]) for row in rows[1:] for i in phones)  # phones masked
    assert [a.action for a in world.audits(action)] == [action]
    assert world.audits(action)[0].detail["rows"] == total


def test_a_download_keeps_the_lists_filters(world: World) -> None:
    rows = sheet(world.login("admin").get("/households?q=张&format=xlsx").data)
    assert len(rows) >= 2 and all("张" in row[0] for row in rows[1:])


@pytest.mark.parametrize("username", ["xinqiao", "leader"])
@pytest.mark.parametrize("path", ["/households", "/cadres", "/requests", "/diaries"])
def test_only_the_office_downloads_lists(world: World, username: str, path: str) -> None:
    c = world.login(username)
    assert c.get(path + "?format=xlsx").status_code == 403
    assert "导出 Excel" not in page_text(c.get(path))
    assert world.audits("households.export") == [] and world.audits("cadres.export") == []
