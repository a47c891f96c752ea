"""A service card's number is normalised one way and looked up one way (storage/cards.py ``normalize_number``,
``by_number``): the chat, the office's offline entry, purge, a card's households for a supervision card and
the link-list importer agree on what a typed number is. Four normalizations used to disagree: "2026-1124"
was found by the chat and missed by ``lianxin purge --card``; full-width digits were found only by the chat."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from handlers import keywords
from storage import cards, handover, offline, purge, register
from storage import tasks as task_svc
from storage.importer.shape import COLUMN_OF, SourceRow
from storage.importer.validate import check_row
from storage.models import Household, ServiceCard
from tests.support.chat_env import Chat, cadre_world

TYPED = ["20261124", "２０２６１１２４", "2026-1124", "2026 1124", " 2026.11.24 ", "２０２６－１１２４"]


@pytest.mark.parametrize("typed", TYPED)
def test_the_chats_recognizer_applies_the_one_normalization(typed: str) -> None:
    assert cards.normalize_number(typed) == "20261124"
    assert keywords.looks_like_card_number(typed) == cards.normalize_number(typed)


@pytest.fixture
def chat(make_lx: Any, clock: Any) -> Chat:
    return cadre_world(make_lx, clock)


@pytest.mark.parametrize("typed", TYPED)
def test_every_door_finds_the_card_however_its_number_is_typed(chat: Chat, typed: str) -> None:
    assert "李明" in chat.wc.text("o-zhang", typed)  # the chat links the account to 张大爷's household
    with chat.lx.session() as s:
        zhang = offline.household_by_card(s, typed)
        assert zhang.head_name == "张大爷"
        assert purge.find_household(s, card=typed).id == zhang.id
        assert task_svc.households_by_cards(s, [typed]) == [zhang.id]
        assert register.household_by_card(s, typed).id == zhang.id  # `lianxin household close`
        assert handover.household_of_card(s, typed).id == zhang.id  # `lianxin household move`


def test_a_card_stored_with_a_dash_before_numbers_were_normalised_is_found_by_every_door(chat: Chat) -> None:
    with chat.lx.session() as s:
        card = s.scalar(select(ServiceCard).where(ServiceCard.number == "20261125"))
        card.number = "2026-1125"  # as an old import kept it
    assert "李明" in chat.wc.text("o-liu", "20261125")
    with chat.lx.session() as s:
        liu = offline.household_by_card(s, "２０２６１１２５")
        assert liu.head_name == "刘婶"
        assert purge.find_household(s, card="20261125").id == liu.id
        assert task_svc.households_by_cards(s, ["2026 1125"]) == [liu.id]
        assert handover.household_of_card(s, "20261125").id == liu.id
        assert cards.by_number(s, "2026-1125") == s.get(Household, liu.id).card


def test_the_importer_stores_a_listed_number_as_the_lookups_normalise_it() -> None:
    values = {key: "" for key in COLUMN_OF} | {
        "village": "新桥村",
        "head_name": "张大爷",
        "population": "3",
        "card": "２０２６-１１２４",
        "cadre_name": "李明",
        "cadre_phone": "13900001111",
    }
    problems: list[Any] = []
    row = check_row(SourceRow(number=2, values=values), problems)
    assert problems == [] and row is not None and row["card"] == "20261124"
