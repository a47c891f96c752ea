"""Reading chat commands the way people type them.

People type full-width digits and spaces (the Chinese input method's default), Traditional forms
(綁定, 日記), synonyms (help, ？, 撤回) and stray spaces. ``parse`` recognises a command at the start of a
message and returns its canonical name and the rest *as the person wrote it*: only the matching is
normalised, never the stored text (a diary keeps its own punctuation).

Two kinds of keywords:
- *bare* keywords (帮助, 撤销, 任务, …) are a command only when they are the whole message, so a diary that
  happens to start with "更多" or "本月" stays a diary;
- keywords that take arguments (绑定 CODE, 回复 M TEXT, …) must be followed by a space, a colon, a digit or
  the end of the message, so "政策宣传到户了" stays a diary while "政策 医保" is a query.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from storage.cards import normalize_number

# Traditional → Simplified for the characters of our keywords (and a few common words around them).
_TRAD = str.maketrans(
    {
        "綁": "绑",
        "記": "记",
        "結": "结",
        "務": "务",
        "覆": "复",
        "復": "复",
        "幫": "帮",
        "銷": "销",
        "農": "农",
        "戶": "户",
        "饋": "馈",
        "傳": "传",
        "諾": "诺",
        "發": "发",
        "登": "登",
        "滿": "满",
        "說": "说",
        "明": "明",
        "撤": "撤",
        "迴": "回",
        "們": "们",
        "無": "无",
        "單": "单",
        "續": "续",
        "選": "选",
        "項": "项",
        "條": "条",
        "週": "周",
        "產": "产",
        "費": "费",
        "補": "补",
        "貼": "贴",
        "醫": "医",
        "保": "保",
        "環": "环",
        "衛": "卫",
        "劃": "划",
        "計": "计",
        "規": "规",
        "證": "证",
        "須": "须",
        "禁": "禁",
        "賭": "赌",
        "毒": "毒",
        "綠": "绿",
        "煙": "烟",
        "菸": "烟",
        "治": "治",
        "穩": "稳",
        "維": "维",
        "綜": "综",
        "涉": "涉",
        "辦": "办",
        "書": "书",
        "轉": "转",
        "關": "关",
        "請": "请",
        "問": "问",
        "麼": "么",
        "麽": "么",
        "嗎": "吗",
        "為": "为",
        "給": "给",
        "這": "这",
        "裡": "里",
        "裏": "里",
        "夠": "够",
        "錢": "钱",
        "領": "领",
        "與": "与",
        "個": "个",
        "後": "后",
        "來": "来",
        "時": "时",
        "間": "间",
        "長": "长",
        "體": "体",
        "學": "学",
        "實": "实",
        "調": "调",
        "當": "当",
        "雙": "双",
    }
)


# canonical name -> (synonyms, bare?)
KEYWORDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "帮助": (("帮助", "help", "?", "菜单", "说明", "怎么用"), True),
    "更多": (("更多", "下一页", "more"), True),
    "撤销": (("撤销", "撤回", "取消上一条", "undo"), True),
    "任务": (("任务", "我的任务", "督办", "督办卡"), True),
    "农户": (("农户", "我的农户", "联户"), True),
    "本月": (("本月", "本月情况", "我的本月"), True),
    "排名": (("排名", "我的排名", "通报", "得分"), True),
    "满意": (("满意", "很满意", "非常满意"), True),
    "不满意": (("不满意", "不太满意", "很不满意"), True),
    "绑定": (("绑定",), False),
    "日记": (("日记", "民情日记"), False),
    "小结": (("小结", "月小结", "月度小结"), False),
    "反馈": (("反馈",), False),
    "完成": (("完成",), False),
    "延期": (("延期", "申请延期"), False),
    "回复": (("回复", "答复"), False),
    "政策": (("政策", "查政策"), False),
    "登记": (("登记",), False),
    "发卡": (("发卡",), False),
    "宣传": (("宣传",), False),
    "承诺": (("承诺",), False),
    "改": (("改",), False),
    "解绑": (("解绑", "解除绑定", "解除关联", "取消关联"), False),
    "请假": (("请假", "申请请假"), False),
    # 矛盾调解 of a request (handlers/disputes.py); not a cadre-only command: a villager's "调解：…" is a request
    "调解": (("调解", "矛盾调解", "纠纷调解"), False),
    "转办": (("转办", "转部门"), False),
}

# Commands only a bound cadre may run. A villager who types one gets help, never the effect.
CADRE_COMMANDS: frozenset[str] = frozenset(
    {
        "日记",
        "小结",
        "撤销",
        "任务",
        "反馈",
        "完成",
        "延期",
        "回复",
        "农户",
        "本月",
        "登记",
        "发卡",
        "宣传",
        "承诺",
        "改",
        "解绑",
        "请假",
        "排名",
        "转办",
    }
)

_TRAILING = "。.!！~～ \t"


# Bare keywords that also take a short argument after a space or a digit: "任务 4" (card 4), "农户 2" (page 2),
# "农户 张大山" (by name), "本月 …"/"帮助 …" (as the bare keyword). Anything longer or sentence-like (a diary
# "任务完成了…", "本月走访了 12 户，…") stays plain text.
_BARE_WITH_ARGUMENT: frozenset[str] = frozenset(
    {"任务", "我的任务", "督办卡", "农户", "我的农户", "本月", "帮助", "help"}
)
MAX_BARE_ARGUMENT = 12
_SENTENCE = re.compile(r"[，。！？；：、,.!?;…\s]")


def _bare_argument(name: str, after: str) -> bool:
    """Whether ``after`` (folded text following a bare keyword) is an argument of that keyword."""
    if not after or not (after[0] == " " or after[0].isdigit()):
        return False
    arg = after.strip()
    if not arg or len(arg) > MAX_BARE_ARGUMENT or _SENTENCE.search(arg):
        return False
    if name == "任务":  # only a card number: "任务 4", "任务4", "任务 #4", "任务 4号"
        return re.fullmatch(r"#?\d+[号]?", arg) is not None
    return True


@dataclass(frozen=True)
class Parsed:
    """A recognised command: canonical ``name`` and the ``rest`` of the message as typed (stripped)."""

    name: str
    rest: str


def fold(text: str) -> str:
    """Normalise for matching only: NFKC (full-width → half-width, ideographic space → space),
    Traditional → Simplified for common characters, lower case, runs of spaces collapsed."""
    s = unicodedata.normalize("NFKC", text).translate(_TRAD).lower()
    return re.sub(r"\s+", " ", s).strip()


def _folded_chars(text: str) -> list[str]:
    """Per original character, its folded form (so a match on the folded text maps back to the original)."""
    return [unicodedata.normalize("NFKC", ch).translate(_TRAD).lower() for ch in text]


# longest synonyms first, so "不满意" wins over "满意" and "民情日记" over "日记"
_SYNONYMS: list[tuple[str, str, bool]] = sorted(
    ((fold(syn), name, bare) for name, (syns, bare) in KEYWORDS.items() for syn in syns),
    key=lambda t: -len(t[0]),
)


@lru_cache(
    maxsize=256
)  # every command route of the dispatcher asks about the same message (Parsed is frozen)
def parse(text: str | None) -> Parsed | None:
    """Recognise a command at the start of ``text``; None for plain text."""
    if not text:
        return None
    whole = fold(text).rstrip(_TRAILING)
    for syn, name, bare in _SYNONYMS:
        if bare:
            if whole == syn:
                return Parsed(name, "")
            if (
                syn in _BARE_WITH_ARGUMENT
                and whole.startswith(syn)
                and _bare_argument(name, whole[len(syn) :])
            ):
                return Parsed(name, _original_rest(text, len(syn)))
            continue
        if whole == syn:
            return Parsed(name, "")
        if whole.startswith(syn):
            nxt = whole[len(syn)]
            if nxt in " :" or nxt.isdigit():
                return Parsed(name, _original_rest(text, len(syn)))
    return None


def _original_rest(text: str, folded_len: int) -> str:
    """The original text after the first ``folded_len`` folded (non-space) characters of the keyword."""
    chars = _folded_chars(text)
    i, taken = 0, 0
    # skip leading whitespace the fold stripped
    while i < len(text) and not chars[i].strip():
        i += 1
    while i < len(text) and taken < folded_len:
        taken += len(chars[i])
        i += 1
    rest = text[i:]
    return rest.lstrip(" \t\u3000:：,，、").strip()


MAX_NUMBER = 2**31 - 1  # card (task) and request numbers are INTEGER columns


def leading_number(text: str) -> tuple[int | None, str]:
    """'１２ 已办好' -> (12, '已办好'); full-width digits and a leading '#'/'号' accepted."""
    s = text.lstrip(" \t\u3000#＃")
    digits = []
    i = 0
    while i < len(s):
        d = unicodedata.normalize("NFKC", s[i])
        if d.isdigit() and d.isascii():
            digits.append(d)
            i += 1
        else:
            break
    if not digits:
        return None, text.strip()
    rest = s[i:].lstrip(" \t\u3000:：,，、号號").strip()
    number = int("".join(digits))
    if (
        number > MAX_NUMBER
    ):  # no card or request has such a number; SQLite cannot even bind it (OverflowError)
        return None, text.strip()
    return number, rest


def digits_only(text: str) -> str:
    """A binding code as typed: full-width digits → ASCII; spaces, dashes and dots dropped (as a card number is
    normalised, storage.cards.normalize_number)."""
    return normalize_number(text)


def looks_like_card_number(text: str | None) -> str | None:
    """The chat's recognizer of a card number: the normalised number (storage.cards.normalize_number, the one
    normalization every lookup uses) if the whole message is one (4–20 letters/digits, at least 4 digits)."""
    if not text:
        return None
    s = normalize_number(text)
    if re.fullmatch(r"[A-Z0-9]{4,20}", s) and sum(c.isdigit() for c in s) >= 4:
        return s
    return None
