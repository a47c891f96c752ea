"""A reminder whose period is over before it could be delivered is dropped (status ``expired``), never delivered
late: a week of held delivery does not bring seven diary reminders at once. Supervision cards and villagers'
requests keep their place however long delivery was held (PRODUCT.md "Safe to run for real")."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from handlers import task_notices
from reminders import jobs
from reminders.delivery import dispatch_outbox
from storage.models import Cadre, OutboxMessage
from storage.outbox import enqueue
from storage.tasks import parse_targets
from tests.fake_wechat import FakeWechat
from tests.support.factories import Factory

KINDS = ("task", "reminder", "request", "reply", "notice")
TEMPLATES = {f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in KINDS}


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


@pytest.fixture
def lx(make_lx, fake):
    return make_lx(**{"wechat.api_base": fake.url, **TEMPLATES})


def _cadre(lx, openid="o-cadre"):
    with lx.session() as s:
        f = Factory(s)
        c = f.cadre(name="李明")
        ident = f.identity(openid, cadre=c)
        ident.window_until = None  # outside any window: reminders go as template messages
        return c.id


def _statuses(lx):
    with lx.sessions() as s:
        return Counter(
            (m.kind, m.status)
            for m in s.scalars(select(OutboxMessage).where(OutboxMessage.openid == "o-cadre"))
        )


def test_a_week_of_held_delivery_delivers_todays_diary_reminder_only_and_every_card(lx, fake, clock):
    clock.set("2026-11-23 19:30")  # a Monday
    cadre_id = _cadre(lx)
    fake.refuse("template", 48001)  # the account lost its template permission for a week
    with lx.session() as s:
        task_notices.create_task(
            s,
            title="冬季防火入户宣传",
            body="逐户宣传",
            deadline=clock() + timedelta(days=30),
            targets=parse_targets(s, [f"cadre:{s.get(Cadre, cadre_id).phone}"]),
            actor="test",
            now=clock(),
            tz=lx.config.tz,
        )
    reminded = 0
    for day in range(8):  # Monday … next Monday, the reminder job at 19:30 every day, delivery trying
        reminded += jobs.run(lx, "diary_reminders", clock()).sent
        dispatch_outbox(lx)
        if day < 7:
            clock.advance(days=1)
    assert reminded == 6  # the working days (Saturday and Sunday owe no diary)
    fake.cure()
    clock.advance(minutes=15)  # the next probe
    r = dispatch_outbox(lx)
    assert r.failed == 0
    to_cadre = [d for d in fake.delivered if d.openid == "o-cadre"]
    # one diary reminder (today's) and the card: the five stale reminders never reach the phone
    assert len(to_cadre) == 2, [d.text for d in to_cadre]
    st = _statuses(lx)
    assert st[("reminder", "sent")] == 1 and st[("reminder", "expired")] == 5
    assert st[("task", "sent")] == 1
    assert dispatch_outbox(lx).sent == 0


def test_requests_replies_and_notices_never_expire(lx, fake, clock):
    _cadre(lx)
    fake.refuse("template", 48001)
    with lx.session() as s:
        for kind in ("request", "reply", "notice", "task"):
            enqueue(s, openid="o-cadre", kind=kind, text=f"{kind} 的消息", key=kind)
    dispatch_outbox(lx)
    clock.advance(days=30)
    fake.cure()
    r = dispatch_outbox(lx)
    assert r.sent == 4 and r.expired == 0


def test_an_overdue_reminder_stays_but_due_soon_expires_at_the_deadline(lx, fake, clock):
    clock.set("2026-11-24 09:00")
    cadre_id = _cadre(lx)
    fake.refuse("template", 48001)
    with lx.session() as s:
        phone = s.get(Cadre, cadre_id).phone
        task_notices.create_task(
            s,
            title="报送防火台账",
            body="本周内",
            deadline=clock() + timedelta(hours=12),
            targets=parse_targets(s, [f"cadre:{phone}"]),
            actor="test",
            now=clock(),
            tz=lx.config.tz,
        )
    assert jobs.run(lx, "deadline_reminders", clock()).sent == 1  # due within 24 h
    clock.advance(hours=13)
    assert jobs.run(lx, "deadline_reminders", clock()).sent == 1  # now overdue
    dispatch_outbox(lx)
    fake.cure()
    clock.advance(minutes=15)
    dispatch_outbox(lx)
    with lx.sessions() as s:
        rows = {
            m.idempotency_key.split(":")[1]: m.status
            for m in s.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("rem:%")))
        }
    assert rows == {"deadline_soon": "expired", "deadline_overdue": "sent"}


def test_expired_reminders_are_listed_by_lianxin_outbox_and_on_the_delivery_page(
    lx, fake, clock, tmp_path, monkeypatch
):
    from bot.cli import main
    from tests.support.console_world import admin_client

    clock.set("2026-11-24 19:30")
    _cadre(lx)
    fake.refuse("template", 48001)
    jobs.run(lx, "diary_reminders", clock())
    clock.advance(days=1)
    assert dispatch_outbox(lx).expired == 1
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{lx.config.database_url}"\n', encoding="utf-8")
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    r = CliRunner().invoke(main, ["outbox", "--expired"])
    assert r.exit_code == 0 and "已过期未发" in r.output and "不再补发" in r.output, r.output
    assert "已过期未发 1" in CliRunner().invoke(main, ["outbox"]).output
    c = admin_client(lx)
    page = c.get("/delivery").get_data(as_text=True)
    assert "过期未发的提醒（1）" in page and "今天" in page
