"""The link-list import's steps one at a time, without a file or a database: a row's own checks and the rows
against each other (storage/importer/validate.py), a row against what is stored (matching.py), and what an
accepted row changes (changes.py); and one write step of apply.py whose rule no other test pins. The whole
import, file to database, is tests/test_import.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.importer import COLUMNS, ImportPlan, Problem, SourceRow
from storage.importer.changes import minimum_warnings, plan_card, plan_details, plan_link
from storage.importer.matching import card_finds, match_households, stored_household
from storage.importer.stored import Stored
from storage.importer.validate import (
    check_row,
    check_rows_together,
    example_row_error,
    parse_population,
    phone_errors,
    row_phones,
)
from storage.models import Household, HouseholdInfoHistory, ServiceCard
from tests.support.link_lists import GOOD, good_rows, import_links, to_csv


def _values(**cells: str) -> dict[str, str]:
    base = {
        "village": "新桥村",
        "group": "一组",
        "head_name": "陈金花",
        "head_phone": "13248373760",
        "population": "4",
        "card": "",
        "cadre_name": "李明",
        "cadre_phone": "13987654321",
        "cadre_post": "",
        "cadre_unit": "",
        "group_cadre_name": "",
        "group_cadre_phone": "",
        "tags": "",
    }
    assert set(base) == {key for _, key in COLUMNS}
    return base | cells


# --------------------------------------------------------------------------------------------------
# One row's checks
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, value",
    [("4", 4), ("4人", 4), ("4 口", 4), ("4.0", 4), ("0", 0), ("99", 99)],
)
def test_population_is_read_as_people_write_it(cell, value):
    assert parse_population(cell) == (value, [])


@pytest.mark.parametrize(
    "cell, words",
    [("", "家庭人口为空"), ("人", "家庭人口为空"), ("四", "不是数字"), ("4.5", "不是整数"), ("-1", "是负数")],
)
def test_population_that_is_not_a_whole_number_of_people_is_refused(cell, words):
    value, errors = parse_population(cell)
    assert value is None and len(errors) == 1
    assert errors[0][0] == "population" and words in errors[0][1]


def test_population_over_99_is_not_believed():
    assert parse_population("100") == (None, [("population", "「100」不合理（超过 99 人）")])


def test_phones_are_compared_normalised_and_a_landline_needs_its_area_code():
    v = _values(head_phone="138 1234 5678", cadre_phone="0871-6543210")
    phones = row_phones(v)
    assert (phones.head, phones.cadre, phones.group) == ("13812345678", "08716543210", "")
    assert phone_errors(v, phones) == []
    v = _values(cadre_phone="6543210")
    assert [key for key, _ in phone_errors(v, row_phones(v))] == ["cadre_phone"]


@pytest.mark.parametrize(
    "cells, key, words",
    [
        ({"cadre_phone": ""}, "cadre_phone", "干部以电话识别"),
        ({"group_cadre_name": "李明"}, "group_cadre_phone", "没有包组干部电话"),
        ({"group_cadre_phone": "13987654321", "group": ""}, "group", "村民小组为空"),
        ({"group_cadre_phone": "123"}, "group_cadre_phone", "不是有效的电话号码"),
    ],
)
def test_a_cadre_is_known_by_a_phone(cells, key, words):
    v = _values(**cells)
    errors = phone_errors(v, row_phones(v))
    assert len(errors) == 1 and errors[0][0] == key and words in errors[0][1]


def test_the_templates_example_row_is_recognised_however_its_phones_are_written():
    v = _values(
        village="新桥村",
        group="一组",
        head_name="王大山",
        head_phone="138-1234-5678",
        cadre_name="李明",
        cadre_phone="139 8765 4321",
        cadre_post="村支书",
        cadre_unit="新桥村委会",
    )
    assert [key for key, _ in example_row_error(v, row_phones(v))] == ["head_name"]
    v["head_name"] = "王大川"
    assert example_row_error(v, row_phones(v)) == []


def test_a_row_reports_every_problem_at_once_in_column_order_and_is_not_kept():
    problems: list[Problem] = []
    row = SourceRow(7, _values(village="", head_phone="12", population="x", card="卡 号"))
    assert check_row(row, problems) is None
    assert [(p.row, p.column) for p in problems] == [
        (7, "村(居)"),
        (7, "户主电话"),
        (7, "家庭人口"),
        (7, "服务卡号"),
    ]


def test_a_good_row_comes_back_cleaned():
    problems: list[Problem] = []
    row = SourceRow(3, _values(head_phone="", population="5人", card="ab 12", cadre_post="村支书"))
    assert check_row(row, problems) == {
        "row": 3,
        "village": "新桥村",
        "group": "一组",
        "head_name": "陈金花",
        "head_phone": None,
        "population": 5,
        "card": "AB12",
        "cadre_name": "李明",
        "cadre_phone": "13987654321",
        "cadre_post": "村支书",
        "cadre_unit": None,
        "group_cadre_name": "",
        "group_cadre_phone": None,
        "tags": [],
    }
    assert problems == []


# --------------------------------------------------------------------------------------------------
# The rows against each other
# --------------------------------------------------------------------------------------------------


def _row(n: int, **cells: str) -> dict:
    problems: list[Problem] = []
    row = check_row(SourceRow(n, _values(**cells)), problems)
    assert row is not None, problems
    return row


def test_a_cadre_phone_written_with_two_names_is_refused_on_the_later_row():
    problems: list[Problem] = []
    first = check_rows_together([_row(2), _row(3, head_name="高金花", cadre_name="李铭")], problems)
    assert [(p.row, p.column) for p in problems] == [(3, "联户干部")]
    assert "在第 2 行是「李明」，此处却是「李铭」" in problems[0].message
    assert first["13987654321"]["row"] == 2  # the first row names the cadre


def test_one_household_twice_is_a_repeat_under_one_cadre_and_a_conflict_under_two():
    problems: list[Problem] = []
    check_rows_together([_row(2), _row(3)], problems)
    assert [(p.row, p.column) for p in problems] == [(3, "户主姓名")]
    problems.clear()
    check_rows_together([_row(2), _row(3, cadre_name="赵丽", cadre_phone="08716543210")], problems)
    assert [(p.row, p.column) for p in problems] == [(3, "干部电话")]
    assert "一户只能由一名干部联系" in problems[0].message


def test_a_card_number_twice_in_the_list_is_refused():
    problems: list[Problem] = []
    check_rows_together([_row(2, card="0010"), _row(3, head_name="高金花", card="0010")], problems)
    assert [str(p) for p in problems] == ["第 3 行 [服务卡号]：卡号 0010 与第 2 行重复"]


# --------------------------------------------------------------------------------------------------
# A row against what is stored
# --------------------------------------------------------------------------------------------------


def _household(hid: int, township_id: int = 1, **fields) -> dict:
    return {
        "id": hid,
        "village_id": 1,
        "village": "新桥村",
        "group": "一组",
        "group_id": 1,
        "head_name": "陈金花",
        "head_phone": "13248373760",
        "population": 4,
        "township_id": township_id,
        "added_by": None,
        "closed_on": None,
        "closed_reason": None,
    } | fields


def _stored(*households: dict, cards: dict[str, int] | None = None, **fields) -> Stored:
    by_id = {h["id"]: h for h in households}
    return Stored(
        **{
            "township_id": 1,
            "township_names": {1: "示范镇", 2: "第二镇"},
            "villages": {"新桥村": 1},
            "group_ids": {(1, "一组"): 1},
            "households": by_id,
            "by_identity": {
                (h["village"], h["group"], h["head_name"], h["head_phone"] or ""): h
                for h in households
                if h["township_id"] == 1
            },
            "card_households": cards or {},
            "card_of": {hid: (hid, number) for number, hid in (cards or {}).items() if hid in by_id},
            "links": {},
            "cadres": {},
            "cadre_by_id": {},
        }
        | fields
    )


@pytest.mark.parametrize(
    "cells, found",
    [
        ({"head_phone": "13700000001"}, True),  # the phone changed
        ({"head_name": "陈金华"}, True),  # the name corrected, the phone the same
        ({"group": "二组"}, True),  # moved to another group of the village
        ({"head_name": "陈金华", "head_phone": "13700000001"}, False),  # both changed: another household
        ({"head_name": "陈金华", "head_phone": ""}, False),  # no phone to confirm the new name
        ({"village": "石门村"}, False),  # another village
    ],
)
def test_a_card_number_alone_finds_a_household_whose_head_changed_one_thing(cells, found):
    assert card_finds(_row(2, card="0010", **cells), _household(7)) is found


def test_a_row_is_its_stored_household_by_identity_or_by_card():
    h = _household(7)
    stored = _stored(h, cards={"0010": 7})
    assert stored_household(_row(2), stored) == (h, None)
    assert stored_household(_row(2, head_phone="13700000001", card="0010"), stored) == (h, None)
    assert stored_household(_row(2, head_name="高金花", head_phone=""), stored) == (None, None)


@pytest.mark.parametrize(
    "households, cards, words",
    [
        ([], {"0010": 7}, "已删除个人信息的户"),
        (
            [_household(7, township_id=2, village="第二镇新桥村")],
            {"0010": 7},
            "另一乡镇的农户（第二镇新桥村）",
        ),
        (
            [_household(7, head_name="高金花", head_phone="")],
            {"0010": 7},
            "已属于另一户（新桥村一组 高金花）",
        ),
        (
            [_household(7), _household(8, head_name="高金花")],
            {"0010": 8},
            "已属于另一户（新桥村一组 高金花）",
        ),
    ],
    ids=["purged", "other township", "another household", "identity and card disagree"],
)
def test_a_card_number_that_is_another_households_refuses_the_row(households, cards, words):
    target, problem = stored_household(_row(2, card="0010"), _stored(*households, cards=cards))
    assert target is None and problem is not None
    assert (problem.row, problem.column) == (2, "服务卡号") and words in problem.message


def test_two_rows_reaching_one_stored_household_refuse_the_second():
    h = _household(7)
    problems: list[Problem] = []
    rows = [_row(2), _row(3, head_phone="13700000001", card="0010"), _row(4, head_name="高金花")]
    matched = match_households(rows, _stored(h, cards={"0010": 7}), problems)
    assert [(r["row"], t) for r, t in matched] == [(2, h), (4, None)]
    assert [str(p) for p in problems] == [
        "第 3 行 [服务卡号]：与第 2 行指向数据库中的同一户（新桥村一组 陈金花）"
    ]


# --------------------------------------------------------------------------------------------------
# What an accepted row changes
# --------------------------------------------------------------------------------------------------


def test_a_household_moved_to_another_group_keeps_the_move_in_its_history():
    plan = ImportPlan(filename="x")
    assert plan_details(plan, _row(5, group="二组", population="5"), _household(7)) is True
    assert plan.household_updates == [
        {"id": 7, "row": 5, "population": 5, "village": "新桥村", "group": "二组"}
    ]
    assert [(h["field"], h["old_value"], h["new_value"]) for h in plan.history] == [
        ("population", "4", "5"),
        ("group", "新桥村一组", "新桥村二组"),
    ]
    assert plan_details(ImportPlan(filename="x"), _row(5), _household(7)) is False


def test_an_empty_card_cell_keeps_the_card_and_another_number_renumbers_it():
    plan = ImportPlan(filename="x")
    assert plan_card(plan, _row(5), 7, (70, "0010")) is False
    assert plan_card(plan, _row(5, card="0011"), 7, (70, "0010")) is True
    assert plan_card(plan, _row(5), 8, None) is True  # no card yet: one is drawn when the plan is applied
    assert [(u["card_id"], u["old"], u["number"]) for u in plan.card_updates] == [
        (70, "0010", "0011"),
        (None, None, None),
    ]


def test_a_household_is_linked_moved_or_left_with_its_cadre():
    cadre = {"id": 3, "name": "李明"}
    stored = _stored(links={7: (30, 3)}, cadre_by_id={3: ("13987654321", cadre)})
    plan = ImportPlan(filename="x")
    assert plan_link(plan, _row(5), 7, stored) is False
    assert plan_link(plan, _row(5, cadre_name="赵丽", cadre_phone="08716543210"), 7, stored) is True
    assert plan_link(plan, _row(5), 8, stored) is True
    assert [(u["household_id"], u["link_id"], u["old_cadre_id"]) for u in plan.link_updates] == [
        (7, 30, 3),
        (8, None, None),
    ]


def test_the_cadre_a_household_moves_away_from_is_warned_below_the_minimum():
    plan = ImportPlan(filename="x")
    plan.link_updates = [{"household_id": 7, "link_id": 30, "old_cadre_id": 3, "cadre_phone": "08716543210"}]
    stored = _stored(
        cadres={"13987654321": {"id": 3, "name": "李明"}},
        cadre_by_id={3: ("13987654321", {"id": 3, "name": "李明"})},
    )
    first = {"08716543210": _row(5, cadre_name="赵丽", cadre_phone="08716543210")}
    minimum_warnings(plan, first, stored, {7: "08716543210", 9: "13987654321"}, minimum=2)
    assert [str(w) for w in plan.warnings] == [
        "干部 赵丽（08716543210）联系 1 户，少于 2 户的最低要求",
        "干部 李明（13987654321）联系 1 户，少于 2 户的最低要求",
    ]


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def test_a_renumbered_card_keeps_its_row_and_the_old_number_goes_to_history(session):
    import_links(session, GOOD.read_bytes())
    gao = session.scalar(select(Household).where(Household.head_name == "高金花"))
    card_id, old = gao.card.id, gao.card.number
    rows = good_rows()
    assert rows[0][2] == "高金花"
    rows[0][5] = "00109999"
    plan = import_links(session, to_csv(rows))
    assert plan.ok and plan.counts["households_updated"] == 1 and plan.counts["cards_assigned"] == 0
    session.expire_all()
    assert session.get(ServiceCard, card_id).number == "00109999"
    assert session.scalar(select(ServiceCard.household_id).where(ServiceCard.number == old)) is None
    history = session.scalars(
        select(HouseholdInfoHistory).where(HouseholdInfoHistory.field == "card_number")
    ).all()
    assert [(h.household_id, h.old_value, h.new_value, h.changed_by) for h in history] == [
        (gao.id, old, "00109999", "import")
    ]
