"""The household register without re-importing (issue 24 item 4; storage/register.py): ``lianxin household add``
draws a card number and links the household to its cadre; ``household close`` ends its part in the programme —
its card links no more and says whom to ask, its accounts are unlinked and told, it leaves the counts and the
ledger from that day — and a list imported later shows what it would undo and asks first."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from storage.importer import plan_import, read_rows
from storage.ledger.query import build_ledger
from storage.models import (
    AuditLog,
    Cadre,
    Household,
    HouseholdInfoHistory,
    Link,
    LinkChange,
    OutboxMessage,
    ServiceCard,
    VillagerGroup,
    VillagerRequest,
    WechatIdentity,
)
from tests.support.chat_env import PHONE, Chat, bound, cadre_world
from tests.support.cli import audit_actions, run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.link_lists import GOOD


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


def household_of(chat: Chat, card: str) -> Household:
    return chat.one(select(Household).join(ServiceCard).where(ServiceCard.number == card))


def test_household_add_prints_the_new_card_number_last_and_the_number_links(chat: Chat, renders: Any) -> None:
    r = run_cli(
        chat.lx,
        "household", "add", "--village", "新桥村", "--group", "五组", "--head", "孙大娘",
        "--phone", "13811112222", "--size", "3", "--cadre", PHONE,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    number = r.output.strip().splitlines()[-1]
    h = household_of(chat, number)
    assert (h.head_name, h.head_phone, h.population, h.added_by) == ("孙大娘", "13811112222", 3, "cli")
    assert chat.one(select(VillagerGroup.name).where(VillagerGroup.id == h.group_id)) == "五组"
    assert chat.one(select(Link.cadre_id).where(Link.household_id == h.id)) is not None
    assert "household.add" in audit_actions(chat.lx)
    # the villager links with the number as with any card
    assert renders.behind(chat.wc.text("o-sun", number)).name == "card_linked"
    assert chat.one(select(WechatIdentity.household_id).where(WechatIdentity.openid == "o-sun")) == h.id


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--village", "不存在村"], "没有名为"),
        (["--cadre", "13000000000"], "没有电话为"),
        (["--phone", "12345"], "不是有效"),
        (["--size", "-1"], "家庭人口"),
    ],
)
def test_household_add_refuses_bad_input_and_changes_nothing(chat: Chat, args: list[str], words: str) -> None:
    base = {
        "--village": "新桥村",
        "--head": "孙大娘",
        "--phone": "13811112222",
        "--size": "3",
        "--cadre": PHONE,
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    before = chat.count(Household)
    r = run_cli(chat.lx, "household", "add", *[x for kv in base.items() for x in kv])
    assert r.exit_code != 0 and words in r.output
    assert chat.count(Household) == before
    assert "household.add" not in audit_actions(chat.lx)


def test_the_same_household_is_not_added_twice(chat: Chat) -> None:
    args = [
        "--village",
        "新桥村",
        "--head",
        "孙大娘",
        "--phone",
        "13811112222",
        "--size",
        "3",
        "--cadre",
        PHONE,
    ]
    assert run_cli(chat.lx, "household", "add", *args).exit_code == 0
    again = run_cli(chat.lx, "household", "add", *args)
    assert again.exit_code != 0 and "未重复添加" in again.output


def test_closing_unlinks_and_tells_the_accounts_and_the_number_names_whom_to_ask(
    chat: Chat, clock: Any, renders: Any
) -> None:
    """The card's answer after closing is what a villager reads: it names the cadre and the phone."""
    bound(chat)
    chat.wc.text("o-zhang", "20261124")
    chat.wc.text("o-zhang-son", "20261124")
    h = household_of(chat, "20261124")
    assert chat.count(WechatIdentity, WechatIdentity.household_id == h.id) == 2

    r = run_cli(chat.lx, "household", "close", "20261124", "--reason", "迁出", "--date", "2026-11-20")
    assert r.exit_code == 0, r.output
    h = household_of(chat, "20261124")
    assert (h.closed_on, h.closed_reason, h.closed_by) == (date(2026, 11, 20), "迁出", "cli")
    assert chat.count(WechatIdentity, WechatIdentity.household_id == h.id) == 0
    pushes = {
        m.openid: renders.behind(m.payload["text"])
        for m in chat.all(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.like("%household-close:%"))
        )
    }
    assert set(pushes) == {"o-zhang", "o-zhang-son"}
    assert all(p.name == "household_closed_push" and p["cadre"].phone == PHONE for p in pushes.values())
    assert chat.count(HouseholdInfoHistory, HouseholdInfoHistory.household_id == h.id) == 1
    assert "household.close" in audit_actions(chat.lx)

    reply = chat.wc.text("o-zhang", "20261124")
    assert renders.behind(reply).name == "card_closed"
    assert "李明" in reply and PHONE in reply and "已销户" in reply
    assert chat.count(WechatIdentity, WechatIdentity.household_id == h.id) == 0
    # the card's number is its own household's, not a guess: the account is not held back by the guess limit
    assert renders.behind(chat.wc.text("o-zhang", "20261125")).name == "card_linked"


def test_closing_refuses_a_future_date_an_unknown_card_and_a_second_close(chat: Chat) -> None:
    future = run_cli(chat.lx, "household", "close", "20261124", "--reason", "去世", "--date", "2026-12-01")
    assert future.exit_code != 0 and "不能晚于今天" in future.output
    unknown = run_cli(chat.lx, "household", "close", "99999999", "--reason", "去世")
    assert unknown.exit_code != 0 and "没有卡号" in unknown.output
    bad = run_cli(chat.lx, "household", "close", "20261124", "--reason", "走了")
    assert bad.exit_code != 0
    assert household_of(chat, "20261124").closed_on is None
    assert run_cli(chat.lx, "household", "close", "20261124", "--reason", "去世").exit_code == 0
    again = run_cli(chat.lx, "household", "close", "20261124", "--reason", "去世")
    assert again.exit_code != 0 and "已于" in again.output
    assert audit_actions(chat.lx).count("household.close") == 1


def test_a_closed_household_leaves_the_ledger_from_its_day_and_the_cadres_list(
    chat: Chat, renders: Any
) -> None:
    assert run_cli(chat.lx, "household", "close", "20261125", "--reason", "合户").exit_code == 0
    with chat.lx.session() as s:
        now_ = build_ledger(s, today=date(2026, 11, 24), cadre_phone=PHONE)
        october = build_ledger(s, today=date(2026, 11, 24), month="2026-10", cadre_phone=PHONE)
    assert "刘婶" not in {r["head_name"] for r in now_["missing"]}
    assert "刘婶" in {r["head_name"] for r in october["missing"]}
    assert now_["totals"]["households"] == 1
    assert october["totals"]["households"] == 2  # the days before still count
    bound(chat)
    reply = chat.wc.text("o-li", "农户")
    assert "刘婶" not in reply and "张大爷" in reply


def test_reimporting_a_list_naming_a_closed_household_asks_first(
    make_lx: Any, clock: Any, tmp_path: Any
) -> None:
    clock.set("2026-11-24 10:00")
    lx = make_lx()
    assert run_cli(lx, "import", str(GOOD), "--township", "示范镇").exit_code == 0
    assert run_cli(lx, "household", "close", "00100002", "--reason", "迁出").exit_code == 0

    refused = run_cli(lx, "import", str(GOOD), "--township", "示范镇")
    assert refused.exit_code == 1
    assert "陈金花" in refused.output and "--yes" in refused.output
    with lx.session() as s:
        h = s.scalar(select(Household).join(ServiceCard).where(ServiceCard.number == "00100002"))
        assert h.closed_on is not None  # nothing written
        plan = plan_import(s, read_rows(GOOD.read_bytes(), GOOD.name), township="示范镇")
        assert [e.kind for e in plan.register_edits] == ["reopen"]

    applied = run_cli(lx, "import", str(GOOD), "--township", "示范镇", "--yes")
    assert applied.exit_code == 0, applied.output
    with lx.session() as s:
        h = s.scalar(select(Household).join(ServiceCard).where(ServiceCard.number == "00100002"))
        assert h.closed_on is None
        assert s.scalar(
            select(AuditLog.detail).where(AuditLog.action == "import").order_by(AuditLog.id.desc())
        )


def test_reimporting_a_list_without_an_added_household_names_it(make_lx: Any, clock: Any) -> None:
    clock.set("2026-11-24 10:00")
    lx = make_lx()
    assert run_cli(lx, "import", str(GOOD), "--township", "示范镇").exit_code == 0
    added = run_cli(
        lx,
        "household",
        "add",
        "--village",
        "新桥村",
        "--head",
        "孙大娘",
        "--size",
        "2",
        "--cadre",
        "13987654321",
    )
    assert added.exit_code == 0, added.output
    with lx.session() as s:
        plan = plan_import(s, read_rows(GOOD.read_bytes(), GOOD.name), township="示范镇")
    assert [(e.kind, "孙大娘" in e.message) for e in plan.register_edits] == [("missing", True)]
    assert run_cli(lx, "import", str(GOOD), "--township", "示范镇").exit_code == 1
    assert run_cli(lx, "import", str(GOOD), "--township", "示范镇", "--yes").exit_code == 0
    with lx.session() as s:
        assert s.scalar(select(Household).where(Household.head_name == "孙大娘")) is not None


def test_a_closed_households_open_request_stays_answerable_by_its_cadre(chat: Chat, renders: Any) -> None:
    """Decided (storage/register.py): the cadre may still answer and close it; the answer is recorded, and not
    pushed to the accounts unlinked at the closing (they were told whom to ask) — the cadre's reply says so."""
    bound(chat)
    chat.wc.text("o-zhang", "20261124")
    chat.wc.text("o-zhang", "家里水管冻裂了，请帮忙看看")
    number = chat.one(select(VillagerRequest.number).where(VillagerRequest.text.like("%水管%")))
    assert number is not None
    assert run_cli(chat.lx, "household", "close", "20261124", "--reason", "迁出").exit_code == 0
    sent = renders.behind(chat.wc.text("o-li", f"回复 {number} 已安排师傅明天上门"))
    assert sent.name == "reply_sent" and sent["relayed"] is False
    req = chat.one(select(VillagerRequest).where(VillagerRequest.number == number))
    assert req.first_answer_at is not None
    kinds = [m.kind for m in chat.all(select(OutboxMessage).where(OutboxMessage.openid == "o-zhang"))]
    assert kinds == ["notice"]  # the closing's notice only


# ------------------------------------------------------------------------------------------------ console


def test_the_office_adds_and_closes_a_household_on_the_console(world: World) -> None:
    office = world.login("admin")
    assert office.get("/households/new").status_code == 200
    r = office.post(
        "/households/new",
        {
            "village_id": str(world.ids["village_a"]),
            "group": "三组",
            "head": "孙大娘",
            "phone": "13811119999",
            "size": "2",
            "cadre_id": str(world.ids["cadre_a"]),
        },
    )
    assert r.status_code == 302
    h = world.one(select(Household).where(Household.head_name == "孙大娘"))
    assert h is not None and h.added_by == "console:admin"
    assert world.one(select(ServiceCard.number).where(ServiceCard.household_id == h.id))
    refused = office.post(
        "/households/new",
        {
            "village_id": str(world.ids["village_a"]),
            "head": "",
            "size": "2",
            "cadre_id": str(world.ids["cadre_a"]),
        },
    )
    assert refused.status_code == 400

    hh_a = world.ids["hh_a"]  # 张大山, linked by demo-villager-001
    assert 'id="household-close"' in page_text(office.get(f"/households/{hh_a}"))
    assert (
        office.post(f"/households/{hh_a}/close", {"reason": "去世", "date": "2026-11-23"}).status_code == 302
    )
    closed = world.one(select(Household).where(Household.id == hh_a))
    assert (closed.closed_on, closed.closed_reason) == (date(2026, 11, 23), "去世")
    assert world.count(WechatIdentity, WechatIdentity.household_id == hh_a) == 0
    assert world.count(OutboxMessage, OutboxMessage.openid == "demo-villager-001") >= 1
    page = page_text(office.get(f"/households/{hh_a}"))
    assert 'id="household-closed"' in page and "去世" in page and 'id="household-close"' not in page
    assert "已销户" in page_text(office.get("/households"))
    again = office.post(f"/households/{hh_a}/close", {"reason": "迁出"})
    assert again.status_code == 400
    assert [a.actor for a in world.audits("household.close")] == ["console:admin"]
    assert [a.actor for a in world.audits("household.add")] == ["console:admin"]


def test_a_village_account_neither_adds_nor_closes(world: World) -> None:
    clerk = world.login("xinqiao")
    assert clerk.get("/households/new").status_code == 403
    assert clerk.post(f"/households/{world.ids['hh_a']}/close", {"reason": "迁出"}).status_code == 403
    assert world.one(select(Household.closed_on).where(Household.id == world.ids["hh_a"])) is None


def test_the_office_records_no_new_offline_request_for_a_closed_household(world: World) -> None:
    office = world.login("admin")
    assert office.post(f"/households/{world.ids['hh_a2']}/close", {"reason": "迁出"}).status_code == 302
    before = world.count(VillagerRequest)
    r = office.post(
        "/offline/request",
        {
            "household_id": world.ids["hh_a2"],
            "channel": "visit",
            "at": "2026-11-24T08:00",
            "text": "想申请危房改造",
        },
    )
    assert r.status_code == 400 and "销户" in page_text(r)
    assert world.count(VillagerRequest) == before


def test_reimporting_a_list_that_puts_a_moved_household_back_under_its_old_cadre_names_it(
    make_lx: Any, clock: Any
) -> None:
    clock.set("2026-11-24 10:00")
    lx = make_lx()
    assert run_cli(lx, "import", str(GOOD), "--township", "示范镇").exit_code == 0
    with lx.session() as s:  # the register moves 陈金花 (李明's in the list) to another cadre of the list
        h = s.scalar(select(Household).join(ServiceCard).where(ServiceCard.number == "00100002"))
        link = s.scalar(select(Link).where(Link.household_id == h.id))
        other = s.scalar(select(Cadre).where(Cadre.id != link.cadre_id).order_by(Cadre.id))
        s.add(
            LinkChange(
                household_id=h.id,
                old_cadre_id=link.cadre_id,
                new_cadre_id=other.id,
                changed_at=clock(),
                changed_by="console:admin",
            )
        )
        link.cadre_id = other.id
    with lx.session() as s:
        plan = plan_import(s, read_rows(GOOD.read_bytes(), GOOD.name), township="示范镇")
    assert [(e.kind, e.row, "陈金花" in e.message) for e in plan.register_edits] == [("move", 3, True)]
    refused = run_cli(lx, "import", str(GOOD), "--township", "示范镇")
    assert refused.exit_code == 1 and "陈金花" in refused.output
