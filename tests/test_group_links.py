"""包组联户 (issue 15 item 6): the link list names a cadre for a 村民小组 (columns 包组干部 / 包组干部电话); it is
stored, bad rows are answered with row and column and change nothing, every change is audited, and the public
listing, the 五个一 ledger and the cadre's chat `农户` show the group and its cadre."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from storage.importer import ImportRefused, apply_import
from storage.models import AuditLog, Cadre, Village, VillagerGroup
from tests.support.chat_env import Chat, bound, cadre_world
from tests.support.cli import run_cli
from tests.support.console_world import build_world
from tests.support.link_lists import HEADER, good_rows, import_links, snapshot, to_csv
from tests.support.serving import serve_in_thread
from tests.test_console_browser import ARGS, CHROMIUM, login

GROUP_HEADER = HEADER + ["包组干部", "包组干部电话"]


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


def with_groups(
    leaders: dict[tuple[str, str], tuple[str, str]], *, every_row: bool = False
) -> list[list[str]]:
    """The good 35-row list with the two group columns: ``leaders`` (village, group) → (name, phone) filled in on
    the first row of that group (on every row with ``every_row``), the other cells empty."""
    out, seen = [], set()
    for r in good_rows():
        key = (r[0], r[1])
        lead = leaders.get(key)
        fill = lead is not None and (every_row or key not in seen)
        seen.add(key)
        out.append(r + (list(lead) if fill else ["", ""]))
    return out


def group_cadres(session: Any) -> dict[str, str | None]:
    rows = session.execute(
        select(Village.name, VillagerGroup.name, Cadre.phone)
        .join(VillagerGroup, VillagerGroup.village_id == Village.id)
        .outerjoin(Cadre, Cadre.id == VillagerGroup.cadre_id)
    ).all()
    return {f"{v}{g}": phone for v, g, phone in rows}


def group_audits(session: Any) -> list[tuple[str, str, str | None]]:
    return [
        (a.target, a.detail["cadre"], a.detail["old_cadre"])
        for a in session.scalars(
            select(AuditLog).where(AuditLog.action == "group_link.set").order_by(AuditLog.id)
        )
    ]


def test_group_cadres_are_stored_audited_and_a_reimport_changes_nothing(session: Any) -> None:
    rows = with_groups(
        {("新桥村", "一组"): ("赵丽", "0871-6543210"), ("石门村", "二组"): ("李明", "13987654321")},
        every_row=True,
    )
    plan = import_links(session, to_csv(rows, header=GROUP_HEADER))
    assert plan.ok, plan.problems
    assert (plan.counts["group_links"], plan.counts["group_links_changed"]) == (2, 2)
    assert "包组干部：2 个村民小组（变更 2）" in plan.summary_lines()
    assert group_cadres(session) == {
        "新桥村一组": "08716543210",
        "新桥村二组": None,
        "新桥村三组": None,
        "石门村一组": None,
        "石门村二组": "13987654321",
        "石门村三组": None,
    }
    assert group_audits(session) == [("新桥村一组", "08716543210", None), ("石门村二组", "13987654321", None)]
    before = snapshot(session)
    again = import_links(session, to_csv(rows, header=GROUP_HEADER))
    assert again.ok and again.counts["group_links_changed"] == 0
    assert snapshot(session) == before and len(group_audits(session)) == 2


def test_empty_group_cells_keep_the_group_cadre_and_another_cadre_replaces_it(session: Any) -> None:
    import_links(
        session, to_csv(with_groups({("新桥村", "一组"): ("赵丽", "08716543210")}), header=GROUP_HEADER)
    )
    # the file without the group columns at all, then with them empty: nothing changes
    assert import_links(session, to_csv(good_rows())).ok
    assert import_links(session, to_csv(with_groups({}), header=GROUP_HEADER)).ok
    assert group_cadres(session)["新桥村一组"] == "08716543210"
    # a cadre known from the database only (not in this file) may lead a group; the change is audited
    assert import_links(
        session, to_csv(with_groups({("新桥村", "一组"): ("", "13987654321")}), header=GROUP_HEADER)
    ).ok
    assert group_cadres(session)["新桥村一组"] == "13987654321"
    assert group_audits(session) == [
        ("新桥村一组", "08716543210", None),
        ("新桥村一组", "13987654321", "08716543210"),
    ]


def test_a_group_cadre_known_only_to_the_database(session: Any) -> None:
    import_links(session, to_csv(good_rows()))
    only_xq = [
        r + (["", "08716543210"] if i == 0 else ["", ""])
        for i, r in enumerate(good_rows())
        if r[0] == "新桥村"
    ]
    plan = import_links(session, to_csv(only_xq, header=GROUP_HEADER))
    assert plan.ok, plan.problems
    assert group_cadres(session)["新桥村一组"] == "08716543210"


def _cells(row: int, name: str, phone: str) -> Any:
    def mutate(rows: list[list[str]]) -> None:
        rows[row - 2][10], rows[row - 2][11] = name, phone

    return mutate


def _group(row: int, value: str) -> Any:
    def mutate(rows: list[list[str]]) -> None:
        rows[row - 2][1] = value
        rows[row - 2][10], rows[row - 2][11] = "李明", "13987654321"

    return mutate


BAD = [
    ("phone of nobody", _cells(4, "", "13900001111"), 4, "包组干部电话", "不是本名单或系统中的联户干部"),
    ("not a phone", _cells(4, "李明", "1398765"), 4, "包组干部电话", "不是有效的电话号码"),
    ("name without phone", _cells(4, "李明", ""), 4, "包组干部电话", "没有包组干部电话"),
    ("name of another cadre", _cells(4, "王强", "13987654321"), 4, "包组干部", "干部是「李明」"),
    (
        "two cadres for one group",
        _cells(5, "赵丽", "08716543210"),
        5,
        "包组干部电话",
        "在第 2 行的包组干部是 李明",
    ),
    ("no group", _group(6, ""), 6, "村民小组", "村民小组为空"),
]


@pytest.mark.parametrize("label, mutate, row, column, words", BAD, ids=[b[0] for b in BAD])
def test_bad_group_cells_are_named_and_change_nothing(
    session: Any, label: str, mutate: Any, row: int, column: str, words: str
) -> None:
    rows = with_groups({("新桥村", "一组"): ("李明", "13987654321")})  # row 2 is 新桥村一组's first row
    mutate(rows)
    before = snapshot(session)
    plan = import_links(session, to_csv(rows, header=GROUP_HEADER))
    assert [(p.row, p.column) for p in plan.problems] == [(row, column)], plan.problems
    assert words in plan.problems[0].message and f"第 {row} 行" in str(plan.problems[0])
    assert snapshot(session) == before and group_audits(session) == []
    with pytest.raises(ImportRefused):
        apply_import(session, plan, actor="test")


# ------------------------------------------------------------------------------ where the group's cadre shows


def test_cli_import_then_listing_and_ledger_show_each_group_and_its_cadre(lx: Any, tmp_path: Any) -> None:
    src = tmp_path / "名单.csv"
    src.write_bytes(
        to_csv(
            with_groups(
                {("新桥村", "一组"): ("赵丽", "08716543210"), ("石门村", "二组"): ("李明", "13987654321")}
            ),
            header=GROUP_HEADER,
        )
    )
    r = run_cli(lx, "import", str(src))
    assert r.exit_code == 0, r.output
    assert "包组干部：2 个村民小组（变更 2）" in r.output
    out = tmp_path / "公示.html"
    assert run_cli(lx, "listing", "--village", "新桥村", "--out", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "包组干部（1 个村民小组）" in html
    assert '<td>一组</td><td class="num">7</td><td>赵丽</td><td>驻村工作队员</td><td>08716543210</td>' in html
    led = json.loads(run_cli(lx, "ledger", "--format", "json").stdout)
    assert [(g["village"], g["group"], g["households"], g["name"], g["phone"]) for g in led["groups"]] == [
        ("新桥村", "一组", 7, "赵丽", "08716543210"),
        ("石门村", "二组", 5, "李明", "13987654321"),
    ]
    mine = json.loads(run_cli(lx, "ledger", "--cadre", "08716543210", "--format", "json").stdout)
    assert [g["group"] for g in mine["groups"]] == ["一组"]
    xlsx = tmp_path / "台账.xlsx"
    assert run_cli(lx, "ledger", "--format", "xlsx", "--out", str(xlsx)).exit_code == 0
    rows = list(load_workbook(xlsx)["包组"].iter_rows(values_only=True))
    assert rows[1] == ("新桥村", "一组", 7, "赵丽", "驻村工作队员", "08716543210")


def test_chat_households_names_the_group_cadres(chat: Chat, renders: Any) -> None:
    bound(chat)
    with chat.lx.session() as s:
        wang = s.scalar(select(Cadre).where(Cadre.name == "王芳"))
        for g in s.scalars(select(VillagerGroup)):
            g.cadre_id = wang.id
        s.commit()
    reply = chat.wc.text("o-li", "农户")
    groups = renders.behind(reply)["groups"]
    assert {g.name for g in groups} == {"王芳"} and "139****2222" in reply and "13900002222" not in reply
    with chat.lx.session() as s:
        li = s.scalar(select(Cadre).where(Cadre.name == "李明"))
        for g in s.scalars(select(VillagerGroup)):
            g.cadre_id = li.id
        s.commit()
    mine = renders.behind(chat.wc.text("o-li", "農戶"))  # the Traditional form too
    assert mine["groups"] and all(g.cadre_id == mine["cadre"].id for g in mine["groups"])  # shown as 您本人


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} missing: apt-get install -y chromium")
def test_console_ledger_and_printed_listing_show_the_group_cadre(lx: Any, clock: Any) -> None:
    from playwright.sync_api import sync_playwright

    w = build_world(lx, clock)
    with lx.session() as s:
        li = s.get(Cadre, w.ids["cadre_a"])
        g = s.scalar(select(VillagerGroup).join(Village).where(Village.name == "新桥村"))
        g.cadre_id = li.id
        s.commit()
    with serve_in_thread(w.app) as base, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = b.new_page(viewport={"width": 1280, "height": 900})
            login(page, base)
            page.click("nav >> text=台账")
            groups = page.locator("#groups")
            assert "包组联户（1 个村民小组有包组干部）" in groups.locator("h2").inner_text()
            assert groups.locator("tr").nth(1).inner_text().split("\t") == [
                "新桥村",
                "一组",
                "2",
                "李明",
                "村支书",
            ]
            page.click("nav >> text=打印")
            form = page.locator("form").filter(has=page.locator("button[value=html]")).nth(1)
            form.locator("select[name=village]").select_option("新桥村")
            with page.expect_popup() as info:
                form.locator("button[value=html]").click()
            listing = info.value
            listing.wait_for_load_state()
            assert "包组干部（1 个村民小组）" in listing.content()
            row = listing.locator("table").nth(1).locator("tbody tr").first.inner_text()
            assert row.split("\t") == ["一组", "2", "李明", "村支书", "13900000001"]
        finally:
            b.close()


def test_a_county_list_names_group_cadres_per_township(session: Any) -> None:
    """The same village and group names in two townships are two groups, each with its own township's cadre."""
    from tests.support.link_lists import COUNTY_HEADER, county_rows

    rows = county_rows()
    lead = {"龙伏镇": ("赵丽", "0871-6543210"), "青山镇": None}
    out = []
    for r in rows:
        township, village, group = r[0], r[1], r[2]
        if (village, group) == ("新桥村", "一组"):
            if township == "青山镇":  # that township's own cadre of a row in the group
                lead["青山镇"] = lead["青山镇"] or (r[7], r[8])
            out.append(r + list(lead[township] or ("", "")))
        else:
            out.append(r + ["", ""])
    plan = import_links(session, to_csv(out, header=[*COUNTY_HEADER, "包组干部", "包组干部电话"]))
    assert plan.ok, plan.problems
    from storage.models import Township

    found = dict(
        ((t, f"{v}{g}"), phone)
        for t, v, g, phone in session.execute(
            select(Township.name, Village.name, VillagerGroup.name, Cadre.phone)
            .join(Village, Village.township_id == Township.id)
            .join(VillagerGroup, VillagerGroup.village_id == Village.id)
            .outerjoin(Cadre, Cadre.id == VillagerGroup.cadre_id)
        )
    )
    assert found[("龙伏镇", "新桥村一组")] == "08716543210"
    assert found[("青山镇", "新桥村一组")] is not None and found[("青山镇", "新桥村一组")].startswith("137")


def test_a_townships_list_cannot_name_another_townships_cadre_for_a_group(session: Any) -> None:
    from tests.support.link_lists import COUNTY_HEADER, county_rows

    plan = import_links(session, to_csv(county_rows(), header=COUNTY_HEADER))
    assert plan.ok, plan.problems
    qingshan_phone = next(r[8] for r in county_rows() if r[0] == "青山镇")
    rows = [
        [*r[1:], *(("", qingshan_phone) if i == 0 else ("", ""))]
        for i, r in enumerate(r for r in county_rows() if r[0] == "龙伏镇")
    ]
    before = snapshot(session)
    from storage.importer import import_file

    refused = import_file(
        session, to_csv(rows, header=GROUP_HEADER), filename="links.csv", actor="test", township="龙伏镇"
    )
    session.commit()
    assert not refused.ok
    assert any(p.column == "包组干部电话" and "另一个乡镇" in p.message for p in refused.problems), (
        refused.problems
    )
    assert snapshot(session) == before
