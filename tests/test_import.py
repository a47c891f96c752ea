"""The link-list import: good files in every encoding, idempotence, updates in place, every kind of bad row."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

import storage.importer as importer
from storage.cards import number_checks
from storage.importer import ImportRefused, apply_import, import_file, plan_import, read_rows
from storage.models import (
    AuditLog,
    Cadre,
    Household,
    HouseholdInfoHistory,
    Link,
    LinkChange,
    ServiceCard,
    Village,
)
from tests.support.factories import Factory
from tests.support.link_lists import GOOD, HEADER, good_rows, import_links, snapshot, to_csv, to_xlsx
from tests.support.queries import count_in as count

# --------------------------------------------------------------------------------------------------
# Good files
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["utf-8-sig", "utf-8", "gbk", "gb18030", "xlsx"])
def test_good_file_imports_in_every_encoding(session, variant):
    rows = good_rows()
    if variant == "xlsx":
        data, name = to_xlsx(rows), "名单.xlsx"
    else:
        data, name = to_csv(rows, variant), "名单.csv"
    plan = import_links(session, data, name)
    assert plan.ok, plan.problems
    assert plan.counts["households_new"] == 35
    assert plan.counts["villages"] == 2 and plan.counts["cadres_new"] == 2
    assert (
        count(session, Household) == 35 and count(session, Link) == 35 and count(session, ServiceCard) == 35
    )
    assert {v.name for v in session.scalars(select(Village))} == {"新桥村", "石门村"}
    # cadres by normalised phone; a landline with its area code is accepted
    cadres = {c.phone: c for c in session.scalars(select(Cadre))}
    assert set(cadres) == {"13987654321", "08716543210"}
    assert cadres["08716543210"].name == "赵丽" and cadres["08716543210"].post == "驻村工作队员"
    per_cadre = dict(session.execute(select(Link.cadre_id, func.count()).group_by(Link.cadre_id)).all())
    assert per_cadre == {cadres["13987654321"].id: 30, cadres["08716543210"].id: 5}
    # given card numbers kept, missing ones assigned, all unique
    numbers = list(session.scalars(select(ServiceCard.number)))
    assert len(set(numbers)) == 35 and "00100001" in numbers
    h = session.scalar(select(Household).where(Household.head_name == "高金花"))
    assert h.population == 7 and h.head_phone is None and h.card.number == "00100001"
    # the under-30 warning names the cadre
    assert [(w.name, w.households) for w in plan.warnings] == [("赵丽", 5)]
    assert "少于 30 户" in str(plan.warnings[0])
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "import")).all()
    assert len(audit) == 1 and audit[0].actor == "test" and audit[0].detail["households_new"] == 35


def test_reimport_changes_nothing(session):
    data = GOOD.read_bytes()
    import_links(session, data)
    before = snapshot(session)
    plan = import_links(session, data)
    assert plan.ok
    c = plan.counts
    assert (c["households_new"], c["households_updated"], c["households_unchanged"]) == (0, 0, 35)
    assert (c["cadres_new"], c["cadres_updated"], c["cadres_unchanged"]) == (0, 0, 2)
    assert c["villages_new"] == 0 and c["links_changed"] == 0 and c["cards_assigned"] == 0
    assert snapshot(session) == before
    # the same file as xlsx is the same data
    assert import_links(session, to_xlsx(good_rows()), "x.xlsx").counts["households_unchanged"] == 35
    assert snapshot(session) == before


def test_changed_file_updates_in_place(session):
    import_links(session, GOOD.read_bytes())
    moved = session.scalar(select(Household).where(Household.head_name == "陈金花"))
    moved.link.commitment_signed_on = moved.created_at.date()
    session.commit()
    rows = good_rows()
    rows[0][4] = "5"  # 高金花: population 7 -> 5
    rows[1][6:10] = ["赵丽", "0871-6543210", "驻村工作队员", "县农业农村局"]  # 陈金花 moves to 赵丽
    rows[2][3] = "13900001111"  # 吴有才: new phone; found again by the card number
    rows.append(["石门村", "四组", "新户主", "13700000000", "3", "", "赵丽", "08716543210", "", ""])
    plan = import_links(session, to_csv(rows))
    assert plan.ok, plan.problems
    c = plan.counts
    assert (c["households_new"], c["households_updated"], c["households_unchanged"]) == (1, 3, 32)
    assert c["links_changed"] == 1 and c["groups_new"] == 1
    assert count(session, Household) == 36
    session.expire_all()
    gao = session.scalar(select(Household).where(Household.head_name == "高金花"))
    assert gao.population == 5
    history = {
        (h.household_id, h.field): (h.old_value, h.new_value)
        for h in session.scalars(select(HouseholdInfoHistory))
    }
    assert history[(gao.id, "population")] == ("7", "5")
    wu = session.scalar(select(Household).where(Household.head_name == "吴有才"))
    assert history[(wu.id, "head_phone")][1] == "13900001111"
    moved = session.get(Household, moved.id)
    zhao = session.scalar(select(Cadre).where(Cadre.phone == "08716543210"))
    li = session.scalar(select(Cadre).where(Cadre.phone == "13987654321"))
    assert moved.link.cadre_id == zhao.id
    assert moved.link.commitment_signed_on is None  # the new cadre signs a new letter
    change = session.scalars(select(LinkChange)).one()
    assert (change.household_id, change.old_cadre_id, change.new_cadre_id) == (moved.id, li.id, zhao.id)
    assert count(session, AuditLog) == 2
    # and importing the changed file again changes nothing
    before = snapshot(session)
    assert import_links(session, to_csv(rows)).counts["households_unchanged"] == 36
    assert snapshot(session) == before


def test_card_numbers_are_assigned_without_clashing(session):
    f = Factory(session)
    v = f.village("新桥村")
    f.household(f.cadre(), card=f"{v.id:03d}00001", village=v)  # a number the scheme would pick first
    session.commit()
    rows = [r for r in good_rows() if r[0] == "新桥村"]
    for r in rows:
        r[5] = ""
    plan = import_links(session, to_csv(rows))
    assert plan.ok and plan.counts["cards_assigned"] == 20
    numbers = list(session.scalars(select(ServiceCard.number)))
    assert len(numbers) == len(set(numbers)) == 21
    assigned = [n for n in numbers if n != f"{v.id:03d}00001"]
    # random 8-digit numbers with a check digit: not sequential, not telling the village
    assert all(len(n) == 8 and number_checks(n) for n in assigned)
    assert sorted(assigned) != [f"{v.id:03d}{i:05d}" for i in range(2, 22)]


def test_title_row_above_header_keeps_spreadsheet_row_numbers(session):
    rows = good_rows()
    rows[3][2] = ""
    plan = import_links(session, to_xlsx(rows, title="示范镇联户名单"), "t.xlsx")
    # header is row 2, so the 4th data row is spreadsheet row 6
    assert [(p.row, p.column) for p in plan.problems] == [(6, "户主姓名")]


# --------------------------------------------------------------------------------------------------
# Bad files: refused whole, every problem named by row and column, nothing written
# --------------------------------------------------------------------------------------------------


def _set(row: int, col: str, value: str):
    def mutate(rows):
        rows[row - 2][HEADER.index(col)] = value

    return mutate


def _append(values: list[str]):
    def mutate(rows):
        rows.append(values)

    return mutate


BAD = [
    ("missing head name", _set(5, "户主姓名", ""), 5, "户主姓名", "为空"),
    ("bad head phone", _set(7, "户主电话", "1381234"), 7, "户主电话", "不是有效的电话号码"),
    ("letters in phone", _set(8, "户主电话", "138abc45678"), 8, "户主电话", "不是有效的电话号码"),
    ("bad cadre phone", _set(9, "干部电话", "12345"), 9, "干部电话", "不是有效的电话号码"),
    ("missing cadre phone", _set(9, "干部电话", ""), 9, "干部电话", "为空"),
    ("non-numeric population", _set(11, "家庭人口", "四"), 11, "家庭人口", "不是数字"),
    ("negative population", _set(12, "家庭人口", "-2"), 12, "家庭人口", "负数"),
    ("fractional population", _set(13, "家庭人口", "2.5"), 13, "家庭人口", "不是整数"),
    ("missing village", _set(14, "村(居)", ""), 14, "村(居)", "为空"),
    ("missing cadre name", _set(15, "联户干部", ""), 15, "联户干部", "为空"),
    ("duplicate card in file", _set(16, "服务卡号", "00100002"), 16, "服务卡号", "与第 3 行重复"),
    ("bad card", _set(16, "服务卡号", "卡-1"), 16, "服务卡号", "不是有效的卡号"),
    ("cadre phone with two names", _set(10, "联户干部", "李铭"), 10, "联户干部", "在第 2 行是「李明」"),
    (
        "household linked to two cadres",
        _append(["新桥村", "二组", "陈金花", "13248373760", "4", "", "赵丽", "08716543210", "", ""]),
        37,
        "干部电话",
        "一户只能由一名干部联系",
    ),
    (
        "same household twice",
        _append(["新桥村", "二组", "陈金花", "13248373760", "4", "", "李明", "13987654321", "", ""]),
        37,
        "户主姓名",
        "与第 3 行重复",
    ),
    ("name too long", _set(6, "户主姓名", "名" * 51), 6, "户主姓名", "过长"),
]


@pytest.mark.parametrize("label, mutate, row, column, words", BAD, ids=[b[0] for b in BAD])
def test_bad_row_refuses_the_whole_file(session, label, mutate, row, column, words):
    rows = good_rows()
    mutate(rows)
    before = snapshot(session)
    plan = import_links(session, to_csv(rows))
    assert not plan.ok
    assert [(p.row, p.column) for p in plan.problems] == [(row, column)], plan.problems
    assert words in plan.problems[0].message
    assert f"第 {row} 行" in str(plan.problems[0]) and column in str(plan.problems[0])
    assert snapshot(session) == before
    assert count(session, AuditLog) == 0
    with pytest.raises(ImportRefused):
        apply_import(session, plan, actor="test")


def test_every_problem_is_listed_and_the_database_is_unchanged(session):
    import_links(session, GOOD.read_bytes())
    before = snapshot(session)
    rows = good_rows()
    rows[0][2] = ""
    rows[1][3] = "12"
    rows[2][4] = "many"
    rows[0][4] = "7.5"
    rows[30][9] = "新单位"  # a valid change: must not be applied either
    plan = import_links(session, to_csv(rows))
    assert [(p.row, p.column) for p in plan.problems] == [
        (2, "户主姓名"),
        (2, "家庭人口"),
        (3, "户主电话"),
        (4, "家庭人口"),
    ]
    assert snapshot(session) == before


def test_card_number_of_another_household_in_the_database(session):
    import_links(session, GOOD.read_bytes())
    before = snapshot(session)
    rows = [["石门村", "一组", "新来户", "13700000001", "2", "00100001", "赵丽", "08716543210", "", ""]]
    plan = import_links(session, to_csv(rows))
    assert [(p.row, p.column) for p in plan.problems] == [(2, "服务卡号")]
    assert "已属于另一户" in plan.problems[0].message and "高金花" in plan.problems[0].message
    assert snapshot(session) == before


def test_two_rows_reaching_the_same_household_in_the_database(session):
    import_links(session, GOOD.read_bytes())
    rows = good_rows()
    # row 3's household (陈金花, card 00100002), found by identity on row 3 and by its card on row 37
    rows[1][5] = ""
    rows.append(["新桥村", "二组", "陈金华", "13248373760", "4", "00100002", "李明", "13987654321", "", ""])
    plan = import_links(session, to_csv(rows))
    assert [(p.row, p.column) for p in plan.problems] == [(37, "服务卡号")]
    assert "与第 3 行指向数据库中的同一户" in plan.problems[0].message


def test_card_number_finds_a_household_whose_head_changed(session):
    import_links(session, GOOD.read_bytes())
    rows = good_rows()
    rows[1][2] = "陈金华"  # same card, same phone, the head's name corrected
    plan = import_links(session, to_csv(rows))
    assert plan.ok and plan.counts["households_updated"] == 1 and plan.counts["households_new"] == 0
    hist = session.scalars(select(HouseholdInfoHistory)).one()
    assert (hist.field, hist.old_value, hist.new_value) == ("head_name", "陈金花", "陈金华")


def test_missing_required_column_is_named(session):
    rows = good_rows()
    header = [h for h in HEADER if h != "家庭人口"]
    data = to_csv(
        [[v for h, v in zip(HEADER, r, strict=True) if h != "家庭人口"] for r in rows], header=header
    )
    plan = import_links(session, data)
    assert [(p.row, p.column) for p in plan.problems] == [(1, "家庭人口")]
    assert "缺少必需的列「家庭人口」" in str(plan.problems[0])
    assert count(session, Household) == 0


def test_optional_card_column_may_be_absent(session):
    header = [h for h in HEADER if h != "服务卡号"]
    rows = [[v for h, v in zip(HEADER, r, strict=True) if h != "服务卡号"] for r in good_rows()]
    plan = import_links(session, to_csv(rows, header=header))
    assert plan.ok and plan.counts["cards_assigned"] == 35


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "文件为空"),
        (b"\xef\xbb\xbf\r\n\r\n", "文件为空"),
        (to_csv([]), "没有数据行"),
        ("姓名,电话\n张三,13800000000\n".encode(), "找不到表头"),
    ],
)
def test_empty_or_headerless_files(session, data, words):
    plan = import_links(session, data)
    assert not plan.ok and words in str(plan.problems[0])
    assert count(session, Household) == 0


def test_unreadable_xlsx_and_unknown_suffix(session):
    assert "无法读取 Excel" in str(import_links(session, b"not a zip", "x.xlsx").problems[0])
    assert "不支持的文件类型" in str(import_links(session, b"abc", "x.pdf").problems[0])


def test_header_aliases_and_fullwidth_values(session):
    header = [
        "村（居）",
        "村民小组",
        "户主姓名",
        "户主电话",
        "家庭人口",
        "服务卡号",
        "联户干部",
        "干部电话",
        "岗位",
        "单位",
    ]
    rows = [
        [
            "新桥村",
            "一组",
            "王大山",
            "１３８１２３４５６７８",
            "４",
            "",
            "李明",
            "139 8765 4321",
            "村支书",
            "村委会",
        ]
    ]
    plan = import_links(session, to_csv(rows, header=header))
    assert plan.ok, plan.problems
    h = session.scalar(select(Household))
    assert (h.head_phone, h.population) == ("13812345678", 4)
    assert session.scalar(select(Cadre.phone)) == "13987654321"


# --------------------------------------------------------------------------------------------------
# Template, preview, progress
# --------------------------------------------------------------------------------------------------


def test_template_has_headers_and_an_example_row_that_imports_once_filled_in(session, tmp_path):
    path = importer.write_template(tmp_path / "模板.xlsx")
    wb = load_workbook(path)
    ws = wb.active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert (
        values[0]
        == [name for name, _ in importer.COLUMNS]
        == HEADER + ["包组干部", "包组干部电话", "重点人群"]
    )
    assert len(values) == 2 and values[1][2] == "王大山"
    # Left in place, the example would add a made-up household and cadre: it is named and nothing is written.
    plan = import_links(session, path.read_bytes(), "模板.xlsx")
    assert not plan.ok and [(p.row, p.column) for p in plan.problems] == [(2, "户主姓名")]
    assert "示例行" in plan.problems[0].message and count(session, Household) == 0
    # The same layout with the office's own row imports.
    ws["C2"], ws["D2"], ws["H2"], ws["L2"] = "赵春生", "13812340000", "13987650000", "13987650000"
    buf = io.BytesIO()
    wb.save(buf)
    plan = import_links(session, buf.getvalue(), "模板.xlsx")
    assert plan.ok and plan.counts["households_new"] == 1 and plan.counts["group_links_changed"] == 1
    assert [w.households for w in plan.warnings] == [1]


def test_plan_is_a_preview_that_writes_nothing(session):
    table = read_rows(GOOD)
    plan = plan_import(session, table, township="示范镇")
    assert plan.ok and plan.counts["households_new"] == 35
    session.commit()
    assert count(session, Household) == 0 and count(session, Village) == 0
    apply_import(session, plan, actor="test")
    session.commit()
    assert count(session, Household) == 35
    with pytest.raises(ImportRefused):
        apply_import(session, plan, actor="test")


def test_minimum_is_configurable(session):
    plan = plan_import(session, read_rows(GOOD), township="示范镇", minimum=3)
    assert plan.warnings == []


def test_progress_is_reported_on_big_files(session, monkeypatch):
    monkeypatch.setattr(importer.shape, "PROGRESS_EVERY", 10)
    seen: list[tuple[str, int, int]] = []
    plan = import_file(
        session,
        GOOD.read_bytes(),
        filename="a.csv",
        actor="test",
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert plan.ok
    assert ("read", 10, 0) in seen and ("check", 30, 35) in seen and ("write", 35, 35) in seen


# --------------------------------------------------------------------------------------------------
# A county's list: a 乡镇 column before 村(居)
# --------------------------------------------------------------------------------------------------


def _import_county(session, rows, header=None):
    from tests.support.link_lists import COUNTY_HEADER

    plan = import_file(
        session,
        to_csv(rows, header=header or COUNTY_HEADER),
        filename="全县.csv",
        actor="test",
        township="示范镇",
    )
    session.commit()
    return plan


def test_a_county_list_puts_each_row_in_its_township(session):
    from storage.models import Township
    from tests.support.link_lists import county_rows

    plan = _import_county(session, county_rows())
    assert plan.ok, plan.problems
    assert [p.township_name for p in plan.parts] == ["龙伏镇", "青山镇"] and plan.counts[
        "households_new"
    ] == 70
    assert "乡镇：2 个（龙伏镇、青山镇）" in plan.summary_lines()
    towns = {t.name: t.id for t in session.scalars(select(Township))}
    assert set(towns) == {"龙伏镇", "青山镇"}  # the configured 示范镇 is not made: every row names its own
    # the same village names in both townships are different villages, each with its own households
    villages = {(v.township_id, v.name) for v in session.scalars(select(Village))}
    assert villages == {(towns[t], v) for t in towns for v in ("新桥村", "石门村")}
    for name, tid in towns.items():
        assert count(session, Household, Household.village.has(Village.township_id == tid)) == 35, name
        assert {c.township_id for c in session.scalars(select(Cadre).where(Cadre.phone.like("137%")))} == {
            towns["青山镇"]
        }
    numbers = list(session.scalars(select(ServiceCard.number)))
    assert len(numbers) == 70 and len(set(numbers)) == 70  # card numbers unique across the county
    assert {
        a.detail["township"] for a in session.scalars(select(AuditLog).where(AuditLog.action == "import"))
    } == {"龙伏镇", "青山镇"}
    again = _import_county(session, county_rows())
    assert again.ok and again.counts["households_unchanged"] == 70 and again.counts["households_new"] == 0


def test_a_list_without_the_column_goes_to_the_configured_township(session):
    from storage.models import Township

    plan = import_links(session, GOOD.read_bytes())
    assert plan.ok and not plan.parts
    assert list(session.scalars(select(Township.name))) == ["示范镇"]
    assert {c.township_id for c in session.scalars(select(Cadre))} == {session.scalar(select(Township.id))}


def test_a_cadre_or_a_card_in_two_townships_is_refused_and_nothing_written(session):
    from tests.support.link_lists import county_rows

    rows = county_rows()
    rows[40][8] = rows[0][8]  # a 青山镇 row with a 龙伏镇 cadre's phone
    rows[41][6] = "00100001"  # and a 龙伏镇 card number
    rows[42][0] = ""  # and no township
    before = snapshot(session)
    plan = _import_county(session, rows)
    assert not plan.ok and snapshot(session) == before
    text = "\n".join(map(str, plan.problems))
    assert "第 42 行 [干部电话]" in text and "全县只能属于一个乡镇" in text
    assert "第 43 行 [服务卡号]" in text and "第 44 行 [乡镇]：乡镇为空" in text


def test_a_township_list_cannot_take_another_townships_cadre_or_card(session):
    from tests.support.link_lists import county_rows

    assert _import_county(session, county_rows()[:35]).ok  # 龙伏镇 only
    rows = [r[1:] for r in county_rows()[35:]]  # 青山镇's list, without the column, imported for 青山镇
    rows[0][7] = county_rows()[0][8]  # 龙伏镇's cadre
    rows[1][5] = "00100001"  # 龙伏镇's card
    before = snapshot(session)
    plan = import_file(session, to_csv(rows), filename="青山镇.csv", actor="test", township="青山镇")
    assert not plan.ok and snapshot(session) == before
    text = "\n".join(map(str, plan.problems))
    assert "已是龙伏镇的干部" in text and "已属于另一乡镇的农户" in text
