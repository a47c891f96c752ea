"""A push's named values as WeChat displays them in a template message (the 2023 rules).

Since 2023-05-04 WeChat shows a template message's keyword fields only — neither ``first`` nor ``remark`` —
each on one line and within its key type's limit; typed keys of the category library (``thing1``,
``time2``, ``character_string3``) are refused with 47003 when a value breaks the type's rule — an empty value
included ("模板参数不准确，可能为空或者不满足规则", WxJava WxMpErrorMsgEnum CODE_47003).
Sources: docs/wechat-rules.md §4c-4d, i.e. the official 《关于规范公众号模板消息的公告》
(https://developers.weixin.qq.com/community/develop/doc/000a2ae286cdc0f41a8face4c51801) and the value table of
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html#类目模板消息
(the same table as the subscription messages' 参数值内容限制说明, mirrored at
https://blog.csdn.net/wwwwrrrrwr/article/details/128147589): thing 20 characters; number 32 digits (decimals
allowed); letter 32 letters; symbol 5 symbols; character_string 32 digits, letters or symbols; time a 24-hour
time, optionally after a date (15:01, 2019年10月1日 15:01); date a date, optionally with a time (2019年10月1日);
amount a currency sign and at most 10 digits, optionally ending in 元; phone_number 17 digits or symbols;
car_number 8; name 10 汉字 or 20 letters; phrase 5 汉字 only; enum one of the template's values.
``short_thing`` and ``const`` appear in templates but not in the table: short_thing is taken as a thing of at most
5 characters (as the community's templates use it), const as the fixed text the template expects — map a literal
(``const3 = "=已受理"``, see storage.config); both unclear (docs/wechat-rules.md "推送的边界").

Each kind of push carries named values (storage.config.TEMPLATE_VALUE_NAMES) made where the push is created;
``template_data`` only maps names (or literals) to the configured keys and fits each value to its key's type —
never empty: a value that has nothing the type may show gets a placeholder of that type.
"""

from __future__ import annotations

import re
from typing import Any

from storage.config import template_key_type, template_literal

# Longest value per key type, in characters (code points; one 汉字 = one character).
LIMITS: dict[str, int] = {
    "thing": 20,
    "short_thing": 5,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "phrase": 5,
    "name": 10,
    "car_number": 8,
    "phone_number": 17,
    "amount": 11,
    "time": 32,
    "date": 32,
    "const": 20,
    "enum": 20,
}
# What a key shows when the push has nothing its type may carry (WeChat refuses an empty value).
EMPTY: dict[str, str] = {
    "character_string": "-",
    "number": "0",
    "letter": "NA",
    "symbol": "-",
    "phone_number": "-",
    "amount": "¥0",
    "car_number": "-",
}
SEE_DETAILS = "见详情"  # thing, short_thing, phrase, name, const, enum: pure 汉字, fits them all
ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# 2026-11-30 18:00, 2026-11-30T18:00:00+08:00, 2026/11/30, 2026年11月30日 18:00, 2026年11月30日
_DATETIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*日)?(?:(?:\s+|T)(\d{1,2}):(\d{2})(?::\d{2})?)?"
)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


def one_line(value: Any) -> str:
    """Line breaks and runs of blanks become one space (WeChat shows no line breaks)."""
    return _SPACE.sub(" ", str(value if value is not None else "")).strip()


def _cut(text: str, limit: int, *, ellipsis: bool) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS if ellipsis else text[:limit]


def _when(text: str, *, with_date: bool, with_time: bool) -> str | None:
    """A date and/or time the way the value table writes them (2019年10月1日 15:01), or None."""
    m = _DATETIME.match(text)
    if m:
        y, mo, d, hh, mm = m.groups()
        day = f"{int(y)}年{int(mo)}月{int(d)}日"
        clock = f"{int(hh):02d}:{mm}" if hh is not None else None
        if with_time and clock is None:
            return None if not with_date else day
        return f"{day} {clock}" if clock and with_time else day
    m = _CLOCK.match(text)
    if m and with_time and not with_date:
        return f"{int(m.group(1)):02d}:{m.group(2)}"
    return None


def fit(key_type: str, value: Any, *, default_time: str = "") -> str:
    """The value as a key of this type may carry it: one line, the type's characters, within its limit, never
    empty. ``default_time`` (a time as push_time writes it) stands in for a time or date that cannot be read."""
    text = one_line(value)
    if key_type == "character_string":  # digits, letters, symbols: no 汉字, no blanks (官方 answer, §4d)
        text = "".join(ch for ch in text if ch.isascii() and ch.isprintable() and not ch.isspace())
    elif key_type == "number":
        text = "".join(ch for ch in text if ch.isdigit() or ch == ".")
    elif key_type == "letter":
        text = "".join(ch for ch in text if ch.isascii() and ch.isalpha())
    elif key_type == "symbol":
        text = "".join(ch for ch in text if not ch.isalnum() and not ch.isspace() and not _HAN.match(ch))
    elif key_type == "phone_number":
        text = "".join(ch for ch in text if ch.isascii() and (ch.isdigit() or ch in "+-() "))
    elif key_type == "phrase":  # 5 汉字 and nothing else
        text = "".join(_HAN.findall(text))
    elif key_type == "amount":
        text = "".join(ch for ch in text if ch.isdigit() or ch in ".¥$元")
    elif key_type == "time":
        text = (
            _when(text, with_date=True, with_time=True) or _when(text, with_date=False, with_time=True) or ""
        )
        if text and ":" not in text:  # a date alone is no time: the end of that day
            text += " 23:59"
        text = text or default_time
    elif key_type == "date":
        text = _when(text, with_date=True, with_time=False) or default_time.split(" ")[0]
    limit = LIMITS.get(key_type, 20)
    if key_type == "name" and text.isascii():
        limit = 20  # 10 汉字 or 20 letters/symbols
    # "…" is no letter: an ASCII name is cut without it (it would count as Chinese, 10 at most)
    ellipsis = key_type in ("thing", "short_thing") or (key_type == "name" and not text.isascii())
    text = _cut(text, limit, ellipsis=ellipsis)
    return text.strip() or EMPTY.get(key_type, SEE_DETAILS)


def template_data(
    fields: dict[str, str], values: dict[str, Any], *, default_time: str = ""
) -> dict[str, dict[str, str]]:
    """``{"thing1": "title"}`` and ``{"title": "…"}`` → ``{"thing1": {"value": "…"}}``, each value fitted; a
    literal (``"=已受理"``) is sent as written, fitted too."""
    data: dict[str, dict[str, str]] = {}
    for key, name in fields.items():
        key_type = template_key_type(key) or "thing"
        literal = template_literal(name)
        raw = literal if literal is not None else values.get(name, "")
        data[key] = {"value": fit(key_type, raw, default_time=default_time)}
    return data


def values_of(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The push's named values; a push queued before values existed falls back on its text's first line."""
    values = dict(payload.get("template") or {})
    text = payload.get("original_text") or payload.get("text", "")
    first, _, rest = text.strip().partition("\n")
    fallback = {"title": first, "what": first, "text": rest.strip() or first}
    for name, value in fallback.items():
        values.setdefault(name, value)
    return values
