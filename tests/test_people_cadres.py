"""People change over a year (issue 24 items 1–4 of the cadres): the office hands a cadre's households to a
successor (all, chosen cards, or one household moved), retires the cadre, changes a phone and corrects a name —
from the command line as PRODUCT.md fixes it, every change audited.

The world: 李明 (PHONE, bound as o-li) with 张大爷 (card 20261124, linked WeChat o-zhang) and 刘婶 (20261125);
王芳 (OTHER) with 赵叔 (20261126)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from console.documents.printing import card_rows
from storage import push_links, tasks
from storage.models import (
    AuditLog,
    BindCode,
    Cadre,
    CadreBinding,
    Link,
    LinkChange,
    OutboxMessage,
    PushLink,
    ServiceCard,
    TaskAssignment,
    VillagerRequest,
    WechatIdentity,
)
from tests.support.chat_env import PHONE, Chat, bound, cadre_world
from tests.support.cli import audit_actions, run_cli

OTHER = "13900002222"
NEW = "13900009999"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    c = cadre_world(make_lx, clock)
    bound(c)
    c.wc.text("o-zhang", "20261124")  # 张大爷's family links the card
    return c


def cli(chat: Chat, *args: str) -> Any:
    return run_cli(chat.lx, *args)


def cadre_of(chat: Chat, card: str) -> str:
    return chat.one(
        select(Cadre.phone)
        .join(Link, Link.cadre_id == Cadre.id)
        .join(ServiceCard, ServiceCard.household_id == Link.household_id)
        .where(ServiceCard.number == card)
    )


def pushes(chat: Chat, openid: str, kind: str) -> list[str]:
    return [
        m.payload["text"]
        for m in chat.all(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
    ]


def test_handover_to_a_new_cadre_moves_households_requests_and_tells_the_villagers(chat: Chat) -> None:
    chat.wc.text("o-zhang", "门口的路灯坏了，请帮忙修一下")
    req = chat.one(select(VillagerRequest))
    assert req.cadre_id == chat.one(select(Cadre.id).where(Cadre.phone == PHONE))
    chat.clock.advance(hours=1)

    result = cli(chat, "cadre", "handover", PHONE, "--to", NEW, "--name", "陈新", "--post", "村委委员")
    assert result.exit_code == 0, result.output
    assert "陈新" in result.output and "2 户" in result.output

    new = chat.one(select(Cadre).where(Cadre.phone == NEW))
    assert (new.name, new.post, new.active) == ("陈新", "村委委员", True)
    assert cadre_of(chat, "20261124") == NEW and cadre_of(chat, "20261125") == NEW
    assert cadre_of(chat, "20261126") == OTHER  # 王芳's household stays
    assert chat.count(LinkChange, LinkChange.new_cadre_id == new.id) == 2
    moved = chat.one(select(VillagerRequest))
    assert moved.cadre_id == new.id and moved.handed_over_at is not None
    [told] = pushes(chat, "o-zhang", "notice")
    assert "陈新" in told and NEW in told
    # the duties tied to the cadre start again from the successor
    assert chat.count(ServiceCard, ServiceCard.issued_on.is_not(None)) == 0

    # the villager's next message reaches the successor
    chat.wc.text("o-zhang", "路灯修好了吗？还有个事想问")
    latest = chat.one(select(VillagerRequest).order_by(VillagerRequest.id.desc()).limit(1))
    assert latest.cadre_id == new.id
    assert {"cadre.add", "cadre.handover"} <= set(audit_actions(chat.lx))


def test_handover_of_chosen_cards_to_an_existing_cadre(chat: Chat) -> None:
    result = cli(chat, "cadre", "handover", PHONE, "--to", OTHER, "--card", "20261125")
    assert result.exit_code == 0, result.output
    assert cadre_of(chat, "20261125") == OTHER and cadre_of(chat, "20261124") == PHONE
    assert chat.count(Cadre) == 2  # no cadre made


def test_handover_refuses_a_card_not_of_the_cadre_and_a_new_phone_without_a_name(chat: Chat) -> None:
    bad = cli(chat, "cadre", "handover", PHONE, "--to", OTHER, "--card", "20261126")
    assert bad.exit_code != 0 and "20261126" in bad.output
    nameless = cli(chat, "cadre", "handover", PHONE, "--to", NEW)
    assert nameless.exit_code != 0 and "--name" in nameless.output
    assert cadre_of(chat, "20261124") == PHONE and chat.count(Cadre) == 2 and chat.count(LinkChange) == 0


def test_an_open_card_about_a_moved_household_goes_to_the_successor(chat: Chat) -> None:
    bound(chat, "o-wang", OTHER)
    with chat.lx.session() as s:
        task = tasks.create_task(
            s,
            title="张大爷家危房排查",
            body="请核实房屋情况",
            deadline=chat.clock() + timedelta(days=3),
            targets=tasks.parse_targets(s, (f"cadre:{PHONE}",), None),
            households=tasks.households_by_cards(s, ["20261124"]),
            now=chat.clock(),
            words=chat.lx.wording().task_published(chat.lx.config.tz),
        )
        number = task.number
    assert len(pushes(chat, "o-li", "task")) == 1
    result = cli(chat, "household", "move", "20261124", "--cadre", OTHER)
    assert result.exit_code == 0, result.output
    other = chat.one(select(Cadre.id).where(Cadre.phone == OTHER))
    assert chat.all(select(TaskAssignment.cadre_id)) == [other]
    assert len(pushes(chat, "o-wang", "task")) == 1
    assert pushes(chat, "o-li", "task") == []  # the push still waiting for 李明 is withdrawn
    entry = chat.one(select(AuditLog.detail).where(AuditLog.action == "cadre.handover"))
    assert entry["cards"] == [number]


def test_household_move_revokes_the_old_cadres_pages_about_its_requests(chat: Chat) -> None:
    chat.wc.text("o-zhang", "门口的路灯坏了，请帮忙修一下")
    req = chat.one(select(VillagerRequest))
    with chat.lx.session() as s:
        push_links.create_link(
            s,
            outbox_id=None,
            openid="o-li",
            kind="request",
            payload={"text": "x", "template": {"number": str(req.number)}},
            now=chat.clock(),
            days=7,
        )
    assert chat.count(PushLink, PushLink.openid == "o-li", PushLink.revoked_at.is_(None)) == 1
    result = cli(chat, "household", "move", "20261124", "--cadre", OTHER)
    assert result.exit_code == 0, result.output
    assert chat.count(PushLink, PushLink.openid == "o-li", PushLink.revoked_at.is_(None)) == 0
    again = cli(chat, "household", "move", "20261124", "--cadre", OTHER)
    assert again.exit_code == 0 and "没有改动" in again.output
    missing = cli(chat, "household", "move", "99999999", "--cadre", OTHER)
    assert missing.exit_code != 0 and "99999999" in missing.output


def test_retire_is_refused_while_the_cadre_has_households(chat: Chat) -> None:
    result = cli(chat, "cadre", "retire", PHONE)
    assert result.exit_code != 0 and "交接" in result.output
    assert chat.one(select(Cadre.active).where(Cadre.phone == PHONE)) is True
    assert chat.bound_to("o-li") == PHONE


def test_retire_after_handover_releases_the_account_voids_codes_and_keeps_history(chat: Chat) -> None:
    chat.code(PHONE)  # an unused binding code
    assert cli(chat, "cadre", "handover", PHONE, "--to", OTHER).exit_code == 0
    result = cli(chat, "cadre", "retire", PHONE, "--date", "2026-11-25")
    assert result.exit_code == 0, result.output
    cadre = chat.one(select(Cadre).where(Cadre.phone == PHONE))
    assert cadre.active is False and str(cadre.retired_on) == "2026-11-25"
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "unknown"
    assert chat.one(select(CadreBinding.released_why).where(CadreBinding.cadre_id == cadre.id)) == "retired"
    assert (
        chat.count(
            BindCode, BindCode.cadre_id == cadre.id, BindCode.revoked_at.is_(None), BindCode.used_at.is_(None)
        )
        == 0
    )
    [told] = pushes(chat, "o-li", "notice")[-1:]
    assert "退出" in told
    listed = json.loads(cli(chat, "cadre", "list", "--format", "json").output)["cadres"]
    by_phone = {c["phone"]: c for c in listed}
    assert by_phone[PHONE]["status"] == "retired" and by_phone[PHONE]["households"] == 0
    assert by_phone[OTHER]["households"] == 3 and by_phone[OTHER]["status"] == "active"
    assert set(by_phone[OTHER]) >= {"name", "phone", "post", "village", "households", "bound", "status"}
    # a retired cadre gets no binding code and no cards sent to everyone
    assert cli(chat, "bind-code", PHONE).exit_code != 0
    again = cli(chat, "cadre", "retire", PHONE)
    assert again.exit_code != 0
    assert "cadre.retire" in audit_actions(chat.lx)


def test_phone_change_keeps_households_and_binding_and_refuses_a_taken_phone(chat: Chat) -> None:
    taken = cli(chat, "cadre", "phone", PHONE, OTHER)
    assert taken.exit_code != 0 and "王芳" in taken.output
    result = cli(chat, "cadre", "phone", PHONE, "139-0000-7777")
    assert result.exit_code == 0, result.output
    assert cadre_of(chat, "20261124") == "13900007777"
    assert chat.bound_to("o-li") == "13900007777"
    assert cli(chat, "cadre", "handover", PHONE, "--to", OTHER).exit_code != 0  # OLD names nobody now
    entry = chat.one(select(AuditLog).where(AuditLog.action == "cadre.phone"))
    assert entry.detail == {"old": PHONE, "new": "13900007777"}


def test_name_and_post_corrected_and_audited(chat: Chat) -> None:
    result = cli(chat, "cadre", "edit", PHONE, "--name", "李敏", "--post", "村主任")
    assert result.exit_code == 0, result.output
    assert chat.one(select(Cadre.name).where(Cadre.phone == PHONE)) == "李敏"
    assert chat.one(select(AuditLog.detail).where(AuditLog.action == "cadre.edit")) == {
        "name": ["李明", "李敏"],
        "post": ["村支书", "村主任"],
    }


def test_cadre_list_filters_by_village(chat: Chat) -> None:
    listed = json.loads(cli(chat, "cadre", "list", "--village", "没有这个村", "--format", "json").output)
    assert listed == {"cadres": []}
    text = cli(chat, "cadre", "list").output
    assert "李明" in text and "在岗" in text


def test_after_handover_and_retire_the_card_names_the_successor_and_cards_for_all_skip_the_retired(
    chat: Chat,
) -> None:
    assert cli(chat, "cadre", "handover", PHONE, "--to", NEW, "--name", "陈新").exit_code == 0
    assert cli(chat, "cadre", "retire", PHONE).exit_code == 0
    with chat.lx.read_session() as s:
        printed = {row.number: row.cadre_name for row in card_rows(s)}
    assert printed["20261124"] == "陈新" and printed["20261125"] == "陈新" and printed["20261126"] == "王芳"
    issued = cli(
        chat, "task", "create", "--title", "冬季防火", "--body", "逐户宣传", "--deadline", "2026-11-30"
    )
    assert issued.exit_code == 0, issued.output
    retired = chat.one(select(Cadre.id).where(Cadre.phone == PHONE))
    assert retired not in chat.all(select(TaskAssignment.cadre_id))
    assert chat.count(TaskAssignment) == 2  # 陈新 and 王芳
    to_him = cli(
        chat,
        "task",
        "create",
        "--title",
        "x",
        "--body",
        "y",
        "--deadline",
        "2026-11-30",
        "--to",
        f"cadre:{PHONE}",
    )
    assert to_him.exit_code != 0


def _card(chat: Chat, to: str, cards: list[str], days: int = 3) -> int:
    with chat.lx.session() as s:
        task = tasks.create_task(
            s,
            title="入户核查",
            body="请核实情况",
            deadline=chat.clock() + timedelta(days=days),
            targets=tasks.parse_targets(s, (f"cadre:{to}",), None),
            households=tasks.households_by_cards(s, cards),
            now=chat.clock(),
            words=chat.lx.wording().task_published(chat.lx.config.tz),
        )
        return task.number


def test_a_card_about_households_on_both_sides_is_given_to_the_successor_too(chat: Chat) -> None:
    bound(chat, "o-wang", OTHER)
    _card(chat, PHONE, ["20261124", "20261125"])
    assert cli(chat, "cadre", "handover", PHONE, "--to", OTHER, "--card", "20261125").exit_code == 0
    phones = chat.all(
        select(Cadre.phone).join(TaskAssignment, TaskAssignment.cadre_id == Cadre.id).order_by(Cadre.phone)
    )
    assert phones == [PHONE, OTHER]  # 李明 keeps his (张大爷 is still his), 王芳 gets her own
    assert len(pushes(chat, "o-wang", "task")) == 1


def test_the_moved_request_is_pushed_to_the_successor(chat: Chat) -> None:
    bound(chat, "o-wang", OTHER)
    chat.wc.text("o-zhang", "门口的路灯坏了，请帮忙修一下")
    assert len(pushes(chat, "o-li", "request")) == 1
    assert cli(chat, "household", "move", "20261124", "--cadre", OTHER).exit_code == 0
    [pushed] = pushes(chat, "o-wang", "request")
    assert "路灯" in pushed and "张大爷" in pushed
    assert pushes(chat, "o-li", "request") == []  # still waiting for 李明: withdrawn, 王芳 has it


def test_retiring_withdraws_open_cards_not_yet_due_and_keeps_the_answered(chat: Chat) -> None:
    _card(chat, PHONE, [])  # a card for 李明 about no household: it stays with him at the handover
    assert cli(chat, "cadre", "handover", PHONE, "--to", OTHER).exit_code == 0
    li = chat.one(select(Cadre.id).where(Cadre.phone == PHONE))
    assert chat.count(TaskAssignment, TaskAssignment.cadre_id == li) == 1
    result = cli(chat, "cadre", "retire", PHONE)
    assert result.exit_code == 0 and "督办卡 1 张" in result.output
    assert chat.count(TaskAssignment, TaskAssignment.cadre_id == li) == 0
    assert pushes(chat, "o-li", "task") == []  # its push, still waiting, withdrawn


def test_a_cadre_whose_households_are_all_closed_may_retire(chat: Chat) -> None:
    """Closed households keep their link for the history, but nobody is left to hand over (issue 24 items 2, 4)."""
    numbers = chat.all(
        select(ServiceCard.number)
        .join(Link, Link.household_id == ServiceCard.household_id)
        .join(Cadre, Cadre.id == Link.cadre_id)
        .where(Cadre.phone == PHONE)
    )
    assert numbers
    for number in numbers:
        closed = cli(chat, "household", "close", number, "--reason", "迁出")
        assert closed.exit_code == 0, closed.output
    listed = json.loads(cli(chat, "cadre", "list", "--format", "json").output)["cadres"]
    assert {c["phone"]: c["households"] for c in listed}[PHONE] == 0
    result = cli(chat, "cadre", "retire", PHONE)
    assert result.exit_code == 0, result.output
    assert chat.one(select(Cadre.active).where(Cadre.phone == PHONE)) is False
