"""The station's 转办 (issue 26 item 1): a cadre passes a villager's request to a township department with a time
limit, the department answers, the answer reaches the villager the way a cadre's 回复 does, the villager's rating
counts for the department as well as the cadre, and the request is 办结 (storage/station/, handlers/station.py)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from reminders import jobs
from storage import station
from storage.models import (
    ConsoleUser,
    Department,
    Household,
    OutboxMessage,
    RequestReply,
    RequestTransfer,
    Township,
    VillagerRequest,
)
from storage.purge import purge_household
from tests.support.chat_env import Chat, bound, cadre_world
from tests.support.cli import audit_actions, run_cli

STAFF = "o-minzheng"


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    c = cadre_world(make_lx, clock)  # 2026-11-24 20:00, a Tuesday
    bound(c)
    c.wc.text("o-zhang", "20261124")  # 张大爷's household
    with c.lx.session() as s:
        tid = s.scalar(select(Township.id))
        station.add_or_update(s, township_id=tid, name="民政办", actor="test", openids=[STAFF])
        station.add_or_update(s, township_id=tid, name="司法所", actor="test")
    return c


def _ask(chat: Chat, text: str = "低保怎么申请复核？") -> VillagerRequest:
    chat.wc.text("o-zhang", text)
    return chat.one(select(VillagerRequest).order_by(VillagerRequest.id.desc()))


def _to(chat: Chat, openid: str, kind: str | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.openid == openid).order_by(OutboxMessage.id)
    if kind is not None:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return chat.all(stmt)


def _answer(chat: Chat, number: int, text: str, dept: str = "民政办") -> None:
    with chat.lx.session() as s:
        req = s.scalar(select(VillagerRequest).where(VillagerRequest.number == number))
        d = s.scalar(select(Department).where(Department.name == dept))
        station.answer(
            s,
            request=req,
            department=d,
            text=text,
            actor="console:mz",
            now=chat.clock(),
            config=chat.lx.config,
            words=chat.lx.wording().station(chat.lx.config.tz),
        )


def test_a_cadre_passes_a_request_to_a_department_which_answers_and_the_villager_rates_it(
    chat: Chat, renders: Any
) -> None:
    req = _ask(chat)
    reply = renders.behind(
        chat.wc.text("o-li", "轉辦 1 民政辦申请低保复核，材料已收齐")
    )  # Traditional, no space before the note
    assert reply.name == "station_transferred" and reply["department"] == "民政办"
    t = chat.one(select(RequestTransfer))
    # five working days after Tuesday 24 November: Tuesday 1 December, at the end of work (17:30 Beijing)
    assert t.due.astimezone(chat.lx.config.tz).isoformat() == "2026-12-01T17:30:00+08:00"
    assert (t.status, t.note, t.transferred_by) == ("open", "申请低保复核，材料已收齐", "cadre:13900001111")
    assert chat.one(select(VillagerRequest.status)) == "transferred"
    # the department's staff and the villager are told
    [staff] = _to(chat, STAFF)
    assert renders.behind(staff.payload["text"]).name == "station_to_department"
    told = renders.behind(_to(chat, "o-zhang", "reply")[-1].payload["text"])
    assert told.name == "station_to_villager"

    chat.clock.advance(hours=15)
    _answer(chat, req.number, "已受理，下周一入户核查。")
    answered = renders.behind(_to(chat, "o-zhang", "reply")[-1].payload["text"])
    assert (answered.name, answered["ask_rating"]) == ("station_answer_villager", True)
    assert "已受理，下周一入户核查。" in _to(chat, "o-zhang", "reply")[-1].payload["text"]
    to_cadre = renders.behind(_to(chat, "o-li", "notice")[-1].payload["text"])
    assert (to_cadre.name, to_cadre["relayed"]) == ("station_answer_cadre", True)
    assert chat.one(select(RequestReply.author)) == "department:民政办"

    assert renders.behind(chat.wc.text("o-zhang", "满意")).name == "satisfaction_thanks"
    req = chat.one(select(VillagerRequest))
    t = chat.one(select(RequestTransfer))
    assert (req.status, req.satisfaction) == ("closed", "满意")
    assert (t.status, t.satisfaction, t.closed_by) == ("closed", "满意", "villager")


def test_an_unsatisfied_villager_sends_it_back_to_the_cadre_and_the_department_is_told(
    chat: Chat, renders: Any
) -> None:
    _ask(chat)
    chat.wc.text("o-li", "转办 1 民政办")
    _answer(chat, 1, "不符合条件。")
    chat.wc.text("o-zhang", "不满意")
    req = chat.one(select(VillagerRequest))
    t = chat.one(select(RequestTransfer))
    assert (req.status, t.status, t.satisfaction) == ("open", "answered", "不满意")
    assert renders.behind(_to(chat, STAFF)[-1].payload["text"]).name == "station_unsatisfied"


def test_an_unknown_department_is_answered_with_the_townships_departments_and_changes_nothing(
    chat: Chat, renders: Any
) -> None:
    _ask(chat)
    said = renders.behind(chat.wc.text("o-li", "转办 1 水利站 帮忙"))
    assert said.name == "station_unknown_department" and said["names"] == "司法所、民政办"
    assert chat.count(RequestTransfer) == 0
    assert chat.one(select(VillagerRequest.status)) == "open"


def test_another_cadres_request_cannot_be_passed_on(chat: Chat, renders: Any) -> None:
    _ask(chat)
    bound(chat, "o-wang", "13900002222")
    assert renders.behind(chat.wc.text("o-wang", "转办 1 民政办")).name == "reply_not_found"
    assert chat.count(RequestTransfer) == 0


def test_a_request_with_a_department_cannot_be_passed_again(chat: Chat, renders: Any) -> None:
    _ask(chat)
    chat.wc.text("o-li", "转办 1 民政办")
    again = renders.behind(chat.wc.text("o-li", "转办 1 司法所"))
    assert again.name == "station_refused" and "民政办" in again["message"]
    assert chat.count(RequestTransfer) == 1


def test_the_cadres_word_while_a_department_has_it_does_not_end_the_transfer(chat: Chat) -> None:
    _ask(chat)
    chat.wc.text("o-li", "转办 1 民政办")
    chat.wc.text("o-li", "回复 1 已转民政办，请耐心等待")
    assert chat.one(select(VillagerRequest.status)) == "transferred"


def test_more_time_asked_is_granted_by_the_office_and_moves_the_time_limit(chat: Chat) -> None:
    _ask(chat)
    chat.wc.text("o-li", "转办 1 民政办")
    words = chat.lx.wording().station(chat.lx.config.tz)
    with chat.lx.session() as s:
        req = s.scalar(select(VillagerRequest))
        d = s.scalar(select(Department).where(Department.name == "民政办"))
        common = {"now": chat.clock(), "config": chat.lx.config, "words": words}
        with pytest.raises(station.StationError):  # no reason given
            station.ask_extension(
                s, request=req, department=d, until=date(2026, 12, 4), reason=" ", actor="x", **common
            )
        station.ask_extension(
            s,
            request=req,
            department=d,
            until=date(2026, 12, 4),
            reason="需入户核查",
            actor="console:mz",
            **common,
        )
        t = station.answer_extension(s, request=req, grant=True, actor="console:office", **common)
        assert t.due.astimezone(chat.lx.config.tz).isoformat() == "2026-12-04T17:30:00+08:00"
        assert t.extension_status == "granted"


def test_a_department_hands_a_request_back_to_the_cadre_with_its_reason(chat: Chat, renders: Any) -> None:
    _ask(chat)
    chat.wc.text("o-li", "转办 1 司法所")
    with chat.lx.session() as s:
        req = s.scalar(select(VillagerRequest))
        d = s.scalar(select(Department).where(Department.name == "司法所"))
        station.hand_back(
            s,
            request=req,
            department=d,
            reason="属民政办职责",
            actor="console:sf",
            now=chat.clock(),
            config=chat.lx.config,
            words=chat.lx.wording().station(chat.lx.config.tz),
        )
    assert chat.one(select(VillagerRequest.status)) == "open"
    assert chat.one(select(RequestTransfer.status)) == "returned"
    assert renders.behind(_to(chat, "o-li", "notice")[-1].payload["text"]).name == "station_handed_back"
    chat.wc.text("o-li", "转办 1 民政办 司法所退回")  # the cadre may pass it on again
    assert chat.count(RequestTransfer) == 2


def test_the_sla_chases_the_department_by_its_time_limit_and_not_the_cadre(
    make_lx: Any, clock: Any, renders: Any
) -> None:
    chat = cadre_world(lambda **kw: make_lx(**{"scheduler.office_openids": ["o-office"], **kw}), clock)
    bound(chat)
    chat.wc.text("o-zhang", "20261124")
    with chat.lx.session() as s:
        station.add_or_update(
            s, township_id=s.scalar(select(Township.id)), name="民政办", actor="t", openids=[STAFF]
        )
    _ask(chat)
    chat.wc.text("o-li", "转办 1 民政办")  # due Tuesday 1 December 17:30

    def sent(at: str) -> list[tuple[str, str]]:
        before = chat.count(OutboxMessage)
        jobs.run(chat.lx, "villager_sla", clock.set(at))
        return [
            (m.openid, renders.behind(m.payload["text"]).name)
            for m in chat.all(select(OutboxMessage))[before:]
        ]

    assert sent("2026-11-27 17:00") == []  # > 24 working hours: the cadre is not chased, the limit is far
    assert sent("2026-11-30 18:00") == [(STAFF, "transfer_chase")]  # within a day of the limit
    assert sent("2026-11-30 19:00") == []  # once
    assert sorted(sent("2026-12-01 18:00")) == [(STAFF, "transfer_chase"), ("o-office", "transfer_overdue")]
    assert sent("2026-12-02 09:00") == []


# ------------------------------------------------------------------------------------------- the command line


def test_the_office_adds_departments_and_accounts_and_passes_answers_and_closes_on_the_command_line(
    chat: Chat,
) -> None:
    lx = chat.lx
    ok = run_cli(lx, "department", "add", "农业农村办", "--openid", "o-nongye")
    assert ok.exit_code == 0, ok.output
    listed = run_cli(lx, "department", "list", catch_exceptions=False).output
    assert "农业农村办\t账号 0\t微信 1\t在办 0" in listed and "民政办" in listed
    assert run_cli(lx, "department", "add", "x").exit_code != 0  # a name too short: refused, nothing added
    made = run_cli(
        lx, "user", "add", "mz", "--role", "department", "--department", "民政办", input="pass-word-1\n"
    )
    assert made.exit_code == 0, made.output
    assert (
        run_cli(
            lx, "user", "add", "mz2", "--role", "department", "--department", "水利站", input="pass-word-1\n"
        ).exit_code
        != 0
    )
    with lx.session() as s:
        u = s.scalar(select(ConsoleUser).where(ConsoleUser.username == "mz"))
        assert (u.role, u.department_id) == (
            "department",
            s.scalar(select(Department.id).where(Department.name == "民政办")),
        )

    _ask(chat)
    _ask(chat, "路灯坏了")
    done = run_cli(
        lx, "request", "transfer", "1", "--to", "民政办", "--due", "2026-11-30", "--note", "低保复核"
    )
    assert done.exit_code == 0, done.output
    assert run_cli(lx, "request", "transfer", "9", "--to", "民政办").exit_code != 0
    assert (
        run_cli(lx, "request", "transfer", "2", "--to", "民政办", "--due", "2026-11-01").exit_code != 0
    )  # past
    # the cadre is told the office passed it on
    assert any(
        "已转办" in (m.payload.get("template") or {}).get("title", "") for m in _to(chat, "o-li", "notice")
    )

    rows = json.loads(run_cli(lx, "request", "list", "--format", "json").output)["requests"]
    assert [(r["number"], r["department"], r["status"]) for r in rows] == [
        (1, "民政办", "transferred"),
        (2, None, "open"),
    ]
    assert set(rows[0]) == {
        "number",
        "household",
        "cadre",
        "department",
        "status",
        "received_at",
        "due",
        "answered_at",
    }
    assert (rows[0]["household"], rows[0]["cadre"], rows[0]["due"]) == (
        "张大爷",
        "李明",
        "2026-11-30T17:30+08:00",
    )
    only = json.loads(run_cli(lx, "request", "list", "--department", "民政办", "--format", "json").output)
    assert [r["number"] for r in only["requests"]] == [1]
    transferred = json.loads(
        run_cli(lx, "request", "list", "--status", "transferred", "--format", "json").output
    )
    assert [r["number"] for r in transferred["requests"]] == [1]

    assert (
        run_cli(lx, "request", "answer", "1", "--as", "司法所", "--text", "x").exit_code != 0
    )  # not with it
    assert (
        run_cli(lx, "request", "answer", "1", "--as", "民政办", "--text", "符合条件，已上报。").exit_code == 0
    )
    assert "符合条件，已上报。" in _to(chat, "o-zhang", "reply")[-1].payload["text"]
    assert run_cli(lx, "request", "close", "1").exit_code == 0
    assert chat.one(select(VillagerRequest.status).where(VillagerRequest.number == 1)) == "closed"
    assert chat.one(select(RequestTransfer.status)) == "closed"
    actions = audit_actions(lx)
    for action in (
        "department.add",
        "user.add",
        "request.transfer",
        "request.department_answer",
        "request.close",
    ):
        assert action in actions


# --------------------------------------------------------------------------------------- the month's figures


def test_the_month_report_counts_a_transferred_request_for_the_cadre_and_the_department(
    chat: Chat, tmp_path: Any
) -> None:
    """Issue 26's trial: a villager's 低保 question goes from the cadre to 民政办 with a time limit, 民政办 answers,
    the villager gets the answer through the same channel and rates it; the month report counts it for both."""
    req = _ask(chat)
    chat.wc.text("o-li", "转办 1 民政办 申请低保复核")
    chat.clock.advance(hours=16)
    run_cli(chat.lx, "request", "answer", "1", "--as", "民政办", "--text", "符合条件，已上报县民政局。")
    chat.wc.text("o-zhang", "满意")
    _ask(chat, "宅基地纠纷")  # 2: passed to 司法所 by the office, answered after its time limit, rated 不满意
    run_cli(chat.lx, "request", "transfer", "2", "--to", "司法所", "--due", "2026-11-26")
    chat.clock.set("2026-11-27 09:00")
    _answer(chat, 2, "已调解。", dept="司法所")
    chat.clock.set("2026-12-02 09:00")
    _answer(chat, 2, "再次答复。", dept="司法所")
    chat.wc.text("o-zhang", "不满意")
    assert req.number == 1

    out = tmp_path / "m.json"
    r = run_cli(chat.lx, "report", "month", "2026-11", "--format", "json", "--out", str(out))
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    by_name = {d["name"]: d for d in data["departments"]}
    assert {k: by_name["民政办"][k] for k in ("received", "answered_in_time", "closed", "satisfied", "unsatisfied")} == {
        "received": 1, "answered_in_time": 1, "closed": 1, "satisfied": 1, "unsatisfied": 0,
    }  # fmt: skip
    assert {k: by_name["司法所"][k] for k in ("received", "answered_in_time", "closed", "satisfied", "unsatisfied")} == {
        "received": 1, "answered_in_time": 0, "closed": 0, "satisfied": 0, "unsatisfied": 1,
    }  # fmt: skip
    [cadre] = [c for c in data["cadres"] if c["name"] == "李明"]
    assert (cadre["requests_received"], cadre["requests_rated"], cadre["requests_satisfied"]) == (2, 2, 1)
    for fmt, needle in (("html", "部门转办"), ("xlsx", None)):
        path = tmp_path / f"m.{fmt}"
        assert (
            run_cli(chat.lx, "report", "month", "2026-11", "--format", fmt, "--out", str(path)).exit_code == 0
        )
        if needle:
            page = path.read_text(encoding="utf-8")
            assert needle in page and "民政办" in page
        else:
            wb = load_workbook(path)
            rows = list(wb["部门转办"].values)
            assert rows[0][:3] == ("乡镇", "部门", "转办件数") and ("民政办", 1) in [
                (r[1], r[2]) for r in rows[1:]
            ]
    county = tmp_path / "c.json"
    assert (
        run_cli(
            chat.lx, "report", "month", "2026-11", "--county", "--format", "json", "--out", str(county)
        ).exit_code
        == 0
    )
    assert {d["name"] for d in json.loads(county.read_text(encoding="utf-8"))["departments"]} == {
        "民政办",
        "司法所",
    }


def test_passing_it_again_after_an_unsatisfied_answer_ends_the_first_passing(chat: Chat) -> None:
    _ask(chat)
    chat.wc.text("o-li", "转办 1 司法所")
    _answer(chat, 1, "请找民政办。", dept="司法所")
    chat.wc.text("o-zhang", "不满意")
    chat.wc.text("o-li", "转办 1 民政办")
    rows = chat.all(select(RequestTransfer).order_by(RequestTransfer.id))
    assert [(t.status, t.satisfaction) for t in rows] == [("closed", "不满意"), ("open", None)]
    with chat.lx.session() as s:
        board = station.office_board(s, now=chat.clock(), yellow_hours=24)
        assert [r.department for r in board] == ["民政办"]


def test_a_cadre_without_a_number_or_department_is_shown_how_and_a_refused_extension_keeps_the_limit(
    chat: Chat, renders: Any
) -> None:
    _ask(chat)
    assert renders.behind(chat.wc.text("o-li", "转办")).name == "station_usage"
    assert renders.behind(chat.wc.text("o-li", "转办 1")).name == "station_usage"
    assert chat.count(RequestTransfer) == 0
    chat.wc.text("o-li", "转办 1 民政办")
    words = chat.lx.wording().station(chat.lx.config.tz)
    with chat.lx.session() as s:
        req = s.scalar(select(VillagerRequest))
        d = s.scalar(select(Department).where(Department.name == "民政办"))
        common = {"now": chat.clock(), "config": chat.lx.config, "words": words}
        due = station.current(s, req.id).due
        station.ask_extension(
            s,
            request=req,
            department=d,
            until=date(2026, 12, 4),
            reason="材料未齐",
            actor="console:mz",
            **common,
        )
        t = station.answer_extension(
            s, request=req, grant=False, actor="console:office", reason="按时办理", **common
        )
        assert (t.extension_status, t.due) == ("refused", due)
    told = renders.behind(_to(chat, STAFF)[-1].payload["text"])
    assert told.name == "station_extension_answered" and told["reason"] == "按时办理"


def test_purging_a_household_removes_the_notes_and_reasons_of_its_transfers(chat: Chat) -> None:
    _ask(chat)
    chat.wc.text("o-li", "转办 1 民政办 张大爷患病，电话 13812345678")
    with chat.lx.session() as s:
        h = s.scalar(select(Household).where(Household.head_name == "张大爷"))
        res = purge_household(s, h, actor="cli", now=chat.clock())
        assert res.counts["request_transfers"] == 1
    t = chat.one(select(RequestTransfer))
    assert (t.note, t.extension_reason, t.returned_reason) == (None, None, None)
    staff = _to(chat, STAFF)[0]
    assert "13812345678" not in staff.payload["text"]  # the push that carried it was purged too
