"""A push's named values as WeChat displays them in a template message (the 2023 rules).

Since 2023-05-04 WeChat shows a template message's keyword fields only — neither ``first`` nor ``remark`` —
each on one line and within its key type's limit; typed keys of the category library (``thing1``,
``time2``, ``character_string3``) are refused with 47003 when a value breaks the type's rule.
Sources: docs/wechat-rules.md §4c-4d, i.e. the official 《关于规范公众号模板消息的公告》
(https://developers.weixin.qq.com/community/develop/doc/000a2ae286cdc0f41a8face4c51801) and the value table of
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html#类目模板消息 .

Each kind of push carries named values (storage.config.TEMPLATE_VALUE_NAMES) made where the push is created;
``template_data`` only maps names to the configured keys and cuts each value to its key's type.
"""

from __future__ import annotations

import re
from typing import Any

from storage.config import template_key_type

# Longest value per key type, in characters (code points; one 汉字 = one character).
LIMITS: dict[str, int] = {
    "thing": 20,
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
}
ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")
_ISO_MINUTE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})")


def one_line(value: Any) -> str:
    """Line breaks and runs of blanks become one space (WeChat shows no line breaks)."""
    return _SPACE.sub(" ", str(value if value is not None else "")).strip()


def fit(key_type: str, value: Any) -> str:
    """The value as a key of this type may carry it: one line, the type's characters, within its limit."""
    text = one_line(value)
    if key_type == "character_string":  # digits, letters, symbols: no 汉字 (官方 answer, §4d)
        text = "".join(ch for ch in text if ch.isascii()).strip()
    elif key_type == "number":
        text = "".join(ch for ch in text if ch.isdigit() or ch == ".")
    elif key_type == "letter":
        text = "".join(ch for ch in text if ch.isascii() and ch.isalpha())
    elif key_type == "phone_number":
        text = "".join(ch for ch in text if ch.isascii() and (ch.isdigit() or ch in "+-() "))
    elif key_type == "time":
        m = _ISO_MINUTE.match(text)
        if m:
            y, mo, d, hh, mm = m.groups()
            text = f"{int(y)}年{int(mo)}月{int(d)}日 {hh}:{mm}"
    limit = LIMITS.get(key_type, 20)
    if key_type == "name" and text.isascii():
        limit = 20  # 10 汉字 or 20 letters/symbols
    if len(text) <= limit:
        return text
    if key_type in ("thing", "name"):
        return text[: limit - 1] + ELLIPSIS
    return text[:limit]


def template_data(fields: dict[str, str], values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``{"thing1": "title"}`` and ``{"title": "…"}`` → ``{"thing1": {"value": "…"}}``, each value fitted."""
    data: dict[str, dict[str, str]] = {}
    for key, name in fields.items():
        key_type = template_key_type(key) or "thing"
        data[key] = {"value": fit(key_type, values.get(name, ""))}
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
