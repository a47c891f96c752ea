"""Jinja2 rendering of user-facing wording (handlers/templates/*.j2), so the office can reword replies.
(``mask_phone`` is storage/redact.py's, re-exported here where its callers have always found it.)"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from storage.redact import mask_phone as mask_phone


def text_environment(package: str) -> Environment:
    """A Jinja2 environment for chat text (not HTML) from ``<package>/templates``, with our filters."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=False,  # chat text, not HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["mask_phone"] = mask_phone
    env.filters["md"] = lambda d: f"{d.month}月{d.day}日"
    return env


@lru_cache(maxsize=1)
def environment() -> Environment:
    return text_environment("handlers")


#: Called as ``observer(template_name, values, text)`` after every render, replies and pushes alike. Empty in
#: production; tests/support/renders.py records through it, so a test can say which message was said and with
#: which values without repeating its words.
observers: list[Callable[[str, dict[str, Any], str], None]] = []


def render_from(env: Environment, name: str, **values: Any) -> str:
    """Render ``name`` (``.txt.j2`` implied) from ``env``, without surrounding blank space."""
    if not name.endswith(".j2"):
        name += ".txt.j2"
    text = env.get_template(name).render(**values).strip()
    for observe in observers:
        observe(name, values, text)
    return text


def render(name: str, **values: Any) -> str:
    return render_from(environment(), name, **values)
