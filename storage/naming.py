"""Names that carry a number, sorted by the number they mean: 村民小组 are 一组, 二组 … 十一组, 第3组, 3组, never
一组, 三组, 二组 (the order of the characters). One key, ``by_number``, used wherever groups are listed (the
ledger and its downloads, the printed cards and public listing, a cadre's households in chat)."""

from __future__ import annotations

import re

DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
UNITS = {"十": 10, "百": 100, "千": 1000}
# a run of Arabic digits (ASCII or full-width) or of Chinese numerals, the first in the name
NUMBER = re.compile(r"[0-9０-９]+|[〇零一二两三四五六七八九十百千]+")
NO_NUMBER = 10**9  # a name without a number sorts after the numbered ones of the same prefix


def chinese_number(text: str) -> int:
    """The value of a run of Chinese numerals: 十一 → 11, 二十三 → 23, 一百零五 → 105, and digit by digit
    (一〇三 → 103) when there is no unit."""
    if not any(ch in UNITS for ch in text):
        return int("".join(str(DIGITS[ch]) for ch in text))
    total, digit = 0, 0
    for ch in text:
        if ch in UNITS:
            total += (digit or 1) * UNITS[ch]
            digit = 0
        else:
            digit = DIGITS[ch]
    return total + digit


def number_in(name: str) -> int | None:
    """The number a name means (its first number), None when it has none."""
    m = NUMBER.search(name)
    if m is None:
        return None
    run = m.group()
    if run[0] in DIGITS or run[0] in UNITS:
        return chinese_number(run)
    return int(run.translate(str.maketrans("０１２３４５６７８９", "0123456789")))


def by_number(name: str | None) -> tuple[str, int, str, str]:
    """The sort key of a name by the number it means: (the text before the number without 第, the number, the
    text after it, the name). 一组 < 二组 < 三组 < 十组 < 十一组; 第2组 sits with 二组 and 2组."""
    name = (name or "").strip()
    m = NUMBER.search(name)
    if m is None:
        return name, NO_NUMBER, "", name
    before = name[: m.start()].removesuffix("第")
    return before, number_in(name) or 0, name[m.end() :], name
