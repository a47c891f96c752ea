"""Jinja2 rendering of push wording (reminders/templates/*.txt.j2), so the office can reword pushes."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Environment

from handlers.render import render_from, text_environment


@lru_cache(maxsize=1)
def environment() -> Environment:
    return text_environment("reminders")


def render(name: str, **values: Any) -> str:
    return render_from(environment(), name, **values)


def local_text(moment: datetime, tz: Any) -> str:
    """'11月30日 18:00' in the configured zone: how a deadline reads in a push."""
    m = moment.astimezone(tz)
    return f"{m.month}月{m.day}日 {m:%H:%M}"
