"""Guessing which of the 五个员 roles a diary entry belongs to, and the category of a villager's request.

Keyword rules, not a model: the office can read them, and a cadre corrects a wrong guess with `改 调解`.
"""

from __future__ import annotations

# 五个员: short name -> full title
ROLES: dict[str, str] = {
    "调查": "民意调查员",
    "宣传": "政策宣传员",
    "调解": "纠纷调解员",
    "服务": "群众服务员",
    "指导": "工作指导员",
}

_ROLE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("调解", ("调解", "纠纷", "矛盾", "吵架", "争执", "宅基地", "边界", "土地纠纷", "化解", "和解", "信访")),
    (
        "宣传",
        ("宣传", "政策", "讲解", "解读", "手册", "告知", "普及", "医保", "社保", "补贴政策", "禁毒", "防诈"),
    ),
    (
        "服务",
        (
            "帮助",
            "帮忙",
            "代办",
            "办理",
            "困难",
            "慰问",
            "送",
            "修",
            "救助",
            "低保",
            "就医",
            "增收",
            "销售",
            "产业",
        ),
    ),
    (
        "指导",
        ("指导", "培训", "技术", "烤烟", "种植", "养殖", "育苗", "施肥", "防治", "安全生产", "绿化", "整治"),
    ),
    ("调查", ("走访", "了解", "调查", "摸排", "入户", "意见", "建议", "反映", "民意", "座谈", "收集")),
]

# Request categories (诉求) and the role each maps to.
CATEGORY_ROLE: dict[str, str] = {
    "求助": "服务",
    "纠纷": "调解",
    "建议": "调查",
    "咨询": "宣传",
    "其他": "服务",
}

_CATEGORY_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (
        "纠纷",
        ("纠纷", "吵架", "矛盾", "打架", "占了", "霸占", "边界", "宅基地", "不讲理", "欠钱", "赔偿", "噪音"),
    ),
    (
        "求助",
        (
            "帮",
            "救",
            "困难",
            "没钱",
            "生病",
            "住院",
            "坏了",
            "漏水",
            "停电",
            "没水",
            "急",
            "求助",
            "老人",
            "孤寡",
        ),
    ),
    ("建议", ("建议", "希望", "能不能", "最好", "应该", "提个意见", "意见")),
    (
        "咨询",
        (
            "怎么",
            "如何",
            "什么",
            "哪里",
            "多少",
            "能否",
            "可以吗",
            "吗",
            "？",
            "?",
            "政策",
            "咨询",
            "请问",
            "办证",
            "补贴",
        ),
    ),
]


def guess_role(text: str) -> str:
    """The 五个员 role (调查 宣传 调解 服务 指导) a diary text most likely belongs to; 调查 when unsure."""
    # Ordered by precedence: a dispute mentioned anywhere outranks a visit.
    for name, words in _ROLE_WORDS:
        if any(w in text for w in words):
            return name
    return "调查"


def guess_category(text: str) -> str:
    """The category of a villager's request: 求助 纠纷 建议 咨询 其他."""
    for name, words in _CATEGORY_WORDS:
        if any(w in text for w in words):
            return name
    return "其他"


def normalize_role(word: str) -> str | None:
    """'调解' or '纠纷调解员' or '调解员' -> '调解'; None if it is not a role."""
    w = word.strip()
    for short, full in ROLES.items():
        if w in (short, full, short + "员"):
            return short
    return None
