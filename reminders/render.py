"""Jinja2 rendering of push wording (reminders/templates/*.txt.j2), so the office can reword pushes."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from handlers.render import mask_phone


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reminders", "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["mask_phone"] = mask_phone
    env.filters["md"] = lambda d: f"{d.month}月{d.day}日"
    return env


def render(name: str, **values: Any) -> str:
    if not name.endswith(".j2"):
        name += ".txt.j2"
    return environment().get_template(name).render(**values).strip()


def local_text(moment: datetime, tz: Any) -> str:
    """'11月30日 18:00' in the configured zone: how a deadline reads in a push."""
    m = moment.astimezone(tz)
    return f"{m.month}月{m.day}日 {m:%H:%M}"
