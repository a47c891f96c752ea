"""Supervision cards: the service (create, publish, answers, return, extension, cancel, lights, board), the chat
(任务 / 任务 N / 反馈 / 完成 / 延期 through /wechat), the CLI, and the board's lights on the console."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from handlers import task_notices as notices
from reminders.delivery import dispatch_outbox
from storage import tasks as svc
from storage.assessment import build_report
from storage.config import load_config
from storage.models import (
    AuditLog,
    Cadre,
    DiaryEntry,
    Feedback,
    OutboxMessage,
    Task,
    TaskAssignment,
    TaskHousehold,
    WechatIdentity,
)
from storage.outbox import enqueue
from storage.periods import local_text
from storage.targets import Target
from storage.tasks import STATUS_LABELS
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import BUSY_OTHER, BUSY_PHONE, Chat, busy_cadre_world, make_chat
from tests.support.console_world import (
    World,
    world_fixture,  # noqa: F401 - the `world` fixture
)
from tests.support.factories import Factory
from tests.support.queries import count_in as _count


def _cadres(session, n, village=None, bound=True):
    f = Factory(session)
    out = []
    for _ in range(n):
        c = f.cadre(village=village)
        if bound:
            f.identity(cadre=c)
        out.append(c)
    return out


def test_create_to_all_publishes_one_push_per_bound_cadre(session, clock):
    clock.set("2026-11-24 09:00")
    bound = _cadres(session, 3)
    unbound = _cadres(session, 1, bound=False)
    Factory(session).cadre(active=False)
    t = notices.create_task(
        session,
        title="秋冬季防火排查",
        body="走访每户检查用火用电",
        deadline=clock() + timedelta(days=3),
        targets=[Target.all()],
        now=clock(),
    )
    session.commit()
    assert t.number == 1 and t.published_at == clock()
    assert _count(session, TaskAssignment) == 4  # active cadres, bound or not
    pushes = session.scalars(select(OutboxMessage)).all()
    assert sorted(p.idempotency_key for p in pushes) == sorted(f"task:{t.id}:cadre:{c.id}" for c in bound)
    assert all("秋冬季防火排查" in p.payload["text"] and p.kind == "task" for p in pushes)
    assert unbound[0].id in set(session.scalars(select(TaskAssignment.cadre_id)))
    assert notices.publish(session, t, now=clock()) == 0  # publishing again does nothing
    assert _count(session, OutboxMessage) == 3
    t2 = notices.create_task(
        session, title="第二张", body="", deadline=clock() + timedelta(days=1), now=clock()
    )
    assert t2.number == 2
    assert _count(session, AuditLog, AuditLog.action == "task.create") == 2


def test_targets_villages_and_cadres(session, clock):
    f = Factory(session)
    a, b = f.village("新桥村"), f.village("石门村")
    in_a = _cadres(session, 2, village=a)
    in_b = _cadres(session, 2, village=b)
    t = notices.create_task(
        session,
        title="t",
        body="",
        deadline=clock() + timedelta(days=1),
        targets=svc.parse_targets(session, ["village:新桥村", f"cadre:{in_b[0].phone}"]),
        now=clock(),
    )
    assert set(session.scalars(select(TaskAssignment.cadre_id).where(TaskAssignment.task_id == t.id))) == {
        in_a[0].id,
        in_a[1].id,
        in_b[0].id,
    }


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"title": "  "}, "标题不能为空"),
        ({"deadline_days": -1}, "已过"),
        ({"targets": ["village:没有这个村"]}, "不存在"),
        ({"targets": ["cadre:13000000000"]}, "没有电话"),
        ({"targets": ["everyone"]}, "无法识别"),
        ({"households": [999999]}, "农户不存在"),
    ],
)
def test_bad_input_writes_nothing(session, clock, kw, message):
    _cadres(session, 2)
    session.commit()
    args: dict[str, Any] = {
        "title": "标题",
        "body": "",
        "deadline": clock() + timedelta(days=kw.pop("deadline_days", 1)),
        "now": clock(),
        **kw,
    }
    with pytest.raises(svc.TaskError, match=message):
        if "targets" in args:  # named at the door's edge, as `lianxin task create --to` does
            args["targets"] = svc.parse_targets(session, args["targets"])
        notices.create_task(session, **args)
    session.rollback()
    assert (
        _count(session, Task) == 0 and _count(session, OutboxMessage) == 0 and _count(session, AuditLog) == 0
    )


def test_scheduled_card_published_by_publish_due(session, clock):
    _cadres(session, 2)
    t = notices.create_task(
        session,
        title="定时",
        body="",
        deadline=clock() + timedelta(days=2),
        publish_at=clock() + timedelta(hours=1),
        now=clock(),
    )
    assert t.published_at is None and _count(session, TaskAssignment) == 0
    assert notices.publish_due(session, now=clock()) == []
    assert [x.number for x in notices.publish_due(session, now=clock() + timedelta(hours=1))] == [t.number]
    assert _count(session, TaskAssignment) == 2 and _count(session, OutboxMessage) == 2
    assert notices.publish_due(session, now=clock() + timedelta(hours=2)) == []


def test_lifecycle_lights_board_overdue(session, clock):
    clock.set("2026-11-24 09:00")
    a, b, c = _cadres(session, 3)
    t = notices.create_task(
        session, title="排查", body="", deadline=clock() + timedelta(hours=48), now=clock()
    )
    yellow = 24
    rows = {r.cadre_id: r for r in svc.board(session, number=t.number, now=clock(), yellow_hours=yellow).rows}
    assert {r.light for r in rows.values()} == {"green"} and rows[a.id].status == "pending"
    assert svc.acknowledge(session, cadre_id=a.id, now=clock()) == 1
    svc.feedback(session, cadre_id=a.id, number=t.number, text="已走访", now=clock())
    svc.feedback(session, cadre_id=b.id, number=t.number, text="全部完成", now=clock(), done=True)
    later = clock() + timedelta(hours=30)
    board = svc.board(session, number=t.number, now=later, yellow_hours=yellow)
    by = {r.cadre_id: r for r in board.rows}
    assert (by[a.id].status, by[a.id].light, by[a.id].last_feedback) == ("fed_back", "green", "已走访")
    assert (by[b.id].status, by[b.id].light) == ("done", "green")
    assert (by[c.id].status, by[c.id].light) == ("pending", "yellow")
    assert svc.overdue(session, now=later) == []
    overdue = svc.overdue(session, now=clock() + timedelta(hours=49))
    assert [r.cadre_id for r in overdue] == [c.id]
    assert svc.board(session, number=t.number, now=clock() + timedelta(hours=49)).lights == {
        "green": 2,
        "red": 1,
    }
    # The office sends a's feedback back: open again, red once past the deadline, cadre told.
    notices.return_feedback(
        session, number=t.number, phone=a.phone, reason="缺少照片", actor="cli", now=later
    )
    assert {r.cadre_id for r in svc.overdue(session, now=clock() + timedelta(hours=49))} == {a.id, c.id}
    returned = session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key.like("task-return:%"))
    )
    assert "缺少照片" in returned.payload["text"]
    with pytest.raises(svc.TaskError, match="还没有反馈"):
        notices.return_feedback(session, number=t.number, phone=c.phone, reason="x", actor="cli", now=later)
    with pytest.raises(svc.TaskError, match="已标记完成"):
        svc.feedback(session, cadre_id=b.id, number=t.number, text="again", now=later, done=True)
    listing = {r["number"]: r for r in svc.list_tasks(session, now=clock() + timedelta(hours=49))}
    assert listing[t.number]["overdue"] == 2 and listing[t.number]["light"] == "red"


OFFICE_OOFF = load_config(overrides={"scheduler.office_openids": ["oOFF"]}, env={})


def test_extension_request_grant_and_refuse(session, clock, renders):
    clock.set("2026-11-24 09:00")
    a, b = _cadres(session, 2)
    t = notices.create_task(
        session, title="延期测试", body="", deadline=clock() + timedelta(days=1), now=clock()
    )
    with pytest.raises(svc.TaskError, match="须晚于"):
        notices.request_extension(
            session,
            cadre_id=a.id,
            number=t.number,
            until=date(2026, 11, 24),
            reason="r",
            now=clock(),
            config=OFFICE_OOFF,
        )
    notices.request_extension(
        session,
        cadre_id=a.id,
        number=t.number,
        until=date(2026, 11, 30),
        reason="农户外出",
        now=clock(),
        config=OFFICE_OOFF,
    )
    notice = session.scalar(select(OutboxMessage).where(OutboxMessage.openid == "oOFF"))
    told = renders.behind(notice.payload["text"])
    assert told.name == "extension_requested" and told["reason"] == "农户外出"
    assert told["until"] == local_text(datetime(2026, 11, 30, 9, tzinfo=clock.tz), clock.tz)
    ag = notices.answer_extension(
        session, number=t.number, phone=a.phone, grant=True, actor="cli", now=clock()
    )
    assert ag.deadline.astimezone(clock.tz).date() == date(2026, 11, 30)
    assert ag.deadline.astimezone(clock.tz).hour == 9  # the card's time of day kept
    with pytest.raises(svc.TaskError, match="没有待答复"):
        notices.answer_extension(
            session, number=t.number, phone=b.phone, grant=False, actor="cli", now=clock()
        )
    notices.request_extension(
        session,
        cadre_id=b.id,
        number=t.number,
        until=date(2026, 11, 28),
        reason="生病",
        now=clock(),
        config=load_config(env={}),
    )
    rb = notices.answer_extension(
        session, number=t.number, phone=b.phone, grant=False, actor="cli", now=clock(), reason="任务紧急"
    )
    assert rb.extension_status == "refused" and rb.deadline == t.deadline
    kinds = set(session.scalars(select(Feedback.kind)))
    assert kinds == {"extension_request", "extension_grant", "extension_refuse"}
    assert _count(session, AuditLog, AuditLog.action.like("task.extension_%")) == 2


def test_household_cards_and_other_cadres_cards(session, clock):
    f = Factory(session)
    a, b = _cadres(session, 2)
    h = f.household(a, card="88880001")
    ids = svc.households_by_cards(session, ["88880001"])
    t = notices.create_task(
        session,
        title="t",
        body="",
        deadline=clock() + timedelta(days=1),
        targets=svc.parse_targets(session, [f"cadre:{a.phone}"]),
        households=ids,
        now=clock(),
    )
    assert session.scalar(select(TaskHousehold.household_id).where(TaskHousehold.task_id == t.id)) == h.id
    with pytest.raises(svc.TaskError, match="您没有第"):
        svc.feedback(session, cadre_id=b.id, number=t.number, text="不是我的", now=clock())
    with pytest.raises(svc.TaskError, match="服务卡号不存在"):
        svc.households_by_cards(session, ["nope"])


def test_enqueue_3000_cadres_is_bulk(lx, clock):
    """3,000 cadres: one card publishes 3,000 assignments and pushes with bulk statements."""
    from sqlalchemy import insert

    from storage.models import Cadre

    with lx.session() as s:
        v = Factory(s).village()
        s.execute(
            insert(Cadre),
            [
                {"name": f"干部{i}", "phone": f"137{i:08d}", "village_id": v.id, "active": True}
                for i in range(3000)
            ],
        )
        ids = list(s.scalars(select(Cadre.id)))
        s.execute(
            insert(WechatIdentity),
            [{"openid": f"oC{i:08d}", "kind": "cadre", "cadre_id": cid} for i, cid in enumerate(ids)],
        )
    statements: list[str] = []
    from sqlalchemy import event

    def count(*_a: Any) -> None:
        statements.append("x")

    event.listen(lx.engine, "before_cursor_execute", count)
    started = time.perf_counter()
    with lx.session() as s:
        notices.create_task(s, title="全员", body="", deadline=clock() + timedelta(days=1), now=clock())
    elapsed = time.perf_counter() - started
    event.remove(lx.engine, "before_cursor_execute", count)
    with lx.session() as s:
        assert _count(s, TaskAssignment) == 3000 and _count(s, OutboxMessage) == 3000
    # Not one query per cadre (the figure itself is in bench/RESULTS.md, not asserted here).
    assert len(statements) < 200, (len(statements), elapsed)


# ------------------------------------------------------------------------------------------- chat


PHONE = "13900003333"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 09:00")
    c = make_chat(make_lx, clock, **{"scheduler.office_openids": ["o-office"]})
    with c.factory() as f:
        f.cadre(name="李明", phone=PHONE)
        f.cadre(name="王芳", phone="13900004444")
    c.wc.text("o-li", f"绑定 {c.code(PHONE)}")
    c.wc.text("o-wang", f"绑定 {c.code('13900004444')}")
    assert c.bound_to("o-li") == PHONE
    assert c.bound_to("o-wang") == "13900004444"
    return c


@pytest.fixture
def busy_chat(make_lx: Any, clock: Any) -> Chat:
    return busy_cadre_world(make_lx, clock)


def _card(chat: Chat, **kw: Any) -> Task:
    with chat.lx.session() as s:
        if "targets" in kw:  # the CLI's --to words, named once at its edge
            kw["targets"] = svc.parse_targets(s, kw["targets"])
        return notices.create_task(
            s,
            title=kw.pop("title", "防汛排查"),
            body=kw.pop("body", "检查房屋"),
            deadline=kw.pop("deadline", chat.clock() + timedelta(days=2)),
            now=chat.clock(),
            tz=chat.lx.config.tz,
            **kw,
        )


def test_chat_list_acknowledges_and_feedback_done(chat: Chat, renders) -> None:
    t = _card(chat)
    listed = renders.behind(chat.wc.text("o-li", "任務"))  # Traditional form
    assert listed.name == "task_list" and [r["number"] for r in listed["rows"]] == [t.number]
    assert listed["rows"][0]["title"] == "防汛排查"
    assert listed["rows"][0]["status"] == STATUS_LABELS["acknowledged"]  # listing it is 签收
    a = chat.one(
        select(TaskAssignment)
        .join(TaskAssignment.cadre)
        .where(TaskAssignment.task_id == t.id, TaskAssignment.status == "acknowledged")
    )
    assert a is not None and a.acknowledged_at is not None
    wide = "".join(chr(0xFF10 + int(d)) for d in str(t.number))
    fed = renders.behind(chat.wc.text("o-li", f"反馈　{wide} 已走访五户"))
    assert fed.name == "task_feedback_saved" and (fed["task"].number, fed["done"], fed["on_time"]) == (
        t.number,
        False,
        True,
    )
    done = renders.behind(chat.wc.text("o-li", f"完成 {t.number} 全部排查完毕"))
    assert done.name == "task_feedback_saved" and (done["task"].number, done["done"]) == (t.number, True)
    assert chat.count(TaskAssignment, TaskAssignment.status == "done") == 1
    assert (
        chat.count(Feedback, Feedback.kind == "done") == 1
        and chat.count(Feedback, Feedback.kind == "feedback") == 1
    )
    listed = renders.behind(chat.wc.text("o-li", "任务"))
    assert listed.name == "task_list" and listed["rows"] == []
    # the refusal is the service's own words (storage.tasks), shown as they are
    assert "已标记完成" in chat.wc.text("o-li", f"完成 {t.number} 再来")
    assert renders.last().name == "task_error" and chat.count(Feedback) == 2


def test_chat_only_own_cards_and_usage_wording(chat: Chat, renders) -> None:
    """Refusals and the usage text are what the cadre reads to correct themselves: their words are pinned."""
    t = _card(chat, targets=[f"cadre:{PHONE}"])
    assert "您没有第" in chat.wc.text("o-wang", f"反馈 {t.number} 我也做了")
    assert chat.count(Feedback) == 0
    assert "反馈 编号 内容" in chat.wc.text("o-li", "反馈")
    assert "请写上反馈内容" in chat.wc.text("o-li", f"反馈 {t.number}")
    listed = renders.behind(chat.wc.text("o-wang", "任务"))
    assert listed.name == "task_list" and listed["rows"] == []
    # A stranger's 任务 / 完成 has no effect.
    chat.wc.text("o-stranger", "任务")
    chat.wc.text("o-stranger", f"完成 {t.number} 做完了")
    assert chat.count(Feedback) == 0
    assert chat.count(TaskAssignment, TaskAssignment.status != "pending") == 0


def test_chat_extension_request(chat: Chat, renders) -> None:
    t = _card(chat, deadline=chat.clock() + timedelta(days=1))
    sent = renders.behind(chat.wc.text("o-li", f"延期 {t.number} 12月5日 农户外出务工未归"))
    a = chat.one(select(TaskAssignment).where(TaskAssignment.extension_status == "requested"))
    assert sent.name == "task_extend_sent" and sent["until"] == local_text(
        a.extension_requested_until, chat.lx.config.tz
    )
    assert a.extension_requested_until.astimezone(chat.lx.config.tz).date() == date(2026, 12, 5)
    assert a.extension_reason == "农户外出务工未归"
    office = chat.one(select(OutboxMessage).where(OutboxMessage.openid == "o-office"))
    assert "农户外出务工未归" in office.payload["text"]
    assert renders.behind(chat.wc.text("o-li", f"延期 {t.number} 下周")).name == "task_extend_usage"
    # a second request while the first waits: refused by the service, nothing changes
    assert renders.behind(chat.wc.text("o-li", f"延期 {t.number} 2026-12-06 再延")).name == "task_error"
    assert chat.count(OutboxMessage, OutboxMessage.openid == "o-office") == 1


# ------------------------------------------------------------------------------------------- CLI


def test_cli_create_list_show_return(lx, clock, tmp_path, monkeypatch):
    from bot.cli import main

    with lx.session() as s:
        a, _ = _cadres(s, 2)
        phone = a.phone
        Factory(s).household(a, card="77770001")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{lx.config.database_url}"\n', encoding="utf-8")
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    runner = CliRunner()
    r = runner.invoke(
        main,
        [
            "task",
            "create",
            "--title",
            "入户走访",
            "--body",
            "每户",
            "--deadline",
            "2099-01-01",
            "--to",
            "all",
            "--household",
            "77770001",
        ],
    )
    assert r.exit_code == 0, r.output
    number = int(r.output.strip().splitlines()[-1])
    r = runner.invoke(main, ["task", "list"])
    assert "入户走访" in r.output and "0/2" in r.output
    with lx.session() as s:
        svc.feedback(s, cadre_id=a.id, number=number, text="走访完", now=clock())
    r = runner.invoke(main, ["task", "show", str(number)])
    assert "走访完" in r.output and phone in r.output
    r = runner.invoke(main, ["task", "return", str(number), phone, "--reason", "照片不清"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["task", "create", "--title", "x", "--deadline", "2001-01-01"])
    assert r.exit_code != 0 and "已过" in r.output
    r = runner.invoke(
        main, ["task", "create", "--title", "x", "--deadline", "2099-01-01", "--to", "village:无此村"]
    )
    assert r.exit_code != 0 and "不存在" in r.output
    with lx.session() as s:
        assert _count(s, Task) == 1
    r = runner.invoke(main, ["outbox"])
    assert r.exit_code == 0, r.output
    listed = json.loads(runner.invoke(main, ["outbox", "--json"]).output)
    with lx.session() as s:
        queued = set(
            s.scalars(select(OutboxMessage.idempotency_key).where(OutboxMessage.status == "pending"))
        )
    assert queued and {m["key"] for m in listed["messages"] if m["status"] == "pending"} == queued
    assert listed["counts"]["pending"] == len(queued)


# ------------------------------------------------------------------------------------------
# 任务 N from a busy cadre shows that card (Traditional form and full-width numbers too) and acknowledges it;
# another cadre's card or a missing number is refused; none of it is a diary entry.


def test_task_number_shows_my_card_and_not_anothers(busy_chat: Chat, renders) -> None:
    with busy_chat.lx.session() as s:
        mine = notices.create_task(
            s,
            title="防汛排查",
            body="检查房屋和排水沟",
            now=busy_chat.clock(),
            tz=busy_chat.lx.config.tz,
            deadline=busy_chat.clock() + timedelta(days=2),
        )
        theirs = notices.create_task(
            s,
            title="王芳的卡",
            body="",
            now=busy_chat.clock(),
            tz=busy_chat.lx.config.tz,
            deadline=busy_chat.clock() + timedelta(days=2),
            targets=svc.parse_targets(s, [f"cadre:{BUSY_OTHER}"]),
        )
        mine_n, theirs_n = mine.number, theirs.number
    wide = "".join(chr(0xFF10 + int(d)) for d in str(mine_n))
    shown = renders.behind(busy_chat.wc.text("o-li", f"任務 {wide}"))  # Traditional form, full-width number
    assert (
        shown.name == "task_detail" and shown["task"].number == mine_n and shown["task"].title == "防汛排查"
    )
    assert shown["task"].body == "检查房屋和排水沟" and shown["a"].status == "acknowledged"
    assert shown["deadline"] == local_text(
        datetime(2026, 11, 26, 9, tzinfo=busy_chat.clock.tz), busy_chat.clock.tz
    )
    assert shown["status"] == STATUS_LABELS["acknowledged"] and shown["first_feedback"] is None
    assert busy_chat.all(
        select(TaskAssignment.status)
        .join(Cadre, TaskAssignment.cadre_id == Cadre.id)
        .where(TaskAssignment.task_id == mine.id, Cadre.phone == BUSY_PHONE)
    ) == ["acknowledged"]
    # another cadre's card and a missing one get the same refusal (the service's words, shown as they are)
    assert f"您没有第{theirs_n}号督办卡" in busy_chat.wc.text("o-li", f"任务 {theirs_n}")
    assert "您没有第999号督办卡" in busy_chat.wc.text("o-li", "任务999")
    assert busy_chat.count(DiaryEntry) == 0


# ------------------------------------------------------------------------------------------
# Cancelling a card withdraws its pushes still queued; nothing else in the queue is touched.


def test_cancelled_card_is_not_pushed_but_other_queued_messages_are(make_lx, clock):

    with FakeWechat() as fake:
        lx = make_lx(
            **{
                "wechat.api_base": fake.url,
                "wechat.request_timeout_seconds": 0.5,
                **{
                    f"wechat.templates.{k}.id": f"TPL_{k}"
                    for k in ("task", "reminder", "request", "reply", "notice")
                },
            }
        )
        clock.set("2026-11-24 09:00")
        with lx.session() as s:
            f = Factory(s)
            openids = [f.identity(cadre=f.cadre()).openid for _ in range(2)]
            for o in openids:
                fake.interact(o)
            keep = notices.create_task(
                s, title="保留的卡", body="", deadline=clock() + timedelta(days=3), now=clock()
            )
            gone = notices.create_task(
                s, title="撤销的卡", body="", deadline=clock() + timedelta(days=3), now=clock()
            )
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
                "pushes_withdrawn": 2
            }
            assert not s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert keep_no != gone_no


# ------------------------------------------------------------------------------------------
# A card fed back after its deadline shows the distinct light ``late`` (逾期完成, red) on the console board,
# never green 正常, as the report counts it (on time = first feedback <= deadline, docs/assessment.md).


def test_late_feedback_is_not_green_on_the_board(world: World, renders) -> None:
    lx, clock, number = world.lx, world.clock, world.ids["task"]
    with lx.session() as s:
        deadline = svc.find_task(s, number).deadline
        svc.feedback(
            s, cadre_id=world.ids["cadre_b"], number=number, text="按时完成", now=deadline, done=True
        )
        svc.feedback(
            s, cadre_id=world.ids["cadre_a"], number=number, text="晚了", now=deadline + timedelta(hours=5)
        )
    clock.set("2026-11-30 09:00")
    with lx.session() as s:
        board = svc.board(s, number=number, now=clock())
        lights = {r.cadre_id: r.light for r in board.rows}
        assert lights == {world.ids["cadre_a"]: "late", world.ids["cadre_b"]: "green"}
        report = {r.name: r for r in build_report(s, lx.config, "month", "2026-11", now=clock()).cadres}
        assert (report["李明"].tasks_overdue, report["王芳"].tasks_on_time) == (1, 1)
    page = world.login("admin").get(f"/tasks/{number}").get_data(as_text=True)
    assert page.count('class="light late"') >= 2 and 'class="light green"' in page  # a row and the summary
    shown = renders.page("task.html")["b"]
    assert {r.cadre_id: r.light for r in shown.rows} == lights and shown.lights == {"late": 1, "green": 1}
