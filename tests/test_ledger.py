"""The 五个一 ledger numbers against a scenario computed by hand (runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.ledger import build_ledger, find_mentions, ledger_completion, link_mentions
from storage.models import (
    AuditLog,
    DiaryEntry,
    DiaryMention,
    Link,
    ServiceCard,
    Task,
    TaskHousehold,
    Township,
    Village,
)
from tests.support.cli import audit_actions, run_cli
from tests.support.factories import Factory

NOV = date(2026, 11, 10)
OCT = date(2026, 10, 20)


def _complete(**kw):
    base = dict(
        members=[{"name": "甲", "relation": "户主", "age": 50}],
        annual_income=Decimal("30000"),
        industries="烤烟",
        difficulties="无",
    )
    base.update(kw)
    return base


def _diary(s, cadre, day, text, role=None, deleted=False):
    e = DiaryEntry(
        cadre_id=cadre.id,
        day=day,
        text=text,
        role=role,
        deleted_at=datetime.fromisoformat("2026-11-20T00:00:00+00:00") if deleted else None,
    )
    s.add(e)
    s.flush()
    link_mentions(s, e)
    return e


@pytest.fixture
def scenario(session):
    """Two villages, three cadres, seven households; see each line for what is done."""
    f = Factory(session)
    va, vb = f.village("新桥村"), f.village("河口村")
    c1 = f.cadre("王芳", phone="13900000001", village=va)
    c2 = f.cadre("赵强", phone="13900000002", village=vb)
    c3 = f.cadre("孙丽", phone="13900000003", village=va)  # active, no households yet
    h1 = f.household(
        c1,
        head_name="张三丰",
        card="10000001",
        village=va,
        listed_on=date(2026, 6, 1),
        **_complete(),
        policy_done_on=date(2026, 7, 1),
    )
    h2 = f.household(
        c1,
        head_name="李四",
        card="10000002",
        village=va,
        members=[{"name": "李四"}],
        annual_income=Decimal("1"),
        industries="  ",
    )
    h3 = f.household(
        c1,
        head_name="王五",
        card="10000003",
        village=va,
        **_complete(members=[]),
        policy_done_on=date(2026, 8, 1),
    )
    h4 = f.household(c1, head_name="赵六", card="10000004", village=va, members=None)
    h5 = f.household(c2, head_name="钱七", card="20000005", village=vb, **_complete())
    h6 = f.household(c2, head_name="孙八", card="20000006", village=vb)
    h7 = f.household(None, head_name="周九", card="10000007", village=va, **_complete())
    session.flush()
    for h in (h1, h2):
        session.scalar(select(ServiceCard).where(ServiceCard.household_id == h.id)).issued_on = date(
            2026, 5, 1
        )
    for h in (h1, h5):
        session.scalar(select(Link).where(Link.household_id == h.id)).commitment_signed_on = date(2026, 4, 1)
    # Diary: h1 twice this month (by name and by card number), h2 only last month, h6 only in a withdrawn entry.
    _diary(session, c1, NOV, "走访张三丰家，了解烤烟收成", role="调查")
    _diary(session, c1, NOV + timedelta(days=1), "给10000001户讲解医保政策", role="宣传")
    _diary(session, c1, OCT, "到李四家调解纠纷", role="调解")
    _diary(
        session, c1, NOV + timedelta(days=2), "帮忙修路"
    )  # no household named, role guessed elsewhere: None
    _diary(session, c2, NOV, "钱七家困难帮扶", role="服务")
    _diary(session, c2, NOV, "去孙八家", role="调查", deleted=True)
    t = Task(number=1, title="秋收", body="b", deadline=datetime.fromisoformat("2026-11-30T00:00:00+00:00"))
    cancelled = Task(
        number=2,
        title="x",
        body="b",
        deadline=datetime.fromisoformat("2026-11-30T00:00:00+00:00"),
        cancelled_at=datetime.fromisoformat("2026-11-01T00:00:00+00:00"),
    )
    session.add_all([t, cancelled])
    session.flush()
    session.add_all(
        [
            TaskHousehold(task_id=t.id, household_id=h1.id),
            TaskHousehold(task_id=t.id, household_id=h5.id),
            TaskHousehold(task_id=cancelled.id, household_id=h1.id),
        ]
    )
    session.commit()
    return {"c1": c1, "c2": c2, "c3": c3, "h": [h1, h2, h3, h4, h5, h6, h7]}


def _by(rows, key, value):
    return next(r for r in rows if r[key] == value)


def test_cadre_and_village_counts_match_hand_computation(session, scenario):
    led = build_ledger(session, today=date(2026, 11, 24))
    c1 = _by(led["cadres"], "phone", "13900000001")
    assert {
        k: c1[k]
        for k in (
            "households",
            "info_complete",
            "card_issued",
            "policy_done",
            "commitment_signed",
            "visited_this_month",
            "listed",
        )
    } == {
        "households": 4,
        "info_complete": 1,
        "card_issued": 2,
        "policy_done": 2,
        "commitment_signed": 1,
        "visited_this_month": 1,
        "listed": 1,
    }
    assert c1["percent"]["info_complete"] == 25.0 and c1["percent"]["card_issued"] == 50.0
    # Roles of this month's entries; the October entry and entries of others do not count; no role = 调查.
    assert c1["roles"] == {"调查": 2, "宣传": 1, "调解": 0, "服务": 0, "指导": 0}
    c2 = _by(led["cadres"], "phone", "13900000002")
    assert (
        c2["households"],
        c2["info_complete"],
        c2["card_issued"],
        c2["policy_done"],
        c2["commitment_signed"],
        c2["visited_this_month"],
    ) == (2, 1, 0, 0, 1, 1)
    assert c2["roles"]["服务"] == 1 and c2["roles"]["调查"] == 0  # the withdrawn entry is not counted
    c3 = _by(led["cadres"], "phone", "13900000003")
    assert c3["households"] == 0 and c3["percent"]["info_complete"] is None

    va = _by(led["villages"], "village", "新桥村")
    assert (
        va["households"],
        va["info_complete"],
        va["card_issued"],
        va["policy_done"],
        va["commitment_signed"],
        va["visited_this_month"],
        va["unlinked"],
    ) == (5, 2, 2, 2, 1, 1, 1)
    vb = _by(led["villages"], "village", "河口村")
    assert (vb["households"], vb["info_complete"], vb["visited_this_month"], vb["unlinked"]) == (2, 1, 1, 0)
    assert led["totals"]["households"] == 7 and led["totals"]["info_complete"] == 3
    assert led["totals"]["percent"]["info_complete"] == round(300 / 7, 1)


def test_household_lines_and_missing_list(session, scenario):
    led = build_ledger(session, today=date(2026, 11, 24))
    missing = {r["head_name"]: r for r in led["missing"]}
    # h1 has everything done: not in the list.
    assert "张三丰" not in missing
    assert missing["李四"]["info_missing"] == ["industries", "difficulties"]
    assert missing["李四"]["missing"] == ["info", "policy", "commitment", "visit", "listing"]
    assert missing["王五"]["info_missing"] == ["members"]
    assert missing["赵六"]["info_missing"] == ["members", "annual_income", "industries", "difficulties"]
    assert "link" in missing["周九"]["missing"] and missing["周九"]["cadre_name"] is None
    assert missing["钱七"]["missing"] == ["card", "policy", "listing"]
    assert missing["钱七"]["tasks"] == 1 and missing["钱七"]["visits_this_month"] == 1


def test_filters_by_village_and_cadre(session, scenario):
    led = build_ledger(session, today=date(2026, 11, 24), village="河口村")
    assert [v["village"] for v in led["villages"]] == ["河口村"]
    assert [c["phone"] for c in led["cadres"]] == ["13900000002"]
    led = build_ledger(session, today=date(2026, 11, 24), cadre_phone="139 0000 0001")
    assert [c["phone"] for c in led["cadres"]] == ["13900000001"]
    assert led["villages"][0]["households"] == 4  # only this cadre's households
    from storage.ledger import LedgerError

    with pytest.raises(LedgerError):
        build_ledger(session, today=date(2026, 11, 24), village="没有村")
    with pytest.raises(LedgerError):
        build_ledger(session, today=date(2026, 11, 24), cadre_phone="13000000000")


def test_month_changes_visits(session, scenario):
    led = build_ledger(session, today=date(2026, 10, 31))
    c1 = _by(led["cadres"], "phone", "13900000001")
    assert c1["visited_this_month"] == 1  # 李四 in October
    assert c1["roles"]["调解"] == 1


def test_ledger_completion_shares(session, scenario):
    c1, c2, c3 = scenario["c1"].id, scenario["c2"].id, scenario["c3"].id
    assert ledger_completion(session, [c1, c2, c3]) == {c1: 6 / 16, c2: 2 / 8, c3: 0.0}
    assert ledger_completion(session, [c1, c2], month="2026-11") == {c1: 7 / 20, c2: 3 / 10}
    assert ledger_completion(session, []) == {}


def test_mentions_by_name_and_card_only_own_households(session):
    f = Factory(session)
    me, other = f.cadre("王芳"), f.cadre("赵强")
    zs = f.household(me, head_name="张三")
    zsf = f.household(me, head_name="张三丰")
    li = f.household(me, head_name="李")
    card = f.household(me, head_name="陈十", card="12345678")
    f.household(other, head_name="王五")
    text = "今天去张三丰家，又到１２３４５６７８号户和王五家，李大爷不在；卡号112345678不算"
    assert [h.id for h in find_mentions(session, cadre_id=me.id, text=text)] == [zsf.id, card.id]
    e = DiaryEntry(cadre_id=me.id, day=NOV, text="张三和张三丰都在")
    session.add(e)
    assert {h.id for h in link_mentions(session, e)} == {zs.id, zsf.id}
    e.text = "只见了陈十"
    link_mentions(session, e)  # re-linking replaces the earlier rows
    assert session.scalars(select(DiaryMention.household_id).where(DiaryMention.diary_id == e.id)).all() == [
        card.id
    ]
    assert find_mentions(session, cadre_id=me.id, text="") == []
    assert li.id not in {h.id for h in find_mentions(session, cadre_id=me.id, text="李")}


def test_cli_json_and_audit(lx, session, scenario, clock, tmp_path, monkeypatch):
    from bot.cli import ledger as ledger_cmd

    clock.set("2026-11-24 20:00")
    result = ledger_cmd.run_ledger(lx, village=None, cadre=None, fmt="json", out=None)
    data = json.loads(result)
    row = _by(data["cadres"], "phone", "13900000001")
    assert {
        k: row[k]
        for k in (
            "households",
            "info_complete",
            "card_issued",
            "policy_done",
            "commitment_signed",
            "visited_this_month",
        )
    } == {
        "households": 4,
        "info_complete": 1,
        "card_issued": 2,
        "policy_done": 2,
        "commitment_signed": 1,
        "visited_this_month": 1,
    }
    for fmt in ("xlsx", "html"):
        out = tmp_path / f"ledger.{fmt}"
        ledger_cmd.run_ledger(lx, village="新桥村", cadre=None, fmt=fmt, out=str(out))
        assert out.stat().st_size > 0
    html = (tmp_path / "ledger.html").read_text(encoding="utf-8")
    assert "王芳" in html and "赵六" in html and "河口村" not in html
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "ledger.xlsx")
    assert wb.sheetnames == ["干部", "村", "缺项农户", "包组"]
    assert wb["干部"]["A2"].value == "王芳"
    session.expire_all()
    assert (
        session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "ledger.export"))
        == 3
    )


def test_cli_command(lx, scenario, clock):
    clock.set("2026-11-24 20:00")
    res = run_cli(lx, "ledger", "--cadre", "13900000002")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [(c["phone"], c["households"], c["info_complete"]) for c in data["cadres"]] == [
        ("13900000002", 2, 1)
    ]
    res = run_cli(lx, "ledger", "--village", "没有村")
    assert res.exit_code != 0 and "没有名为" in res.output
    res = run_cli(lx, "ledger", "--format", "xlsx")
    assert res.exit_code != 0 and "--out" in res.output


# ------------------------------------------------------------------------------------------
# A ledger export is audited only once its file is written.


def test_ledger_write_failure_is_not_audited(lx: Any, session: Any, clock: Any, tmp_path: Any) -> None:
    clock.set("2026-11-24 20:00")
    Factory(session).cadre()
    session.commit()
    bad = tmp_path / "missing-dir" / "l.html"
    r = run_cli(lx, "ledger", "--out", str(bad))
    assert r.exit_code != 0 and "所在文件夹不存在" in r.output and not bad.exists()
    assert audit_actions(lx) == []
    good = tmp_path / "l.html"
    assert run_cli(lx, "ledger", "--out", str(good)).exit_code == 0
    assert good.exists() and audit_actions(lx) == ["ledger.export"]


def test_a_townships_ledger_in_a_county_reads_its_own_cadres_diaries(session, scenario):
    """A second township beside the scenario's, its cadre visiting his own household named like one of ours: the
    scenario township's ledger (its visits read from its own cadres' diaries only) keeps every hand-computed figure,
    and the other township's ledger counts its own visit."""
    alone = build_ledger(session, today=date(2026, 11, 24), township_id=scenario["c1"].township_id)
    f = Factory(session)
    t2 = Township(name="青山镇")
    session.add(t2)
    session.flush()
    v2 = Village(township_id=t2.id, name="白云村")
    session.add(v2)
    session.flush()
    c9 = f.cadre("钱九", phone="13900000009", village=v2)
    f.household(c9, head_name="张三丰", card="30000001", village=v2)
    _diary(session, c9, NOV, "走访张三丰家", role="服务")
    session.commit()
    mine = build_ledger(session, today=date(2026, 11, 24), township_id=scenario["c1"].township_id)
    assert mine["cadres"] == alone["cadres"] and mine["villages"] == alone["villages"]
    assert mine["totals"] == alone["totals"] and mine["missing"] == alone["missing"]
    theirs = build_ledger(session, today=date(2026, 11, 24), township_id=t2.id)
    assert [(c["name"], c["visited_this_month"], c["roles"]["服务"]) for c in theirs["cadres"]] == [
        ("钱九", 1, 1)
    ]
    assert [v["visited_this_month"] for v in theirs["villages"]] == [1]
