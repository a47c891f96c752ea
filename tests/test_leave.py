"""A cadre's leave, tried as the office would: `lianxin leave add` for three days → no diary reminder on those
days and the month's owed days drop by the working days of the leave; a cadre's chat 请假 (Traditional 請假
too) waits for the office, whose decision is pushed once; bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from handlers import leave as chat_leave
from handlers.leave import DatesError, parse_leave
from reminders import jobs
from storage import leave as leave_svc
from storage.assessment import build_report
from storage.models import AuditLog, Cadre, CadreLeave, OutboxMessage
from tests.support.chat_env import PHONE, Chat, bound, cadre_world
from tests.support.cli import run_cli
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


def _reminded(chat: Chat, openid: str) -> list[str]:
    return [
        m.payload["text"]
        for m in chat.all(
            select(OutboxMessage)
            .where(OutboxMessage.openid == openid, OutboxMessage.kind == "reminder")
            .order_by(OutboxMessage.id)
        )
    ]


def _november(chat: Chat) -> Any:
    with chat.lx.session() as s:
        report = build_report(s, chat.lx.config, "month", "2026-11", now=datetime(2026, 12, 2, 2, tzinfo=UTC))
        return {r.name: r for r in report.cadres}["李明"]


def test_leave_added_by_the_office_stops_reminders_and_lowers_the_days_owed(chat: Chat) -> None:
    bound(chat)
    with chat.lx.session() as s:  # on the link list since October: owes every working day of November
        s.execute(update(Cadre).values(created_at=datetime(2026, 10, 1, tzinfo=UTC)))
    before = _november(chat)
    r = run_cli(
        chat.lx, "leave", "add", PHONE, "--from", "2026-11-25", "--to", "2026-11-27", "--reason", "县里培训"
    )
    assert r.exit_code == 0, r.output
    lv = chat.one(select(CadreLeave))
    assert "李明" in r.output and (lv.start_date, lv.end_date, lv.status, lv.reason) == (
        date(2026, 11, 25),
        date(2026, 11, 27),
        "approved",
        "县里培训",
    )
    for day in ("2026-11-25", "2026-11-26", "2026-11-27"):
        chat.clock.set(f"{day} 19:30")
        jobs.run(chat.lx, "diary_reminders", chat.clock())
    assert _reminded(chat, "o-li") == []
    chat.clock.set("2026-11-30 19:30")  # back at work: reminded again
    jobs.run(chat.lx, "diary_reminders", chat.clock())
    assert len(_reminded(chat, "o-li")) == 1
    after = _november(chat)
    # Wed 25 – Fri 27 Nov are three working days of November's 21
    assert (before.working_days_owed, before.leave_days) == (21, 0)
    assert (after.working_days_owed, after.leave_days) == (18, 3)
    listed = run_cli(chat.lx, "leave", "list", "--month", "2026-11")
    rows = [line.split("\t") for line in listed.output.splitlines()[1:] if "\t" in line]
    assert [r[1:5] + r[6:] for r in rows] == [["李明", PHONE, "2026-11-25", "2026-11-27", "县里培训"]]
    assert rows[0][5] == leave_svc.status_text("approved")
    assert chat.one(select(AuditLog.action).where(AuditLog.action == "leave.add")) == "leave.add"


@pytest.mark.parametrize(
    "args, error",
    [
        (["13999999999", "--from", "2026-11-25", "--to", "2026-11-26"], "没有电话"),
        ([PHONE, "--from", "2026-11-27", "--to", "2026-11-25"], "早于"),
        ([PHONE, "--from", "2026-11-31", "--to", "2026-12-01"], "YYYY-MM-DD"),
    ],
)
def test_bad_leave_is_refused_and_changes_nothing(chat: Chat, args: list[str], error: str) -> None:
    """The operator's error names what is wrong: its words are pinned on purpose."""
    r = run_cli(chat.lx, "leave", "add", *args)
    assert r.exit_code != 0 and error in r.output
    assert chat.count(CadreLeave) == 0 and chat.count(AuditLog) == 0


def test_overlapping_leave_is_refused(chat: Chat) -> None:
    assert (
        run_cli(chat.lx, "leave", "add", PHONE, "--from", "2026-11-25", "--to", "2026-11-27").exit_code == 0
    )
    r = run_cli(chat.lx, "leave", "add", PHONE, "--from", "2026-11-27", "--to", "2026-11-30")
    assert r.exit_code != 0 and "已有请假记录" in r.output  # the operator's error, worded on purpose
    assert chat.count(CadreLeave) == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12月3日-12月5日 参加培训", (date(2026, 12, 3), date(2026, 12, 5), "参加培训")),
        ("12月3日至5日", (date(2026, 12, 3), date(2026, 12, 5), "")),
        ("１２月３日－１２月５日　事假", (date(2026, 12, 3), date(2026, 12, 5), "事假")),
        ("12.30-1.2 回老家", (date(2026, 12, 30), date(2027, 1, 2), "回老家")),
        ("2026-12-03到2026-12-04", (date(2026, 12, 3), date(2026, 12, 4), "")),
        ("12月3日 看病", (date(2026, 12, 3), date(2026, 12, 3), "看病")),
        ("1月5日", (date(2027, 1, 5), date(2027, 1, 5), "")),  # in late November, January is the next one
    ],
)
def test_leave_dates_are_read_the_way_people_type_them(text: str, expected: tuple[date, date, str]) -> None:
    assert parse_leave(text, date(2026, 11, 24)) == expected


@pytest.mark.parametrize("text", ["明天", "下周一到周三", "13月1日", "2月30日"])
def test_unreadable_leave_dates_are_refused(text: str) -> None:
    with pytest.raises(DatesError):
        parse_leave(text, date(2026, 11, 24))


def test_chat_leave_waits_for_the_office_and_its_decision_is_pushed_once(chat: Chat, renders) -> None:
    bound(chat)
    asked = renders.behind(chat.wc.text("o-li", "請假 11月25日-11月26日 县里培训"))  # Traditional 請假
    assert asked.name == "leave_requested" and asked["fresh"] and asked["leave"].status == "requested"
    assert (asked["leave"].start_date, asked["leave"].end_date, asked["leave"].reason) == (
        date(2026, 11, 25),
        date(2026, 11, 26),
        "县里培训",
    )
    again = renders.behind(chat.wc.text("o-li", "请假 11月26日"))
    assert again.name == "leave_requested" and not again["fresh"] and again["leave"].id == asked["leave"].id
    lv = chat.one(select(CadreLeave))
    assert (lv.status, lv.requested_by, chat.count(CadreLeave)) == ("requested", f"cadre:{PHONE}", 1)
    chat.clock.set("2026-11-25 19:30")  # not approved yet: still owes the diary
    jobs.run(chat.lx, "diary_reminders", chat.clock())
    assert len(_reminded(chat, "o-li")) == 1
    with chat.lx.session() as s:
        lv = s.get(CadreLeave, lv.id)
        assert chat_leave.decide(
            s, lv, approve=True, actor="console:office", now=chat.clock(), tz=chat.lx.config.tz
        )
    with chat.lx.session() as s:
        lv = s.get(CadreLeave, lv.id)
        assert not chat_leave.decide(
            s, lv, approve=False, actor="console:office", now=chat.clock(), tz=chat.lx.config.tz
        )
    pushes = chat.all(select(OutboxMessage).where(OutboxMessage.kind == "notice"))
    decided = renders.behind(pushes[0].payload["text"])
    assert len(pushes) == 1 and pushes[0].openid == "o-li" and decided.name == "leave_decided"
    assert decided["approved"] is True and decided["leave"].id == lv.id
    assert chat.one(select(CadreLeave.status)) == "approved"
    chat.clock.set("2026-11-26 19:30")
    jobs.run(chat.lx, "diary_reminders", chat.clock())
    assert len(_reminded(chat, "o-li")) == 1  # no reminder on an approved leave day


def test_two_offices_deciding_the_same_request_at_once_decide_it_once(chat: Chat) -> None:
    bound(chat)
    chat.wc.text("o-li", "请假 11月25日-11月26日 县里培训")
    leave_id = chat.one(select(CadreLeave.id))
    tz = chat.lx.config.tz
    with chat.lx.session() as first:
        a = first.get(CadreLeave, leave_id)
        assert a is not None and a.status == "requested"
        assert chat_leave.decide(first, a, approve=True, actor="console:one", now=chat.clock(), tz=tz)
    with chat.lx.session() as second:
        b = second.get(CadreLeave, leave_id)
        assert b is not None
        # the second office's page was loaded before the first decided: its row still says "requested"
        set_committed_value(b, "status", "requested")
        assert not chat_leave.decide(second, b, approve=False, actor="console:two", now=chat.clock(), tz=tz)
        assert b.status == "approved"  # the caller sees what the other office decided
    assert chat.one(select(CadreLeave.status)) == "approved"
    assert chat.all(select(AuditLog.actor).where(AuditLog.action.like("leave.%"))) == ["console:one"]
    assert len(chat.all(select(OutboxMessage).where(OutboxMessage.kind == "notice"))) == 1


@pytest.mark.parametrize(
    "text, words",
    [("请假", "请假 开始日期-结束日期"), ("请假 明天", "例如"), ("请假 11月20日-11月21日", "已经过去")],
)
def test_chat_leave_without_readable_future_dates_explains_wording(chat: Chat, text: str, words: str) -> None:
    """What a cadre who typed the dates wrong reads to try again: the words are the behaviour."""
    bound(chat)
    assert words in chat.wc.text("o-li", text)
    assert chat.count(CadreLeave) == 0


def test_a_villager_cannot_ask_for_leave(chat: Chat) -> None:
    chat.wc.text("o-v", "20261124")
    chat.wc.text("o-v", "请假 11月25日-11月26日")
    assert chat.count(CadreLeave) == 0


# ------------------------------------------------------------------------------------------- console


def test_console_records_leave_and_decides_requests_audited(world: World, renders) -> None:
    admin = world.login("admin")
    r = admin.post(
        "/leave",
        {"cadre_id": world.ids["cadre_a"], "start": "2026-11-25", "end": "2026-11-27", "reason": "培训"},
    )
    assert r.status_code == 302
    page = page_text(admin.get("/leave?month=2026-11"))
    assert "新桥村" in page and "李明" in page and "2026-11-27" in page
    [(village, [row])] = renders.page("leave.html")["by_village"]
    assert (village, row.cadre.name, row.leave.status) == ("新桥村", "李明", "approved")
    assert [a.actor for a in world.audits("leave.add")] == ["console:admin"]
    with world.lx.session() as s:  # 王芳 asks by chat
        cadre = s.get(Cadre, world.ids["cadre_b"])
        lv, _ = leave_svc.request_leave(
            s, cadre=cadre, start=date(2026, 11, 30), end=date(2026, 11, 30), reason="看病", now=world.clock()
        )
        leave_id = lv.id
    assert admin.get("/leave?month=2026-11").status_code == 200
    assert renders.page("leave.html")["pending"] == 1
    assert admin.post(f"/leave/{leave_id}/approve").status_code == 302
    assert admin.post(f"/leave/{leave_id}/refuse").status_code == 400  # decided already: nothing changes
    assert world.one(select(CadreLeave.status).where(CadreLeave.id == leave_id)) == "approved"
    assert [a.action for a in world.audits("leave.approve")] == ["leave.approve"]
    notices = world.count(
        OutboxMessage, OutboxMessage.kind == "notice", OutboxMessage.openid == world.openids["cadre_b"]
    )
    assert notices == 1


def test_console_leave_follows_village_scope_and_viewers_only_read(world: World) -> None:
    with world.lx.session() as s:
        other = s.get(Cadre, world.ids["cadre_b"])
        lv, _ = leave_svc.request_leave(
            s, cadre=other, start=date(2026, 11, 30), end=date(2026, 11, 30), reason=None, now=world.clock()
        )
        leave_id = lv.id
    village = world.login("xinqiao")
    assert "王芳" not in page_text(village.get("/leave?month=2026-11"))
    assert village.post(f"/leave/{leave_id}/approve").status_code == 404
    assert (
        village.post(
            "/leave", {"cadre_id": world.ids["cadre_b"], "start": "2026-11-25", "end": "2026-11-25"}
        ).status_code
        == 404
    )
    viewer = world.login("leader")
    assert "王芳" in page_text(viewer.get("/leave?month=2026-11"))
    assert viewer.post(f"/leave/{leave_id}/approve").status_code == 403
    assert world.one(select(CadreLeave.status).where(CadreLeave.id == leave_id)) == "requested"
    admin = world.login("admin")
    assert (
        admin.post(
            "/leave", {"cadre_id": world.ids["cadre_a"], "start": "2026-11-27", "end": "2026-11-25"}
        ).status_code
        == 400
    )
    assert (
        admin.post(
            "/leave",
            {"cadre_id": world.ids["cadre_a"], "start": "2026-11-25", "end": "2026-11-25"},
            csrf=False,
        ).status_code
        == 400
    )
    assert world.count(CadreLeave) == 1 and world.audits("leave.add") == []
