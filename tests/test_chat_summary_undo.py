"""`撤销` right after `小结` undoes the 小结 (issue 25 item 9): the month's first is removed, a replacement puts
the one it replaced back; a diary entry or a ledger command written after the 小结 is what 撤销 undoes instead,
and after 10 minutes there is nothing to undo."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage.models import DiaryEntry, MonthlySummary
from tests.support.chat_env import Chat, bound, cadre_world


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


def test_undo_right_after_the_months_first_summary_removes_it(chat: Chat, renders: Any) -> None:
    bound(chat)
    chat.wc.text("o-li", "小结 本月走访 30 户")
    assert chat.count(MonthlySummary) == 1
    r = renders.behind(chat.wc.text("o-li", "撤销"))
    assert (r.name, r["year"], r["month"], r["restored"]) == ("summary_undone", 2026, 11, False)
    assert chat.count(MonthlySummary) == 0


def test_undo_of_a_replacement_puts_the_summary_it_replaced_back(chat: Chat, renders: Any) -> None:
    bound(chat)
    chat.wc.text("o-li", "小结 第一版")
    first = chat.one(select(MonthlySummary.submitted_at))
    chat.clock.advance(minutes=20)
    chat.wc.text("o-li", "小结 第二版")
    r = renders.behind(chat.wc.text("o-li", "撤销"))
    assert (r.name, r["restored"]) == ("summary_undone", True)
    row = chat.one(select(MonthlySummary))
    assert (row.text, row.submitted_at, row.previous) == ("第一版", first, None)
    # the first version is older than 10 minutes: a second 撤销 has nothing to undo
    assert renders.behind(chat.wc.text("o-li", "撤销")).name == "undo_nothing"
    assert chat.count(MonthlySummary) == 1


def test_undo_takes_the_latest_of_a_diary_entry_and_a_summary(chat: Chat, renders: Any) -> None:
    bound(chat)
    chat.wc.text("o-li", "小结 本月走访 30 户")
    chat.clock.advance(minutes=1)
    chat.wc.text("o-li", "今天走访了张大爷家")
    assert renders.behind(chat.wc.text("o-li", "撤销")).name == "diary_undone"  # the entry, sent last
    assert chat.count(MonthlySummary) == 1
    assert chat.count(DiaryEntry, DiaryEntry.deleted_at.is_(None)) == 0
    chat.clock.advance(minutes=11)
    assert renders.behind(chat.wc.text("o-li", "撤销")).name == "undo_nothing"
    assert chat.count(MonthlySummary) == 1
