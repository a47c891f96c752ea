"""Contracts passed as typed values, not strings parsed back: a card's push carries its assignment's id (delivery,
WeChat's late receipts and a card's cancellation used to parse ``task:<task>:cadre:<cadre>`` out of the push's
key), and a cadre's photo joins their card feedback by the cadre's id (it matched the author text
``cadre:<phone>``, which a changed phone broke)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from handlers import task_notices
from reminders.delivery import dispatch_outbox
from storage import tasks as svc
from storage.models import Attachment, Cadre, Feedback, OutboxMessage, TaskAssignment
from storage.push_receipts import template_job_finished
from storage.targets import Target
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import PHONE, Chat, bound, cadre_world
from tests.support.factories import Factory

TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


@pytest.fixture
def fake(clock: Any) -> Any:
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


def _card(lx: Any, clock: Any) -> tuple[int, int]:
    """A card for one bound cadre; (its number, the assignment's id). Its push's key is then renamed, so that
    only the id the row carries can tell delivery which assignment it is."""
    with lx.session() as s:
        f = Factory(s)
        f.identity("o-li", cadre=f.cadre(name="李明"))
        card = task_notices.create_task(
            s,
            title="防火",
            body="",
            deadline=clock() + timedelta(days=2),
            targets=[Target.all()],
            now=clock(),
        )
        [(aid, key_assignment)] = s.execute(
            select(TaskAssignment.id, OutboxMessage.assignment_id).join(
                OutboxMessage, OutboxMessage.assignment_id == TaskAssignment.id
            )
        ).all()
        assert aid == key_assignment
        s.execute(update(OutboxMessage).values(idempotency_key="card-push-renamed"))
        return card.number, aid


def test_a_card_push_marks_the_assignment_it_carries_delivered_and_late_receipts_undo_it(
    make_lx: Any, clock: Any, fake: Any
) -> None:
    lx = make_lx(**{"wechat.api_base": fake.url, **TEMPLATES})
    _, aid = _card(lx, clock)
    dispatch_outbox(lx)
    with lx.session() as s:
        assert s.get(TaskAssignment, aid).status == "delivered"
        push = s.scalar(select(OutboxMessage))
        template_job_finished(s, openid="o-li", msgid=push.wechat_msgid, status="failed:system failed")
    with lx.session() as s:
        assert s.get(TaskAssignment, aid).status == "pending"


def test_cancelling_a_card_withdraws_its_pending_pushes_by_assignment(make_lx: Any, clock: Any) -> None:
    lx = make_lx()
    number, _ = _card(lx, clock)
    with lx.session() as s:
        svc.cancel_task(s, number=number, actor="test", now=clock())
    with lx.session() as s:
        assert s.scalar(select(OutboxMessage.id)) is None


def test_a_photo_joins_the_cadres_feedback_after_the_cadres_phone_changed(make_lx: Any, clock: Any) -> None:
    chat: Chat = cadre_world(make_lx, clock)
    bound(chat)
    with chat.lx.session() as s:
        card = task_notices.create_task(
            s,
            title="清理河道",
            body="",
            deadline=clock() + timedelta(days=2),
            targets=[Target.all()],
            now=clock(),
        )
        number = card.number
    chat.wc.text("o-li", f"反馈 {number} 已清理")
    with chat.lx.session() as s:
        li = s.scalar(select(Cadre).where(Cadre.phone == PHONE))
        assert s.scalar(select(Feedback.cadre_id)) == li.id
        li.phone = "13900009999"  # a new phone number
    assert "任务反馈" in chat.wc.image("o-li")
    assert chat.one(select(Attachment.owner_type)) == "feedback"
