"""Jinja2 rendering of push wording (reminders/templates/*.txt.j2), so the office can reword pushes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment

from handlers.render import render_from, text_environment


@lru_cache(maxsize=1)
def environment() -> Environment:
    return text_environment("reminders")


def render(name: str, **values: Any) -> str:
    return render_from(environment(), name, **values)
