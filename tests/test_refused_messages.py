"""People who refuse messages (they switched off 接收消息 in the account's settings): 48002 on a send, 43101 from
template/send, or a TEMPLATESENDJOBFINISH event ``failed:user block`` after WeChat accepted a template message.
The push and the person are marked, the office is told once, nothing is tried again for them until they write
to us again (PRODUCT.md "Safe to run for real")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from reminders.delivery import dispatch_outbox
from storage.models import OutboxMessage, TaskAssignment, VillagerRequest, WechatIdentity
from storage.outbox import enqueue
from storage.tasks import parse_targets
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import Chat, bound, make_chat
from tests.support.console_world import admin_client

PHONE = "13900001111"
OFFICE = "o-office"
TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


@pytest.fixture
def chat(make_lx: Any, clock: Any, fake) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(
        make_lx, clock, **{"scheduler.office_openids": [OFFICE], "wechat.api_base": fake.url, **TEMPLATES}
    )
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书")
        f.household(cadre, head_name="张大爷", card="20261124")
    bound(c, "o-li", PHONE)
    assert "李明" in c.wc.text("o-zhang", "20261124")
    fake.interact("o-zhang")
    dispatch_outbox(c.lx)  # the cadre's link notice
    return c


def _queue(chat: Chat, openid: str, text: str, key: str, kind: str = "reply") -> None:
    with chat.lx.session() as s:
        enqueue(s, openid=openid, kind=kind, text=text, key=key)


def _row(chat: Chat, key: str) -> OutboxMessage:
    return chat.one(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))


def _office_notices(chat: Chat) -> list[str]:
    return [
        m.payload["text"]
        for m in chat.all(
            select(OutboxMessage).where(OutboxMessage.openid == OFFICE, OutboxMessage.kind == "notice")
        )
    ]


def _outside_window(chat: Chat, openid: str) -> None:
    with chat.lx.session() as s:
        s.execute(update(WechatIdentity).where(WechatIdentity.openid == openid).values(window_until=None))


def _deliver_job_events(chat: Chat, fake) -> None:
    for openid, msgid, status in fake.take_job_events():
        chat.wc.event(openid, "TEMPLATESENDJOBFINISH", MsgID=msgid, Status=status)


def test_48002_marks_the_person_and_the_push_tells_the_office_once_and_tries_nothing_more(chat: Chat, fake):
    fake.block("o-zhang")
    _queue(chat, "o-zhang", "您的诉求已办理", "r1")
    dispatch_outbox(chat.lx)
    assert _row(chat, "r1").status == "refused" and "48002" in _row(chat, "r1").last_error
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-zhang"))
    assert ident.unreachable and ident.subscribed and "拒收" in ident.unreachable_reason
    [told] = [t for t in _office_notices(chat) if "拒收" in t]
    assert "张大爷" in told
    calls = len([c for c in fake.calls if c[0] in ("custom", "template")])
    for i in range(3):  # more pushes and more dispatches: not one call for them, no second notice
        _queue(chat, "o-zhang", f"第{i}条", f"r-more{i}")
        dispatch_outbox(chat.lx)
    assert len([c for c in fake.calls if c[0] in ("custom", "template")]) == calls
    assert [_row(chat, f"r-more{i}").status for i in range(3)] == ["refused"] * 3
    assert len([t for t in _office_notices(chat) if "拒收" in t]) == 1
    page = admin_client(chat.lx).get("/delivery").get_data(as_text=True)
    assert "暂不重试的推送（4）" in page and "您的诉求已办理" in page and "张大爷" in page


def test_they_write_again_and_their_kept_pushes_are_delivered(chat: Chat, fake):
    fake.block("o-zhang")
    _queue(chat, "o-zhang", "您的诉求已办理", "r1")
    dispatch_outbox(chat.lx)
    assert _row(chat, "r1").status == "refused"
    fake.unblock("o-zhang")  # they switched messages on again and wrote to us
    fake.interact("o-zhang")
    chat.wc.text("o-zhang", "满意")
    dispatch_outbox(chat.lx)
    assert _row(chat, "r1").status == "sent"
    assert "您的诉求已办理" in fake.texts_to("o-zhang")


def test_template_job_finish_user_block_marks_a_sent_push_refused(chat: Chat, fake):
    fake.block("o-li")  # template/send answers 0; the event tells the truth
    fake.close_window("o-li")
    _outside_window(chat, "o-li")
    _queue(chat, "o-li", "第1号督办卡：冬季防火", "task:1:cadre", kind="task")
    dispatch_outbox(chat.lx)
    row = _row(chat, "task:1:cadre")
    assert row.status == "sent" and row.wechat_msgid
    _deliver_job_events(chat, fake)
    row = _row(chat, "task:1:cadre")
    assert row.status == "refused" and "failed:user block" in row.last_error
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-li"))
    assert ident.unreachable
    assert any("李明" in t and "关闭了公众号消息" in t for t in _office_notices(chat))
    # the cadre refuses messages: the villager's next request goes to the office, and the villager is told
    reply = chat.wc.text("o-zhang", "路灯坏了")
    assert "办公室" in reply
    number = chat.one(select(VillagerRequest.number))
    assert any(
        m.payload["template"]["number"] == str(number)
        for m in chat.all(
            select(OutboxMessage).where(OutboxMessage.openid == OFFICE, OutboxMessage.kind == "request")
        )
    )


def test_two_template_receipts_in_the_same_second_are_both_recorded(chat: Chat, fake):
    fake.block("o-li")
    _outside_window(chat, "o-li")
    _queue(chat, "o-li", "甲", "a", kind="task")
    _queue(chat, "o-li", "乙", "b", kind="task")
    dispatch_outbox(chat.lx)
    _deliver_job_events(chat, fake)  # same openid, same CreateTime, different MsgID
    assert (_row(chat, "a").status, _row(chat, "b").status) == ("refused", "refused")


@pytest.mark.parametrize("status", ["failed:system failed", "failed:freq limit"])
def test_system_failed_and_freq_limit_fail_the_push_and_the_office_can_send_it_again(
    chat: Chat, fake, status
):
    from reminders.delivery import retry

    _outside_window(chat, "o-li")
    fake.job_outcome["o-li"] = status
    _queue(chat, "o-li", "丙", "c", kind="task")
    dispatch_outbox(chat.lx)
    _deliver_job_events(chat, fake)
    row = _row(chat, "c")
    assert row.status == "failed" and status in row.last_error
    ident = chat.one(select(WechatIdentity).where(WechatIdentity.openid == "o-li"))
    assert not ident.unreachable  # not the person's doing
    fake.job_outcome.pop("o-li")
    with chat.lx.session() as s:
        retry(s, row.id, now=chat.clock())
    chat.clock.advance(minutes=11)  # past WeChat's 10-minute 防重入 window for the same client_msg_id
    dispatch_outbox(chat.lx)
    assert _row(chat, "c").status == "sent" and "丙" in " ".join(fake.texts_to("o-li"))


def test_43101_from_template_send_is_a_refusal(chat: Chat, fake):
    fake.block("o-li", template_errcode=43101)
    _outside_window(chat, "o-li")
    _queue(chat, "o-li", "丁", "d", kind="task")
    r = dispatch_outbox(chat.lx)
    assert r.failed == 1 and _row(chat, "d").status == "refused" and "43101" in _row(chat, "d").last_error


def test_a_refused_card_push_no_longer_counts_as_delivered(chat: Chat, fake):
    from handlers import task_notices

    _outside_window(chat, "o-li")
    with chat.lx.session() as s:
        task_notices.create_task(
            s,
            title="冬季防火",
            body="入户宣传",
            deadline=chat.clock() + timedelta(days=3),
            targets=parse_targets(s, [f"cadre:{PHONE}"]),
            actor="test",
            now=chat.clock(),
            tz=chat.lx.config.tz,
        )
    fake.block("o-li")
    dispatch_outbox(chat.lx)
    assert chat.one(select(TaskAssignment.status)) == "delivered"
    _deliver_job_events(chat, fake)
    assert chat.one(select(TaskAssignment.status)) == "pending"


def test_a_card_cancelled_while_its_cadre_refuses_messages_is_not_sent_when_they_write_again(
    chat: Chat, fake
):
    from handlers import task_notices
    from storage.tasks import cancel_task

    fake.interact("o-li")
    fake.block("o-li")
    with chat.lx.session() as s:
        card = task_notices.create_task(
            s,
            title="冬季防火",
            body="入户宣传",
            deadline=chat.clock() + timedelta(days=3),
            targets=parse_targets(s, [f"cadre:{PHONE}"]),
            actor="test",
            now=chat.clock(),
            tz=chat.lx.config.tz,
        )
    dispatch_outbox(chat.lx)
    _deliver_job_events(chat, fake)  # whichever way it went, WeChat says the cadre refused it
    [row] = chat.all(select(OutboxMessage).where(OutboxMessage.kind == "task"))
    assert row.status == "refused"
    with chat.lx.session() as s:
        cancel_task(s, number=card.number, actor="test", now=chat.clock())
    fake.unblock("o-li")
    chat.wc.text("o-li", "任务")
    dispatch_outbox(chat.lx)
    assert not chat.all(select(OutboxMessage).where(OutboxMessage.kind == "task"))
    assert not any("冬季防火" in t for t in fake.texts_to("o-li"))


def test_a_cadre_answering_someone_who_refuses_messages_is_told_to_phone(chat: Chat, fake):
    fake.block("o-zhang")
    _queue(chat, "o-zhang", "您的诉求已办理", "r1")
    dispatch_outbox(chat.lx)  # 48002: 张大爷 marked as refusing messages
    chat.wc.text("o-zhang", "路灯坏了")  # writing again takes the mark off; switch messages off once more
    fake.block("o-zhang")
    _queue(chat, "o-zhang", "又一条", "r2")
    dispatch_outbox(chat.lx)
    number = chat.one(select(VillagerRequest.number))
    answer = chat.wc.text("o-li", f"回复 {number} 明天派人修")
    assert "关闭了公众号消息" in answer and "电话" in answer and "将转达给村民" not in answer
