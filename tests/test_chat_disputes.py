"""矛盾调解 in the cadre's chat (issue 26 item 2): `调解 M` marks villager request M a dispute, `调解 M 当事人 …`
adds parties, `调解 M 内容` records a mediation step, `调解 M 结果 …` the outcome; only the request's own cadre,
and `调解` without a number stays a diary entry."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import (
    DiaryEntry,
    Dispute,
    DisputeParty,
    DisputeStep,
    Household,
    VillagerRequest,
)
from tests.support.chat_env import Chat, bound, cadre_world


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    c = cadre_world(make_lx, clock)
    bound(c)  # 李明 as o-li
    c.wc.text("o-zhang", "20261124")  # 张大爷's account
    c.wc.text("o-zhang", "隔壁刘家把排水沟堵了，水淹到我家院子")  # request 1, to 李明
    assert c.one(select(VillagerRequest.number)) == 1
    return c


def _parties(chat: Chat) -> set[str]:
    return set(
        chat.all(select(Household.head_name).join(DisputeParty, DisputeParty.household_id == Household.id))
    )


def test_marking_a_request_a_dispute_makes_it_one_with_its_household_as_party(
    chat: Chat, renders: Any
) -> None:
    reply = chat.wc.text("o-li", "调解 1")
    assert renders.behind(reply).name == "dispute_marked" and renders.behind(reply)["marked"] is True
    d = chat.one(select(Dispute))
    assert d.marked_by == "cadre:13900001111" and d.outcome is None
    req = chat.one(select(VillagerRequest))
    assert (req.category, req.role) == ("纠纷", "调解")
    assert _parties(chat) == {"张大爷"}
    # again: nothing new
    reply = chat.wc.text("o-li", "调解 1")
    assert renders.behind(reply)["marked"] is False
    assert chat.count(Dispute) == 1 and chat.count(DisputeParty) == 1


def test_parties_steps_and_outcome_are_recorded(chat: Chat, renders: Any, clock: Any) -> None:
    reply = chat.wc.text("o-li", "调解 1 当事人 刘婶、赵叔、不存在的人")
    r = renders.behind(reply)
    assert r.name == "dispute_parties"
    assert [h.head_name for h in r["added"]] == ["刘婶", "赵叔"]  # 赵叔 is 王芳's household: same township
    assert r["unknown"] == ["不存在的人"]
    assert _parties(chat) == {"张大爷", "刘婶", "赵叔"}

    reply = chat.wc.text("o-li", "调解 1 上门找两家当面沟通，约定明天一起清沟")
    assert renders.behind(reply).name == "dispute_step_saved" and renders.behind(reply)["steps"] == 1
    step = chat.one(select(DisputeStep))
    assert step.day == date(2026, 11, 24) and step.text == "上门找两家当面沟通，约定明天一起清沟"

    clock.advance(days=1)
    reply = chat.wc.text("o-li", "调解 1 结果 调解成功 双方一起清了排水沟")
    assert renders.behind(reply).name == "dispute_outcome"
    d = chat.one(select(Dispute))
    assert (d.outcome, d.outcome_on, d.outcome_note) == ("resolved", date(2026, 11, 25), "双方一起清了排水沟")
    chat.wc.text("o-li", "调解 1 结果 转办")
    assert chat.one(select(Dispute.outcome)) == "transferred"


def test_full_width_and_traditional_forms_work(chat: Chat) -> None:
    chat.wc.text("o-li", "調解　１　當事人：刘婶")
    assert _parties(chat) == {"张大爷", "刘婶"}
    chat.wc.text("o-li", "调解１ 结果：未調解")
    assert chat.one(select(Dispute.outcome)) == "unresolved"


def test_another_cadres_request_is_not_found_and_nothing_changes(chat: Chat, renders: Any) -> None:
    chat.wc.text("o-wang", f"绑定 {chat.code('13900002222')}")
    reply = chat.wc.text("o-wang", "调解 1 我来调解")
    assert renders.behind(reply).name == "reply_not_found"
    assert chat.count(Dispute) == 0 and chat.count(DisputeStep) == 0
    assert chat.one(select(VillagerRequest.category)) != "纠纷"


def test_a_name_that_fits_several_households_is_not_guessed(chat: Chat, renders: Any) -> None:
    with chat.factory() as f:
        other = f.cadre(name="周强", phone="13900005555")
        f.household(other, head_name="钱多多")
        f.household(other, head_name="钱多多")
    reply = chat.wc.text("o-li", "调解 1 当事人 钱多多")
    assert renders.behind(reply)["several"] == ["钱多多"]
    assert _parties(chat) == {"张大爷"}


def test_tiaojie_without_a_number_stays_a_diary_entry(chat: Chat, renders: Any) -> None:
    reply = chat.wc.text("o-li", "调解 张家和刘家的排水沟纠纷，已当面说开")
    assert renders.behind(reply).name == "diary_saved"
    assert chat.count(DiaryEntry) == 1 and chat.count(Dispute) == 0


def test_tiaojie_alone_lists_my_open_disputes(chat: Chat, renders: Any) -> None:
    chat.wc.text("o-li", "调解 1")
    reply = chat.wc.text("o-li", "调解")
    listed = renders.behind(reply)
    assert listed.name == "dispute_list" and [r.number for _d, r in listed["disputes"]] == [1]
    chat.wc.text("o-li", "调解 1 结果 成功")
    assert renders.behind(chat.wc.text("o-li", "调解"))["disputes"] == []


def test_an_unknown_outcome_word_gets_the_usage_and_changes_nothing(chat: Chat, renders: Any) -> None:
    reply = chat.wc.text("o-li", "调解 1 结果 还行吧")
    assert renders.behind(reply).name == "dispute_usage"
    assert chat.one(select(Dispute.outcome)) is None


def test_a_villager_writing_tiaojie_makes_a_request(chat: Chat, renders: Any) -> None:
    """调解 is not a cadre-only command: a villager asking for mediation is asking their cadre."""
    chat.wc.text("o-zhang", "调解：刘家占了我家宅基地")
    assert chat.count(VillagerRequest) == 2 and chat.count(Dispute) == 0


def test_bad_input_on_an_unmarked_request_marks_nothing(chat: Chat, renders: Any) -> None:
    for text in ("调解 1 结果 还行吧", "调解 1 当事人", "调解 1 " + "很长" * 600):
        reply = chat.wc.text("o-li", text)
        assert renders.behind(reply).name in ("dispute_usage", "dispute_refused"), text
    assert chat.count(Dispute) == 0
    assert chat.one(select(VillagerRequest.category)) != "纠纷"


def test_a_count_after_tiaojie_is_a_diary_entry_not_a_request_number(chat: Chat, renders: Any) -> None:
    reply = chat.wc.text("o-li", "调解 3起邻里纠纷，均已化解")
    assert renders.behind(reply).name == "diary_saved"
    assert chat.count(DiaryEntry) == 1 and chat.count(Dispute) == 0
    reply = chat.wc.text("o-li", "调解 1号")
    assert renders.behind(reply).name == "dispute_marked"
