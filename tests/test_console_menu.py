"""The console's menu (console/areas.py MENU): grouped by area, one entry per page with the role that sees it,
drawn by base.html; every entry is a page that exists, and an entry a role cannot open is not shown to it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.areas import MENU
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)


@pytest.fixture
def lx(make_lx: Any) -> Any:
    return make_lx(**{"console.simulator": True})


def menu_of(w: World, username: str) -> dict[str, list[str]]:
    """The menu's groups and their links, as the dashboard shows them to ``username``."""
    html = w.login(username).get("/").get_data(as_text=True)
    nav = html[html.index('<nav id="menu"') : html.index("</nav>")]
    groups: dict[str, list[str]] = {}
    for part in re.split(r"<details[^>]*>", nav):
        head = re.search(r"<summary>(.*?)</summary>", part)
        groups[head.group(1) if head else ""] = re.findall(r"<a [^>]*>(.*?)</a>", part)
    return groups


def test_every_menu_entry_is_a_page_of_the_console(world: World) -> None:
    endpoints = {r.endpoint for r in world.app.url_map.iter_rules()}
    for group in MENU:
        for entry in group.entries:
            assert entry.endpoint in endpoints, entry


def test_menu_is_grouped_and_every_role_that_sees_reports_finds_the_circulars(world: World) -> None:
    for username in ("admin", "xinqiao", "leader"):
        groups = menu_of(world, username)
        assert "考核" in groups and "已发布的通报" in groups["考核"], username
        assert groups[""] == ["总览"]
        assert "干部" in groups["人员"] and "督办卡" in groups["日常工作"]


def test_menu_shows_each_role_only_what_it_may_open(world: World) -> None:
    admin, village, leader = (menu_of(world, u) for u in ("admin", "xinqiao", "leader"))
    flat = {
        name: sum(g.values(), []) for name, g in (("admin", admin), ("xinqiao", village), ("leader", leader))
    }
    assert {"导入", "打印", "线下补录"} <= set(flat["admin"])
    assert "打印" in flat["xinqiao"] and "线下补录" in flat["xinqiao"] and "导入" not in flat["xinqiao"]
    assert not {"导入", "打印", "线下补录", "审计", "推送问题", "模拟聊天"} & set(flat["leader"])
    assert "全县排名" not in flat["xinqiao"]  # a village: no county ranking


def test_menu_marks_the_current_pages_entry(world: World) -> None:
    html = world.login("admin").get("/tasks").get_data(as_text=True)
    assert re.findall(r'aria-current="page">(.*?)</a>', html) == ["督办卡"]
    html = world.login("admin").get("/circulars").get_data(as_text=True)
    assert re.findall(r'aria-current="page">(.*?)</a>', html) == ["已发布的通报"]
