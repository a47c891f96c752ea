"""The link-list import's steps one at a time, without a file: a row's own checks (storage/importer/validate.py).
The whole import, file to database, is tests/test_import.py."""

from __future__ import annotations

import pytest

from storage.importer import COLUMNS, Problem, SourceRow
from storage.importer.validate import (
    check_row,
    example_row_error,
    parse_population,
    phone_errors,
    row_phones,
)


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
    }
    assert problems == []
