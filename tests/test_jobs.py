"""The scheduled jobs, tried as a new user would: a card to all, 完成, deadline reminders and the overdue list,
diary and month-end reminders to exactly those who owe, the SLA, the monthly circular — and a second run
of any job sends nothing new."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers import task_notices as notices
from reminders import jobs
from storage import tasks as svc
from storage.models import (
    CadreLeave,
    DiaryEntry,
    MonthlySummary,
    OutboxMessage,
    ReminderSent,
    StoredReport,
    TaskAssignment,
    VillagerRequest,
)
from storage.workdays import is_workday, working_hours_between
from tests.fake_wechat import FakeWechat
from tests.support.chat_env import Chat, make_chat
from tests.support.factories import Factory

TEMPLATES = {
    f"wechat.templates.{k}.id": f"TPL_{k.upper()}" for k in ("task", "reminder", "request", "reply", "notice")
}


def _outbox(lx: Any, *where: Any) -> list[OutboxMessage]:
    with lx.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id)))


def _people(lx: Any, names: list[str], *, bound: bool = True) -> dict[str, Any]:
    out = {}
    with lx.session() as s:
        f = Factory(s)
        for n in names:
            c = f.cadre(name=n)
            ident = f.identity(f"o-{n}", cadre=c) if bound else None
            out[n] = (c, ident.openid if ident else None)
    return out


# ---------------------------------------------------------------------------------- the whole story


def test_card_to_all_reaches_everyone_once_then_deadline_and_overdue(
    make_lx: Any, clock: Any, renders
) -> None:
    clock.set("2026-11-24 09:00")
    with FakeWechat() as fake:
        chat: Chat = make_chat(
            make_lx,
            clock,
            **{"wechat.api_base": fake.url, "scheduler.office_openids": ["o-office"], **TEMPLATES},
        )
        lx = chat.lx
        with chat.factory() as f:
            for i, name in enumerate(["甲", "乙", "丙"]):
                f.cadre(name=name, phone=f"1390000100{i}")
            f.cadre(name="未绑定", phone="13900001009")
        for i, who in enumerate(["o-jia", "o-yi", "o-bing"]):
            assert renders.behind(chat.wc.text(who, f"绑定 {chat.code(f'1390000100{i}')}")).name == "bind_ok"
            fake.interact(who)
        with lx.session() as s:
            t = notices.create_task(
                s,
                title="冬季安全排查",
                body="逐户排查",
                deadline=clock() + timedelta(hours=30),
                now=clock(),
                tz=lx.config.tz,
            )
            number = t.number
        jobs.run(lx, "dispatch_outbox", clock())
        jobs.run(lx, "dispatch_outbox", clock())
        for who in ("o-jia", "o-yi", "o-bing"):
            assert sum("冬季安全排查" in x for x in fake.texts_to(who)) == 1
        assert len(fake.delivered) == 3
        with lx.sessions() as s:
            states = sorted(s.scalars(select(TaskAssignment.status)))
        assert states == ["delivered", "delivered", "delivered", "pending"]  # the unbound one waits

        done = renders.behind(chat.wc.text("o-jia", f"完成 {number} 全部排查"))
        assert (done.name, done["task"].number, done["done"]) == ("task_feedback_saved", number, True)
        fed = renders.behind(chat.wc.text("o-yi", f"反馈 {number} 排查了一半"))
        assert (fed.name, fed["task"].number, fed["done"]) == ("task_feedback_saved", number, False)

        # 10 hours before the deadline: only 丙 (no feedback) is reminded; running again adds nothing.
        clock.set("2026-11-25 05:00")
        r = jobs.run(lx, "deadline_reminders", clock())
        assert r.sent == 1
        assert jobs.run(lx, "deadline_reminders", clock()).sent == 0
        jobs.run(lx, "dispatch_outbox", clock())
        assert any("deadline_soon" in renders.all_behind(x) for x in fake.texts_to("o-bing"))
        assert not any(
            "deadline_soon" in renders.all_behind(x) for x in fake.texts_to("o-jia") + fake.texts_to("o-yi")
        )

        # Past the deadline: 丙 gets the overdue reminder, the office the list (丙 and the unbound cadre).
        clock.set("2026-11-25 16:00")
        r = jobs.run(lx, "deadline_reminders", clock())
        assert r.sent == 2 and r.detail["overdue"] == 2
        assert jobs.run(lx, "deadline_reminders", clock() + timedelta(hours=1)).sent == 0
        jobs.run(lx, "dispatch_outbox", clock())
        assert any("deadline_overdue" in renders.all_behind(x) for x in fake.texts_to("o-bing"))
        [office] = [m.payload["text"] for m in _outbox(lx, OutboxMessage.openid == "o-office")]
        assert (
            "丙" in office and "未绑定" in office and "甲" not in office
        )  # the whole list (behind the link)
        [shown] = fake.texts_to("o-office")
        assert renders.behind(shown).name == "overdue_list"
        with lx.sessions() as s:
            assert [r.cadre_name for r in svc.overdue(s, now=clock())] == ["丙", "未绑定"]
        for name in jobs.JOBS:  # every job once (the diary reminders are due at this hour) ...
            jobs.run(lx, name, clock())
        jobs.run(lx, "dispatch_outbox", clock())
        before = len(fake.delivered)
        for name in jobs.JOBS:  # ... and again: nothing new anywhere
            jobs.run(lx, name, clock() + timedelta(minutes=10))
        assert len(fake.delivered) == before


# ---------------------------------------------------------------------------------- diary


def test_diary_reminders_only_to_those_who_owe(lx: Any, clock: Any, renders) -> None:
    clock.set("2026-11-24 19:30")  # a Tuesday
    p = _people(lx, ["wrote", "owes", "away", "deleted"])
    _people(lx, ["unbound"], bound=False)
    with lx.session() as s:
        day = date(2026, 11, 24)
        s.add(DiaryEntry(cadre_id=p["wrote"][0].id, day=day, text="走访"))
        s.add(DiaryEntry(cadre_id=p["deleted"][0].id, day=day, text="撤销了", deleted_at=clock()))
        s.add(DiaryEntry(cadre_id=p["owes"][0].id, day=day - timedelta(days=1), text="昨天的"))
        s.add(CadreLeave(cadre_id=p["away"][0].id, start_date=day, end_date=day + timedelta(days=3)))
    r = jobs.run(lx, "diary_reminders", clock())
    assert r.sent == 2
    assert sorted(m.openid for m in _outbox(lx)) == ["o-deleted", "o-owes"]
    reminded = renders.behind(_outbox(lx)[0].payload["text"])
    assert reminded.name == "diary_reminder" and reminded["day"] == date(2026, 11, 24)
    again = jobs.run(lx, "diary_reminders", clock() + timedelta(minutes=30))
    assert (again.sent, again.skipped) == (0, 2)
    assert len(_outbox(lx)) == 2


@pytest.mark.parametrize(
    "when, workday",
    [
        ("2026-11-28 19:30", False),  # Saturday
        ("2026-10-01 19:30", False),  # National Day
        ("2026-10-10 19:30", True),  # Saturday made a working day (调休)
    ],
)
def test_diary_reminders_follow_the_official_calendar(lx: Any, clock: Any, when: str, workday: bool) -> None:
    clock.set(when)
    _people(lx, ["a"])
    assert (jobs.run(lx, "diary_reminders", clock()).sent == 1) is workday


def test_office_overrides_and_unknown_years(make_lx: Any) -> None:
    lx = make_lx(**{"holidays.extra_holidays": ["2026-11-24"], "holidays.extra_workdays": ["2026-11-29"]})
    assert not is_workday(date(2026, 11, 24), lx.config)
    assert is_workday(date(2026, 11, 29), lx.config)  # a Sunday the office declared a working day
    assert is_workday(date(2099, 6, 1), lx.config)  # Monday of a year the package does not know
    assert not is_workday(date(2099, 6, 6), lx.config)  # Saturday


def test_working_hours(lx: Any, clock: Any) -> None:
    start = clock.set("2026-11-27 16:30")  # Friday, working hours end 17:30
    end = clock.set("2026-11-30 10:00")  # Monday
    assert working_hours_between(start, end, lx.config) == pytest.approx(2.0)


# ---------------------------------------------------------------------------------- month end


def test_month_end_reminders(lx: Any, clock: Any, renders) -> None:
    p = _people(lx, ["done", "owes", "away"])
    with lx.session() as s:
        s.add(
            MonthlySummary(
                cadre_id=p["done"][0].id, month="2026-11", text="本月小结", submitted_day=date(2026, 11, 27)
            )
        )
        s.add(
            MonthlySummary(
                cadre_id=p["owes"][0].id, month="2026-10", text="上月的", submitted_day=date(2026, 10, 30)
            )
        )
        s.add(CadreLeave(cadre_id=p["away"][0].id, start_date=date(2026, 11, 20), end_date=date(2026, 12, 5)))
    clock.set("2026-11-27 10:00")  # 4 days left: not yet
    assert jobs.run(lx, "month_end_reminders", clock()).sent == 0
    clock.set("2026-11-28 10:00")
    assert jobs.run(lx, "month_end_reminders", clock()).sent == 1
    reminded = renders.behind(_outbox(lx)[0].payload["text"])
    assert [m.openid for m in _outbox(lx)] == ["o-owes"] and reminded.name == "month_end_reminder"
    assert reminded["cadre"].id == p["owes"][0].id and reminded["days_left"] == 3
    assert jobs.run(lx, "month_end_reminders", clock() + timedelta(hours=5)).sent == 0
    clock.set("2026-11-30 10:00")
    assert jobs.run(lx, "month_end_reminders", clock()).sent == 1  # one a day in the last days
    with lx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReminderSent)) == 2


# ---------------------------------------------------------------------------------- villagers' requests


def test_villager_sla_reminds_then_escalates_in_working_hours(make_lx: Any, clock: Any, renders) -> None:
    lx = make_lx(**{"scheduler.office_openids": ["o-office"]})
    p = _people(lx, ["干部"])
    cadre = p["干部"][0]
    clock.set("2026-11-24 09:00")  # Tuesday
    with lx.session() as s:
        f = Factory(s)
        h = f.household(cadre, head_name="张大爷")
        v = f.identity("o-villager", household=h)
        s.add(
            VillagerRequest(
                number=1,
                household_id=h.id,
                identity_id=v.id,
                cadre_id=cadre.id,
                category="求助",
                text="屋顶漏雨，请帮忙",
                created_at=clock(),
            )
        )
        s.add(
            VillagerRequest(
                number=2,
                household_id=h.id,
                identity_id=v.id,
                cadre_id=cadre.id,
                category="咨询",
                text="已答复的",
                created_at=clock(),
                first_answer_at=clock(),
                status="answered",
            )
        )
    assert jobs.run(lx, "villager_sla", clock.set("2026-11-24 16:00")).sent == 0  # 7 working hours
    assert jobs.run(lx, "villager_sla", clock.set("2026-11-24 17:10")).sent == 1  # 8 h 10 min
    [m] = _outbox(lx)
    reminded = renders.behind(m.payload["text"])
    assert m.openid == "o-干部" and (reminded.name, reminded["request"].number) == ("sla_remind", 1)
    assert jobs.run(lx, "villager_sla", clock.set("2026-11-26 09:00")).sent == 0  # 17 working hours
    r = jobs.run(lx, "villager_sla", clock.set("2026-11-26 17:00"))  # 25 working hours
    assert r.sent == 1
    assert "张大爷" in _outbox(lx, OutboxMessage.openid == "o-office")[0].payload["text"]
    assert jobs.run(lx, "villager_sla", clock.set("2026-11-27 17:00")).sent == 0


# ---------------------------------------------------------------------------------- monthly circular


def test_monthly_circular_stores_the_report_once_and_tells_the_office(make_lx: Any, clock: Any) -> None:
    lx = make_lx(**{"scheduler.office_openids": ["o-office"]})
    _people(lx, ["甲"])
    clock.set("2026-12-01 08:00")
    r = jobs.run(lx, "monthly_circular", clock())
    assert r.detail == {"period": "2026-11", "stored": True} and r.sent == 1
    with lx.sessions() as s:
        formats = sorted(s.scalars(select(StoredReport.format).where(StoredReport.period == "2026-11")))
    assert formats == ["html", "json", "xlsx"]
    assert "2026-11" in _outbox(lx)[0].payload["text"]
    again = jobs.run(lx, "monthly_circular", clock() + timedelta(hours=1))
    assert again.sent == 0 and again.detail["stored"] == "already"


def test_unknown_job_name(lx: Any) -> None:
    with pytest.raises(KeyError):
        jobs.run(lx, "no_such_job")


def test_remind_many_falls_back_when_someone_reminded_meanwhile(lx: Any, clock: Any) -> None:
    items = [jobs.Reminder("diary", f"cadre:{i}", "2026-11-24", f"o-{i}", f"提醒{i}") for i in range(3)]
    with lx.session() as s:
        assert jobs.remind_once(
            s, kind="diary", person="cadre:1", period="2026-11-24", openid="o-1", text="先发的", now=clock()
        )
        assert jobs.remind_many(s, items, now=clock()) == (2, 1)
        assert jobs.remind_many(s, items, now=clock()) == (0, 3)
    assert sorted(m.openid for m in _outbox(lx)) == ["o-0", "o-1", "o-2"]
    assert [m.payload["text"] for m in _outbox(lx, OutboxMessage.openid == "o-1")] == ["先发的"]
