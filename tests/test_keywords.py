"""Command parsing (widths, Traditional forms, synonyms, spacing) and reply paging, without HTTP."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.keywords import leading_number, looks_like_card_number, parse
from handlers.paging import split_pages


@pytest.mark.parametrize(
    "text,name,rest",
    [
        ("帮助", "帮助", ""),
        ("幫助", "帮助", ""),
        ("HELP", "帮助", ""),
        ("？", "帮助", ""),
        ("?", "帮助", ""),
        ("撤銷", "撤销", ""),
        ("撤回", "撤销", ""),
        ("更多", "更多", ""),
        ("本月。", "本月", ""),
        ("綁定　１２３４５６７８", "绑定", "１２３４５６７８"),
        ("绑定12345678", "绑定", "12345678"),
        ("日記 今天走访，很好。", "日记", "今天走访，很好。"),
        ("  小結：本月完成 ", "小结", "本月完成"),
        ("回覆12 已经处理", "回复", "12 已经处理"),
        ("答复 3 好", "回复", "3 好"),
        ("政策 医保", "政策", "医保"),
        ("不满意", "不满意", ""),
        ("不滿意", "不满意", ""),
        ("满意", "满意", ""),
        ("任務", "任务", ""),
        ("反饋 3 已办", "反馈", "3 已办"),
    ],
)
def test_commands(text: str, name: str, rest: str) -> None:
    parsed = parse(text)
    assert parsed is not None and (parsed.name, parsed.rest) == (name, rest)


@pytest.mark.parametrize(
    "text",
    [
        "日记今天走访",
        "政策宣传到户了",
        "更多的人来了",
        "本月走访了十户",
        "帮助张大爷修水管",
        "撤销了低保申请的事",
        "",
        "   ",
        "改天再去",
    ],
)
def test_plain_text_is_not_a_command(text: str) -> None:
    assert parse(text) is None


def test_numbers_and_cards() -> None:
    assert leading_number("１２ 已办好") == (12, "已办好")
    assert leading_number("#7：好") == (7, "好")
    assert leading_number("好的") == (None, "好的")
    assert leading_number("99999999999999999999 好")[0] is None  # beyond any INTEGER column: not a number
    assert looks_like_card_number("２０２６ １１２４") == "20261124"
    assert looks_like_card_number("2026-1124") == "20261124"
    assert looks_like_card_number("xq-0042-17") == "XQ004217"
    assert looks_like_card_number("123") is None and looks_like_card_number("你好1234") is None


@given(st.text(max_size=200))
def test_parse_never_raises(text: str) -> None:
    parse(text)


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300), max_size=40))
def test_pages_fit_and_keep_everything(lines: list[str]) -> None:
    text = "\n".join(lines)
    pages = split_pages(text, budget=300)
    assert all(len(p.encode()) <= 300 for p in pages)
    assert "".join(pages).replace("\n", "") == text.replace("\n", "")
