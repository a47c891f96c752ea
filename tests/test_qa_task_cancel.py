"""QA finding: cancelling a card withdraws its pushes still queued; nothing else in the queue is touched."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from reminders.delivery import dispatch_outbox
from storage import tasks as svc
from storage.models import AuditLog, OutboxMessage
from storage.outbox import enqueue
from tests.fake_wechat import FakeWechat
from tests.support.factories import Factory


def test_cancelled_card_is_not_pushed_but_other_queued_messages_are(make_lx, clock):

    with FakeWechat() as fake:
        lx = make_lx(**{"wechat.api_base": fake.url, "wechat.request_timeout_seconds": 0.5,
                        **{f"wechat.templates.{k}": f"TPL_{k}" for k in ("task", "reminder", "request", "reply",
                                                                           "notice")}})
        clock.set("2026-11-24 09:00")
        with lx.session() as s:
            f = Factory(s)
            openids = [f.identity(cadre=f.cadre()).openid for _ in range(2)]
            for o in openids:
                fake.interact(o)
            keep = svc.create_task(s, title="保留的卡", body="", deadline=clock() + timedelta(days=3), now=clock())
            gone = svc.create_task(s, title="撤销的卡", body="", deadline=clock() + timedelta(days=3), now=clock())
            enqueue(s, openid=openids[0], kind="reminder", text="一条提醒", key="qa:reminder")
            keep_no, gone_no = keep.number, gone.number
        with lx.session() as s:
            svc.cancel_task(s, number=gone_no, actor="test", now=clock())
        dispatch_outbox(lx)
        texts = [t for o in openids for t in fake.texts_to(o)]
        assert not any("撤销的卡" in t for t in texts), texts
        assert sum("保留的卡" in t for t in texts) == 2 and "一条提醒" in texts
        with lx.session() as s:
            assert s.scalar(select(AuditLog.detail).where(AuditLog.action == "task.cancel")) == {
                "pushes_withdrawn": 2}
            assert not s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert keep_no != gone_no
