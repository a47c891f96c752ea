"""Values of the information form as text (history rows, confirmations)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def format_members(members: list[Any] | None) -> str:
    if not members:
        return ""
    parts = []
    for m in members:
        bits = [str(m.get("name") or "")]
        if m.get("relation"):
            bits.append(str(m["relation"]))
        if m.get("age") is not None:
            bits.append(f"{m['age']}岁")
        parts.append(" ".join(b for b in bits if b))
    return "；".join(parts)


def format_income(value: Decimal | float | int | None) -> str:
    if value is None:
        return ""
    d = Decimal(str(value))
    text = f"{d:,.2f}".rstrip("0").rstrip(".")
    return f"{text} 元"


def format_field(name: str, value: Any) -> str:
    if name == "members":
        return format_members(value)
    if name == "annual_income":
        return format_income(value)
    return "" if value is None else str(value)
