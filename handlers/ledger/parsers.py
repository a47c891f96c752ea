"""Reading the answers of the guided 登记: household members, an income, free text; and how the values are
kept in the form's JSON state and in the household's change history."""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.ledger.shared import fold_word
from storage.naming import DIGITS  # the one table of Chinese numerals

NONE_WORDS = frozenset({"无", "没有", "暂无", "没", "无困难", "无产业"})

RELATIONS: tuple[str, ...] = (
    "户主",
    "本人",
    "妻子",
    "丈夫",
    "配偶",
    "老伴",
    "儿子",
    "长子",
    "次子",
    "女儿",
    "长女",
    "次女",
    "儿媳",
    "女婿",
    "孙子",
    "孙女",
    "外孙",
    "外孙女",
    "父亲",
    "母亲",
    "爷爷",
    "奶奶",
    "祖父",
    "祖母",
    "公公",
    "婆婆",
    "岳父",
    "岳母",
    "哥哥",
    "弟弟",
    "姐姐",
    "妹妹",
    "兄弟",
    "姐妹",
    "侄子",
    "侄女",
    "之子",
    "之女",
    "之妻",
    "之夫",
    "其他",
)
_RELATIONS_BY_LEN = sorted(RELATIONS, key=len, reverse=True)


class Invalid(ValueError):
    """An answer that cannot be read; the message says why (shown before the example)."""


def parse_members(text: str) -> list[dict[str, Any]]:
    """'张三 户主 56; 李四 妻子 54' → [{"name": "张三", "relation": "户主", "age": 56}, …].

    Liberal: ；;，,、 or new lines between people, spaces or nothing inside ('张三户主56岁'), relation and age
    optional, '56岁' or '56'. A person needs a name; an age must be 0–120.
    """
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s:
        raise Invalid("没有读到成员")
    members: list[dict[str, Any]] = []
    for chunk in re.split(r"[;,、\n]+", s):
        current: dict[str, Any] | None = None
        for tok in re.findall(r"\d+(?:\.\d+)?|[^\s\d]+", chunk):
            tok = tok.strip(" :()（）")
            if not tok or tok in ("岁", "周岁"):
                continue
            if tok[0].isdigit():
                if current is None:
                    raise Invalid(f"“{tok}” 前面缺少姓名")
                if current.get("age") is not None:
                    raise Invalid(f"{current['name']} 有两个年龄")
                if not re.fullmatch(r"\d{1,3}", tok) or int(tok) > 120:
                    raise Invalid(f"年龄“{tok}”不对")
                current["age"] = int(tok)
                continue
            tok = re.sub(r"^(周)?岁", "", tok)
            if not tok:
                continue
            name, relation = _split_relation(tok)
            if name:
                if current is not None and current.get("name"):
                    members.append(current)
                current = {"name": name, "relation": relation, "age": None}
            elif relation:
                if current is None:
                    raise Invalid(f"“{relation}”前面缺少姓名")
                if current.get("relation"):
                    raise Invalid(f"{current['name']} 有两个称谓")
                current["relation"] = relation
        if current is not None:
            members.append(current)
    if not members:
        raise Invalid("没有读到成员")
    for m in members:
        if len(m["name"]) > 20:
            raise Invalid(f"“{m['name'][:10]}…”不像姓名")
    return members


def _split_relation(tok: str) -> tuple[str, str | None]:
    if tok in RELATIONS:
        return "", tok
    for rel in _RELATIONS_BY_LEN:
        if tok.endswith(rel) and len(tok) > len(rel):
            return tok[: -len(rel)], rel
    return tok, None


def parse_income(text: str) -> Decimal:
    """'3万' / '3.5万元' / '30000' / '３０，０００元' / '8千' → yuan; 0 to 100 million."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    s = re.sub(r"^(年收入|收入|全年|一年|大约|大概|约)", "", s)
    s = re.sub(r"(元|块钱|块|左右|上下|/年|每年|一年)+$", "", s.replace(",", "").replace(" ", ""))
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万|千)?", s) or re.fullmatch(r"([零〇一二两三四五六七八九])(万|千)", s)
    if not m:
        raise Invalid("没有读到金额")
    raw = m.group(1)
    try:
        value = Decimal(DIGITS[raw]) if raw in DIGITS else Decimal(raw)
    except InvalidOperation:
        raise Invalid("没有读到金额") from None
    value *= {"万": 10000, "千": 1000, None: 1}[m.group(2)]
    if value < 0 or value > Decimal("100000000"):
        raise Invalid("金额超出范围")
    return value.quantize(Decimal("0.01"))


def parse_text(text: str) -> str:
    s = (text or "").strip()
    if not s:
        raise Invalid("内容为空")
    if len(s) > 500:
        raise Invalid("内容太长（最多 500 字）")
    if fold_word(s) in NONE_WORDS:
        return "无"
    return s


PARSERS = {
    "members": parse_members,
    "annual_income": parse_income,
    "industries": parse_text,
    "difficulties": parse_text,
}


def to_json(name: str, value: Any) -> Any:
    if name == "annual_income" and value is not None:
        return str(value)
    return value


def from_json(name: str, value: Any) -> Any:
    if name == "annual_income" and value is not None:
        return Decimal(value)
    return value


def history_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if name == "members":
        return json.dumps(value, ensure_ascii=False)
    return str(value)
