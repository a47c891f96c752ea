"""storage/naming.by_number: 村民小组 sort by the number their names mean, whatever way it is written."""

from __future__ import annotations

from typing import Any

import pytest

from console.documents.printing import card_rows
from storage.group_links import group_leaders
from storage.naming import by_number, number_in
from tests.support.link_lists import import_links, to_csv
from tests.test_group_links import GROUP_HEADER, with_groups


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("一组", 1),
        ("二组", 2),
        ("两组", 2),
        ("十组", 10),
        ("十一组", 11),
        ("二十组", 20),
        ("二十三组", 23),
        ("一百零五组", 105),
        ("一〇三组", 103),
        ("第3组", 3),
        ("第十二组", 12),
        ("12组", 12),
        ("１２组", 12),
        ("东风组", None),
    ],
)
def test_number_a_group_name_means(name: str, number: int | None) -> None:
    assert number_in(name) == number


def test_groups_sort_by_their_number_not_their_characters() -> None:
    names = ["三组", "十一组", "二组", "十组", "一组", "二十三组", "九组", "第4组", "5组", "东风组"]
    assert sorted(names, key=by_number) == [
        "一组",
        "二组",
        "三组",
        "第4组",
        "5组",
        "九组",
        "十组",
        "十一组",
        "二十三组",
        "东风组",
    ]


def test_names_with_the_same_number_keep_a_fixed_order_and_none_is_empty() -> None:
    assert sorted(["第2组", "2组", "二组"], key=by_number) == sorted(["二组", "2组", "第2组"], key=by_number)
    assert by_number(None) == by_number("")


def test_ledger_groups_and_printed_cards_list_groups_by_number(session: Any) -> None:
    """The 包组联户 list (the ledger, its downloads, the public listing, chat `农户`) and the printed cards and
    listing put 二组 before 三组 (by the characters, 三 sorts before 二)."""
    leaders = {
        (v, g): ("赵丽", "0871-6543210") for v in ("新桥村", "石门村") for g in ("一组", "二组", "三组")
    }
    # the list the other way round: 三组 is stored first
    rows = list(reversed(with_groups(leaders, every_row=True)))
    plan = import_links(session, to_csv(rows, header=GROUP_HEADER))
    assert plan.ok, plan.problems
    listed = [(g.village, g.group) for g in group_leaders(session)]
    assert listed == [(v, g) for v in ("新桥村", "石门村") for g in ("一组", "二组", "三组")] or listed == [
        (v, g) for v in ("石门村", "新桥村") for g in ("一组", "二组", "三组")
    ]
    by_cadre: dict[tuple[str, str], list[int]] = {}
    for card in card_rows(session):
        by_cadre.setdefault((card.village, card.cadre_phone), []).append(number_in(card.group) or 0)
    assert by_cadre and all(groups == sorted(groups) for groups in by_cadre.values())
    assert any(len(set(groups)) > 1 for groups in by_cadre.values())
