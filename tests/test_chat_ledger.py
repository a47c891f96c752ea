"""The 五个一 duties recorded from the chat, through signed POSTs to /wechat (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot.wechat import endpoint as wechat
from handlers.ledger.parsers import parse_income, parse_members
from handlers.ledger.shared import DUTY_NAMES
from storage.ledger import build_ledger
from storage.models import (
    ConversationState,
    DiaryEntry,
    DiaryMention,
    DutyRecord,
    Household,
    HouseholdInfoHistory,
    Link,
    ServiceCard,
)
from storage.roles import ROLES
from tests.support.factories import Factory
from tests.support.wechat_client import TEST_TOKEN, WechatClient


def _wechat_app(lx):
    """Only /wechat (the console is another feature; these tests need just the bot's endpoint)."""
    app = Flask("lianxin-ledger-test")
    app.config["LIANXIN"] = lx
    wechat.register(app, lx)
    return app


@pytest.fixture
def world(lx, clock):
    clock.set("2026-11-24 20:00")
    with lx.session() as s:
        f = Factory(s)
        me = f.cadre("王芳", phone="13900000001")
        other = f.cadre("赵强", phone="13900000002")
        hs = [
            f.household(me, head_name=n, card=c)
            for n, c in (("张三", "10000001"), ("李四", "10000002"), ("王五", "10000003"))
        ]
        theirs = f.household(other, head_name="钱七", card="20000001")
        f.identity("o_cadre_me", cadre=me)
        f.identity("o_cadre_other", cadre=other)
        f.identity("o_villager", household=hs[0])
        ids = {"me": me.id, "other": other.id, "h": [h.id for h in hs], "theirs": theirs.id}
    wc = WechatClient(_wechat_app(lx).test_client(), TEST_TOKEN, clock)
    return wc, ids


def say(wc, text, who="o_cadre_me"):
    reply = wc.text(who, text)
    assert reply is not None
    return reply


def _step(renders, reply: str) -> tuple[str, int | None]:
    """(template, step number) of a 登记 reply; the step is the question asked in it."""
    r = renders.behind(reply)
    asked = renders.part("ledger_form_ask", reply) if r.name != "ledger_form_confirm" else None
    return r.name, asked["n"] if asked else None


def test_guided_registration_with_skip_invalid_and_confirm(lx, world, clock, renders):
    wc, ids = world
    r = say(wc, "登记 张三")
    assert _step(renders, r) == ("ledger_form_start", 1) and renders.behind(r)["head"] == "张三"
    r = say(wc, "张三 户主 56；李四妻子54岁，张小明 儿子 30")  # liberal separators
    assert _step(renders, r) == ("ledger_form_ask", 2)
    r = say(wc, "好多钱")  # invalid: asked again with an example
    assert _step(renders, r) == ("ledger_form_invalid", 2) and renders.behind(r)["step"] == "annual_income"
    r = say(wc, "３.５万元")
    assert _step(renders, r) == ("ledger_form_ask", 3)
    r = say(wc, "跳过")  # industries stays as it was (empty)
    assert _step(renders, r) == ("ledger_form_ask", 4)
    r = say(wc, "缺少烤烟技术")
    confirm = renders.behind(r)
    assert confirm.name == "ledger_form_confirm" and "35,000" in r and confirm["complete"] is False
    assert (confirm["population"], confirm["listed"]) == (4, 3)  # the list names 3 of a household of 4
    with lx.session() as s:  # nothing saved before 确认
        assert s.get(Household, ids["h"][0]).annual_income is None
    saved = renders.behind(say(wc, "确认"))
    assert saved.name == "ledger_form_saved" and saved["missing"] == ["industries"]
    with lx.session() as s:
        h = s.get(Household, ids["h"][0])
        assert h.members == [
            {"name": "张三", "relation": "户主", "age": 56},
            {"name": "李四", "relation": "妻子", "age": 54},
            {"name": "张小明", "relation": "儿子", "age": 30},
        ]
        assert (
            h.annual_income == Decimal("35000.00")
            and h.industries is None
            and h.difficulties == "缺少烤烟技术"
        )
        assert h.population == 4 and h.info_updated_by == "cadre:13900000001"  # the link list's figure stays
        fields = sorted(
            s.scalars(select(HouseholdInfoHistory.field).where(HouseholdInfoHistory.household_id == h.id))
        )
        assert fields == ["annual_income", "difficulties", "members"]
        rec = s.scalar(select(DutyRecord).where(DutyRecord.duty == "info"))
        assert rec.household_id == h.id and rec.done_on == date(2026, 11, 24)
        assert s.scalar(select(func.count()).select_from(ConversationState)) == 0
    # After the form, plain text is a diary entry again (and it names 张三: a visit).
    r = say(wc, "走访张三家")
    with lx.session() as s:
        entry = s.scalar(select(DiaryEntry))
        assert entry is not None and entry.text == "走访张三家"


def test_cancel_works_in_every_step_and_saves_nothing(lx, world, renders):
    wc, ids = world
    answers = ["张三 户主 56", "3万", "烤烟"]
    for k in range(4):
        say(wc, "登記 10000002")  # Traditional form and a card number
        for a in answers[:k]:
            say(wc, a)
        r = say(wc, "退出" if k % 2 else "取消")
        assert renders.behind(r).name == "ledger_form_cancelled"
    with lx.session() as s:
        h = s.get(Household, ids["h"][1])
        assert (h.members, h.annual_income, h.industries, h.info_updated_at) == (None, None, None, None)
        assert s.scalar(select(func.count()).select_from(DutyRecord)) == 0
        assert s.scalar(select(func.count()).select_from(HouseholdInfoHistory)) == 0


def test_commands_during_the_form_are_not_answers(lx, world, renders):
    wc, ids = world
    say(wc, "登记 张三")
    say(wc, "张三 户主 56")
    marked = renders.behind(say(wc, "宣传 李四"))  # runs as a command; the form stays open
    assert (marked.name, marked["duty"], marked["done"]) == (
        "ledger_marked",
        "policy",
        [("李四", "10000002")],
    )
    assert _step(renders, say(wc, "3万")) == ("ledger_form_ask", 3)
    r = say(wc, "登记 王五")  # a new 登记 starts over with the other household
    assert _step(renders, r) == ("ledger_form_start", 1) and renders.behind(r)["head"] == "王五"
    for a in ("跳过", "跳过", "种桑养蚕", "无", "确认"):
        r = say(wc, a)
    assert (renders.behind(r).name, renders.behind(r)["head"]) == ("ledger_form_saved", "王五")
    with lx.session() as s:
        assert s.get(Household, ids["h"][0]).members is None  # 张三's answers were never confirmed
        h = s.get(Household, ids["h"][2])
        assert (h.industries, h.difficulties) == ("种桑养蚕", "无")
        assert s.get(Household, ids["h"][1]).policy_done_on == date(2026, 11, 24)


def test_form_times_out(lx, world, clock):
    wc, ids = world
    say(wc, "登记 张三")
    clock.advance(minutes=31)
    say(wc, "张三 户主 56")  # no longer an answer: a diary entry
    with lx.session() as s:
        assert s.get(Household, ids["h"][0]).members is None
        assert s.scalar(select(DiaryEntry.text)) == "张三 户主 56"


def test_register_refuses_other_cadres_household(lx, world, renders):
    wc, ids = world
    theirs = renders.behind(say(wc, "登记 钱七"))
    assert theirs.name == "ledger_form_notfound" and theirs["targets"].not_theirs == ["钱七"]
    missing = renders.behind(say(wc, "登记 查无此人"))
    assert missing.name == "ledger_form_notfound" and missing["targets"].not_found == ["查无此人"]
    with lx.session() as s:
        assert s.scalar(select(func.count()).select_from(ConversationState)) == 0


def test_bulk_policy_all_then_undo(lx, world, clock, renders):
    wc, ids = world
    marked = renders.behind(say(wc, "宣傳 全部"))
    assert (
        marked.name == "ledger_marked"
        and marked["everyone"]
        and [n for n, _ in marked["done"]]
        == [
            "张三",
            "李四",
            "王五",
        ]
    )
    with lx.session() as s:
        days = s.scalars(select(Household.policy_done_on).where(Household.id.in_(ids["h"]))).all()
        assert days == [date(2026, 11, 24)] * 3
        assert s.get(Household, ids["theirs"]).policy_done_on is None
        led = build_ledger(s, today=date(2026, 11, 24), cadre_phone="13900000001")
        assert led["cadres"][0]["policy_done"] == 3
    again = renders.behind(say(wc, "宣传 全部"))  # again: nothing new
    assert again["done"] == [] and len(again["already"]) == 3
    clock.advance(minutes=5)
    undone = renders.behind(say(wc, "撤销"))
    assert undone.name == "ledger_undone" and sorted(undone["names"]) == ["张三", "李四", "王五"]
    with lx.session() as s:
        assert (
            s.scalars(select(Household.policy_done_on).where(Household.id.in_(ids["h"]))).all() == [None] * 3
        )
        assert (
            s.scalar(select(func.count()).select_from(DutyRecord).where(DutyRecord.undone_at.is_(None))) == 0
        )


def test_card_and_commitment_several_names_refusing_others(lx, world, renders):
    wc, ids = world
    cards = renders.behind(say(wc, "发卡 张三，10000002、钱七 无名氏"))
    assert [n for n, _ in cards["done"]] == ["张三", "李四"] and cards["not_found"] == ["无名氏"]
    assert cards["not_theirs"] == ["钱七"]
    promised = renders.behind(say(wc, "承诺 王五"))
    assert (promised["duty"], [n for n, _ in promised["done"]]) == ("commitment", ["王五"])
    with lx.session() as s:
        issued = dict(s.execute(select(ServiceCard.household_id, ServiceCard.issued_on)).tuples().all())
        assert issued == {
            ids["h"][0]: date(2026, 11, 24),
            ids["h"][1]: date(2026, 11, 24),
            ids["h"][2]: None,
            ids["theirs"]: None,
        }
        link = s.scalar(select(Link).where(Link.household_id == ids["h"][2]))
        assert link.commitment_signed_on == date(2026, 11, 24)
        assert link.commitment_recorded_by == "cadre:13900000001"
    # 撤销 takes back only the last command (承诺), then the one before (发卡).
    assert renders.behind(say(wc, "撤销"))["duty_name"] == DUTY_NAMES["commitment"]
    assert renders.behind(say(wc, "撤销"))["duty_name"] == DUTY_NAMES["card"]
    with lx.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(ServiceCard).where(ServiceCard.issued_on.is_not(None)))
            == 0
        )
        assert s.scalar(select(Link.commitment_signed_on).where(Link.household_id == ids["h"][2])) is None


def test_undo_most_recent_action_wins_between_diary_and_ledger(lx, world, clock, renders):
    wc, ids = world
    say(wc, "宣传 张三")
    clock.advance(minutes=1)
    say(wc, "今天走访李四")  # a diary entry after the ledger command
    clock.advance(minutes=1)
    r = say(wc, "撤销")  # the diary entry goes first
    with lx.session() as s:
        assert s.scalar(select(DiaryEntry.deleted_at)) is not None
        assert s.get(Household, ids["h"][0]).policy_done_on == date(2026, 11, 24)
    r = say(wc, "撤销")  # then the 宣传
    assert (renders.behind(r).name, renders.behind(r)["duty_name"]) == ("ledger_undone", DUTY_NAMES["policy"])
    with lx.session() as s:
        assert s.get(Household, ids["h"][0]).policy_done_on is None
    # After 10 minutes nothing of the ledger can be undone.
    say(wc, "发卡 张三")
    clock.advance(minutes=11)
    say(wc, "撤销")
    with lx.session() as s:
        assert (
            s.scalar(select(ServiceCard.issued_on).where(ServiceCard.household_id == ids["h"][0])) is not None
        )


def test_undo_of_registration_restores_previous_values(lx, world, renders):
    wc, ids = world
    for a in ("登记 王五", "王五 户主 70", "2万", "养牛", "无", "确认"):
        say(wc, a)
    undone = renders.behind(say(wc, "撤销"))
    assert (undone.name, undone["names"], undone["duty_name"]) == (
        "ledger_undone",
        ["王五"],
        DUTY_NAMES["info"],
    )
    with lx.session() as s:
        h = s.get(Household, ids["h"][2])
        assert (h.members, h.annual_income, h.industries, h.difficulties) == (None, None, None, None)
        assert h.info_updated_at is None and h.population == 4
        assert (
            s.scalar(
                select(func.count())
                .select_from(HouseholdInfoHistory)
                .where(HouseholdInfoHistory.changed_by.like("%撤销"))
            )
            == 4
        )


def test_villager_cannot_run_ledger_commands(lx, world):
    wc, ids = world
    for text in ("宣传 全部", "发卡 张三", "登记 张三", "承诺 张三", "改 调解"):
        wc.text("o_villager", text)
    with lx.session() as s:
        assert s.scalar(select(func.count()).select_from(DutyRecord)) == 0
        assert s.scalar(select(func.count()).select_from(ConversationState)) == 0
        assert (
            s.scalar(select(func.count()).select_from(Household).where(Household.policy_done_on.is_not(None)))
            == 0
        )


def test_other_cadre_cannot_touch_my_households(lx, world, renders):
    wc, ids = world
    r = say(wc, "宣传 张三 李四", who="o_cadre_other")
    assert renders.behind(r)["done"] == [] and renders.behind(r)["not_theirs"] == [
        "张三",
        "李四",
    ]
    r = say(wc, "宣传 全部", who="o_cadre_other")
    assert "钱七" in r
    with lx.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Household).where(Household.policy_done_on.is_not(None)))
            == 1
        )
        assert s.get(Household, ids["theirs"]).policy_done_on is not None


def test_change_role_of_latest_diary_entry_and_mentions(lx, world, renders):
    wc, ids = world
    assert renders.behind(say(wc, "改 调解")).name == "ledger_role_no_entry"
    say(wc, "今天去张三家和10000002户走访")
    r = renders.behind(say(wc, "改 调解"))
    assert (r.name, r["new"]) == ("ledger_role_changed", ROLES["调解"])
    r = renders.behind(say(wc, "改为服务"))
    assert (r.name, r["old"], r["new"]) == ("ledger_role_changed", ROLES["调解"], ROLES["服务"])
    r = renders.behind(say(wc, "改 厨师"))
    assert (r.name, r["word"]) == ("ledger_role_usage", "厨师")
    with lx.session() as s:
        entry = s.scalar(select(DiaryEntry))
        assert entry.role == "服务"
        mentioned = set(s.scalars(select(DiaryMention.household_id)))
    assert mentioned == {ids["h"][0], ids["h"][1]}  # linked by handlers/diary.py save_diary_entry


@pytest.mark.parametrize(
    "text,expected",
    [
        ("张三 户主 56; 李四 妻子 54", [("张三", "户主", 56), ("李四", "妻子", 54)]),
        ("张三户主56岁、李四 54", [("张三", "户主", 56), ("李四", None, 54)]),
        ("张三 56 李四 54", [("张三", None, 56), ("李四", None, 54)]),
        ("王老汉", [("王老汉", None, None)]),
    ],
)
def test_parse_members(text, expected):
    assert [(m["name"], m["relation"], m["age"]) for m in parse_members(text)] == expected


@pytest.mark.parametrize("text", ["", "56", "户主 56", "张三 200", "张三 56 57"])
def test_parse_members_refuses(text):
    from handlers.ledger.parsers import Invalid

    with pytest.raises(Invalid):
        parse_members(text)


@pytest.mark.parametrize(
    "text,value",
    [
        ("3万", "30000"),
        ("3.5万元", "35000"),
        ("30000", "30000"),
        ("３０，０００元", "30000"),
        ("8千", "8000"),
        ("约2万左右", "20000"),
        ("两万", "20000"),
        ("0", "0"),
    ],
)
def test_parse_income(text, value):
    assert parse_income(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "很多", "-5", "3万5千8", "999999999999"])
def test_parse_income_refuses(text):
    from handlers.ledger.parsers import Invalid

    with pytest.raises(Invalid):
        parse_income(text)


def test_another_cadres_card_number_is_answered_as_a_missing_one(lx, world):
    """A number is a credential: the reply must not tell real numbers apart from made-up ones."""
    wc, ids = world
    with lx.session() as s:
        theirs = s.scalar(
            select(ServiceCard.number)
            .join(Household, ServiceCard.household_id == Household.id)
            .where(Household.head_name == "张三")
        )
    real, made_up = (
        say(wc, f"宣传 {theirs}", who="o_cadre_other"),
        say(wc, "宣传 87654321", who="o_cadre_other"),
    )
    assert real.replace(theirs, "N") == made_up.replace("87654321", "N")
    assert say(wc, f"登记 {theirs}", who="o_cadre_other").replace(theirs, "N") == say(
        wc, "登记 87654321", who="o_cadre_other"
    ).replace("87654321", "N")
