"""Account-level faults hold delivery, they do not fail it (reminders/holds.py): 48001 for an hour then cured,
a template id missing for one kind, 45011 bursts. Every held push is delivered exactly once after the cure."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from reminders import holds
from reminders.delivery import dispatch_outbox
from storage.models import DeliveryHold, OutboxMessage
from storage.outbox import enqueue
from tests.fake_wechat import FakeWechat
from tests.support.factories import Factory

KINDS = ("task", "reminder", "request", "reply", "notice")
TEMPLATES = {f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in KINDS}
OFFICE = "o-office"


@pytest.fixture
def fake(clock):
    with FakeWechat(clock=lambda: clock().timestamp()) as f:
        yield f


@pytest.fixture
def lx(make_lx, fake):
    return make_lx(**{"wechat.api_base": fake.url, "scheduler.office_openids": [OFFICE], **TEMPLATES})


def _queue(lx, n, kind="task"):
    with lx.session() as s:
        f = Factory(s)
        people = []
        for i in range(n):
            ident = f.identity(cadre=f.cadre())
            ident.window_until = None  # outside any window: every push goes as a template
            people.append(ident.openid)
            enqueue(
                s,
                openid=ident.openid,
                kind=kind,
                text=f"第{i}条督办\n全文在链接里",
                key=f"{kind}:{i}",
                template={
                    "number": str(i),
                    "title": f"第{i}条督办",
                    "deadline": "2026-12-05 18:00",
                    "office": "示范镇",
                },
            )
    return people


def _status(lx):
    with lx.sessions() as s:
        return dict(
            s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
        )


def test_48001_for_an_hour_then_cured_holds_30_pushes_and_delivers_each_once(lx, fake, clock):
    people = _queue(lx, 30)
    fake.refuse("template", 48001)  # an unverified account: no template permission
    r = dispatch_outbox(lx)
    assert r.failed == 0 and r.sent == 0 and r.held == ["all"]
    assert _status(lx) == {"pending": 31}  # the 30 and the office's one notice
    [row] = holds.active(lx)
    why, todo = holds.describe(row)
    assert "48001" in why and "认证" in todo and "lianxin outbox --resume" in todo
    calls = len([c for c in fake.calls if c[0] == "template"])
    assert calls == 1  # one message met the fault; the others were never tried
    for _ in range(6):  # an hour of probes, one call each, nobody told again, nothing failed
        clock.advance(minutes=10)
        assert dispatch_outbox(lx).failed == 0
    assert len([c for c in fake.calls if c[0] == "template"]) == 1 + 6
    assert _status(lx) == {"pending": 31}
    fake.cure()
    assert dispatch_outbox(lx).sent == 0  # not before the next probe
    clock.advance(minutes=10)
    r = dispatch_outbox(lx)
    assert r.failed == 0 and r.sent == 31
    assert holds.active(lx) == []
    delivered = Counter(d.openid for d in fake.delivered)
    assert all(delivered[p] == 1 for p in people) and delivered[OFFICE] == 1
    [office] = [d for d in fake.delivered if d.openid == OFFICE]
    assert office.displayed[0][1].startswith("推送暂停")
    assert dispatch_outbox(lx).sent == 0  # nothing twice


def test_resume_probes_at_once_after_the_cure(lx, fake, clock):
    _queue(lx, 3)
    fake.refuse("any", 40164)  # IP not whitelisted: even the token call is refused
    assert dispatch_outbox(lx).held == ["all"]
    fake.cure()
    assert holds.resume_now(lx, clock()) == 1
    r = dispatch_outbox(lx)
    assert r.sent == 4 and r.failed == 0


def test_a_kind_without_a_template_is_held_while_the_others_go(make_lx, fake, clock):
    lx = make_lx(
        **{
            "wechat.api_base": fake.url,
            "scheduler.office_openids": [OFFICE],
            **{k: v for k, v in TEMPLATES.items() if ".reply." not in k},
        }
    )
    _queue(lx, 2, kind="reply")
    _queue(lx, 2, kind="task")
    r = dispatch_outbox(lx)
    assert r.held == ["reply"] and r.failed == 0
    with lx.sessions() as s:
        assert s.scalar(select(DeliveryHold.scope)) == "reply"
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "reply", OutboxMessage.status == "pending")
            )
            == 2
        )
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "task", OutboxMessage.status == "sent")
            )
            == 2
        )


def test_45011_bursts_back_off_and_lose_nothing(lx, fake, clock):
    people = _queue(lx, 10)
    fake.fail("template", 45011, times=3)
    seen_held = 0
    for _ in range(30):
        r = dispatch_outbox(lx)
        assert r.failed == 0
        seen_held += bool(r.held)
        if _status(lx).get("sent") == 10:
            break
        clock.advance(minutes=1)
    assert seen_held >= 3
    assert Counter(d.openid for d in fake.delivered) == Counter(people)
    # a per-minute limit tells nobody
    with lx.sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.openid == OFFICE))
            == 0
        )


def _office_notices(lx):
    with lx.sessions() as s:
        return list(s.scalars(select(OutboxMessage.payload).where(OutboxMessage.openid == OFFICE)))


def test_a_passing_limit_that_turns_into_an_account_fault_tells_the_office_once(lx, fake, clock):
    _queue(lx, 5)
    fake.fail("template", 45011, times=1)
    assert dispatch_outbox(lx).held == ["all"]
    assert _office_notices(lx) == []  # 45011 alone: nobody needs to act
    fake.refuse("template", 48001)
    clock.advance(minutes=1)
    dispatch_outbox(lx)
    [row] = holds.active(lx)
    assert row.errcode == 48001 and row.notified
    [told] = _office_notices(lx)
    assert "48001" in told["text"] or "认证" in told["text"]
    for _ in range(3):  # the same cause again is not news
        clock.advance(minutes=10)
        dispatch_outbox(lx)
    assert len(_office_notices(lx)) == 1
    fake.cure()
    clock.advance(minutes=10)
    r = dispatch_outbox(lx)
    assert r.failed == 0 and r.sent == 6


def test_outbox_command_says_why_and_resume_delivers(lx, fake, clock, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    _queue(lx, 2)
    fake.refuse("template", 48001)
    dispatch_outbox(lx)
    cfg = tmp_path / "c.toml"
    tpl = "\n".join(f'[wechat.templates.{k}]\nid = "TPL_{k.upper()}"' for k in KINDS)
    cfg.write_text(
        f'[database]\nurl = "{lx.config.database_url}"\n[wechat]\napi_base = "{fake.url}"\n'
        f'app_id = "wxtestappid"\napp_secret = "testsecret"\n[scheduler]\noffice_openids = ["{OFFICE}"]\n'
        f"{tpl}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    runner = CliRunner()
    r = runner.invoke(main, ["outbox"])
    assert r.exit_code == 0 and "全部推送暂停投递" in r.output and "48001" in r.output and "认证" in r.output
    fake.cure()
    r = runner.invoke(main, ["outbox", "--resume"])
    assert r.exit_code == 0 and "投递已恢复" in r.output, r.output
    assert _status(lx) == {"sent": 3}
