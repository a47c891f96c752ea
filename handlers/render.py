"""Jinja2 rendering of user-facing wording (handlers/templates/*.j2), so the office can reword replies."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("handlers", "templates"),
        autoescape=False,  # chat text, not HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["mask_phone"] = mask_phone
    env.filters["md"] = lambda d: f"{d.month}月{d.day}日"
    return env


def render(name: str, **values: Any) -> str:
    if not name.endswith(".j2"):
        name += ".txt.j2"
    return environment().get_template(name).render(**values).strip()


def mask_phone(phone: str | None) -> str:
    """138****5678: phones are masked in lists and logs."""
    if not phone:
        return ""
    p = str(phone)
    return p[:3] + "****" + p[-4:] if len(p) >= 8 else "****"
