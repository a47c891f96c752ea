"""A year of people, as the office would run it (issue 24 "Done when"): mid-November 李明 hands his households to a
new cadre 陈新 and retires; a villager of a moved household reaches 陈新; the November report shows both cadres,
each for their own days (docs/assessment.md "Handover and retirement"), and December's ranks only those serving."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.assessment import build_report
from storage.models import Cadre, DiaryEntry, VillagerRequest
from tests.support.chat_env import PHONE, Chat, bound, make_chat
from tests.support.cli import run_cli

OTHER = "13900002222"
NEW = "13900009999"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-02 08:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        li = f.cadre(name="李明", phone=PHONE, post="村支书")
        wang = f.cadre(name="王芳", phone=OTHER)
        f.household(li, head_name="张大爷", card="20261124")
        f.household(li, head_name="刘婶", card="20261125")
        f.household(wang, head_name="赵叔", card="20261126")
    bound(c)
    c.wc.text("o-zhang", "20261124")
    return c


def write_diaries(chat: Chat, phone: str, first: date, last: date) -> None:
    with chat.lx.session() as s:
        cadre = s.scalar(select(Cadre).where(Cadre.phone == phone))
        d = first
        while d <= last:
            if d.weekday() < 5:
                s.add(DiaryEntry(cadre_id=cadre.id, day=d, text="走访联系户，了解生产生活情况"))
            d += timedelta(days=1)


def report(chat: Chat, month: str, at: str) -> dict[str, Any]:
    with chat.lx.session() as s:
        r = build_report(s, chat.lx.config, "month", month, now=datetime.fromisoformat(at).replace(tzinfo=TZ))
    return {row.name: row for row in r.cadres}


def test_a_handover_mid_month_then_retirement_reads_right_in_the_reports(chat: Chat) -> None:
    write_diaries(chat, PHONE, date(2026, 11, 2), date(2026, 11, 13))
    chat.clock.set("2026-11-16 09:00")
    handed = run_cli(chat.lx, "cadre", "handover", PHONE, "--to", NEW, "--name", "陈新", "--post", "村委委员")
    assert handed.exit_code == 0, handed.output
    retired = run_cli(chat.lx, "cadre", "retire", PHONE, "--date", "2026-11-16")
    assert retired.exit_code == 0, retired.output

    chat.wc.text("o-zhang", "家里水管冻裂了，能帮忙找人修吗")
    asked = chat.one(select(VillagerRequest).order_by(VillagerRequest.id.desc()).limit(1))
    assert asked.cadre_id == chat.one(select(Cadre.id).where(Cadre.phone == NEW))

    write_diaries(chat, NEW, date(2026, 11, 16), date(2026, 11, 30))
    november = report(chat, "2026-11", "2026-12-02 09:00")
    li, chen = november["李明"], november["陈新"]
    assert (li.working_days_owed, li.diary_days) == (10, 10)  # Nov 2–13: his days
    assert (chen.working_days_owed, chen.diary_days) == (11, 11)  # Nov 16–30: the successor's
    assert li.households == 2 and chen.households == 2  # each counts the households they looked after
    assert li.rank is not None and chen.rank is not None

    write_diaries(chat, NEW, date(2026, 12, 1), date(2026, 12, 31))
    december = report(chat, "2026-12", "2027-01-04 09:00")
    assert "李明" not in december and set(december) == {"陈新", "王芳"}
    assert december["陈新"].households == 2


def test_the_report_before_the_handover_month_still_shows_the_retired_cadre(chat: Chat) -> None:
    write_diaries(chat, PHONE, date(2026, 11, 2), date(2026, 11, 13))
    chat.clock.set("2026-12-01 09:00")
    assert run_cli(chat.lx, "cadre", "handover", PHONE, "--to", OTHER).exit_code == 0
    assert run_cli(chat.lx, "cadre", "retire", PHONE, "--date", "2026-12-01").exit_code == 0
    november = report(chat, "2026-11", "2026-12-02 09:00")
    assert november["李明"].households == 2 and november["王芳"].households == 3
    assert "李明" not in report(chat, "2026-12", "2027-01-04 09:00")


def test_a_handed_over_request_gives_the_successor_the_full_time_limit(chat: Chat) -> None:
    bound(chat, "o-wang", OTHER)
    chat.clock.set("2026-11-16 09:00")
    chat.wc.text("o-zhang", "家里水管冻裂了，能帮忙找人修吗")
    number = chat.one(select(VillagerRequest.number))
    chat.clock.advance(hours=25)  # past 李明's 24 hours
    assert run_cli(chat.lx, "household", "move", "20261124", "--cadre", OTHER).exit_code == 0
    chat.clock.advance(hours=2)
    chat.wc.text("o-wang", f"回复 {number} 已安排水管师傅下午上门")
    assert chat.one(select(VillagerRequest.first_answer_at)) is not None
    wang = report(chat, "2026-11", "2026-12-02 09:00")["王芳"]
    assert (wang.requests_received, wang.requests_answered_in_sla, wang.requests_late) == (1, 1, 0)
