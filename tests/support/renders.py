"""A render recorder: which message was said, and with which values, without repeating its words.

Every chat reply and push is rendered from a named template (``handlers/templates/*.txt.j2``,
``reminders/templates/*.txt.j2``, through ``handlers.render.render_from``) and every console page from a Flask
template (``console/templates/*.html``; the console's own pushes too, ``push/office_reply.txt``). The ``renders``
fixture (tests/conftest.py) records each of them as a `Render`: the template's name (``"diary_saved"``,
``"request_push"``, ``"task.html"``), the values it was given (mapped rows as they were at that moment, see
`Snapshot`) and, for chat text, the text it made. A test then says what happened::

    reply = chat.wc.text("o-li", "日记 走访三户")
    assert renders.behind(reply).name == "diary_saved"          # the reply the cadre got …
    assert renders.behind(reply).values["n"] == 1               # … with the figures it shows
    push = renders.behind(row.payload["text"])                 # the push in an outbox row
    assert push.name == "request_push" and push.values["request"].number == 7

``behind(text)`` finds the render that made a reply or a push (also the first page of a long reply and a
template message's shortened first line); ``part(name, text)`` the render of ``name`` inside it (the page footer
of the page shown); ``page(name)`` the latest console page; ``names()``, ``named(name)``, ``last(name)`` the rest.
Renders happen in this process only: a server started as a subprocess is not heard.

When to assert wording and when effects. Assert the words only where the words are the behaviour: a reply a
villager or cadre reads and acts on (the card-linked reply naming the cadre, post and phone; help and usage
texts; what bad input is told), a printed document, an error an operator must act on. Name those tests for it
(``…_wording``) or say so in their docstring, so whoever rewords a template knows which tests pin words on
purpose. Everywhere else assert the effect: rows written or left alone, which template answered with which values
(this recorder), pushes queued (outbox rows and their keys), figures, HTTP status codes, a page's context, stable
markers (element ids, form actions, CSS classes), JSON output (``lianxin outbox --json``) and the CLI's
tab-separated rows. Then the office can reword a template (and #25 can turn machine words into Chinese) without touching tests that
were about something else. A test converted from words to effects keeps at least as many assertions, and still
fails when the behaviour breaks.

``python -m tests.support.wording_census`` counts the suite's assertions and those that compare exact Chinese
wording.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import template_rendered
from sqlalchemy import inspect as sa_inspect

from handlers import render as text_render


class Snapshot:
    """A mapped row's column values as they were when rendered; other attributes read the live object."""

    def __init__(self, obj: Any, columns: Mapping[str, Any]) -> None:
        self.__dict__["_obj"] = obj
        self.__dict__["_columns"] = dict(columns)

    def __getattr__(self, name: str) -> Any:
        columns = self.__dict__["_columns"]
        if name in columns:
            return columns[name]
        return getattr(self.__dict__["_obj"], name)

    def __eq__(self, other: object) -> bool:
        return other is self.__dict__["_obj"] or (
            isinstance(other, Snapshot) and other.__dict__["_obj"] is self.__dict__["_obj"]
        )

    def __hash__(self) -> int:
        return id(self.__dict__["_obj"])

    def __repr__(self) -> str:
        obj = self.__dict__["_obj"]
        return f"<{type(obj).__name__} as rendered: {self.__dict__['_columns']}>"


def snapshot(value: Any) -> Any:
    """Values as they were at render time: mapped rows by their loaded columns, containers element-wise."""
    state = sa_inspect(value, raiseerr=False)
    if state is not None and hasattr(state, "mapper") and hasattr(state, "dict"):
        # Only what is loaded (state.dict): recording must not load anything, or it would change what the
        # product does under test.
        loaded = state.dict
        return Snapshot(value, {a.key: loaded[a.key] for a in state.mapper.column_attrs if a.key in loaded})
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(snapshot(v) for v in value))
    if isinstance(value, list | tuple):
        return type(value)(snapshot(v) for v in value)
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Render:
    """One render: ``name`` without ``.txt.j2`` (chat text) or with ``.html`` (a console page)."""

    name: str
    values: dict[str, Any]
    text: str | None = None  # chat text only; a page's HTML is in the response
    kind: str = "text"  # "text" (reply or push) | "page" (console)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass
class RenderRecorder:
    """What was rendered while it listened, oldest first (see the module docstring)."""

    renders: list[Render] = field(default_factory=list)

    # -- listening ------------------------------------------------------------------------------------------

    def _on_text(self, name: str, values: dict[str, Any], text: str) -> None:
        self.renders.append(Render(name.removesuffix(".j2").removesuffix(".txt"), snapshot(values), text))

    def _on_page(self, sender: Any, template: Any, context: dict[str, Any], **_: Any) -> None:
        self.renders.append(Render(template.name or "", dict(context), None, "page"))

    def listen(self) -> Iterator[RenderRecorder]:
        text_render.observers.append(self._on_text)
        template_rendered.connect(self._on_page)
        try:
            yield self
        finally:
            template_rendered.disconnect(self._on_page)
            text_render.observers.remove(self._on_text)

    # -- asking ---------------------------------------------------------------------------------------------

    def clear(self) -> None:
        self.renders.clear()

    def names(self) -> list[str]:
        """Every template rendered, in order (chat text and pages)."""
        return [r.name for r in self.renders]

    def named(self, name: str) -> list[Render]:
        return [r for r in self.renders if r.name == name]

    def last(self, name: str | None = None) -> Render:
        """The latest render (of ``name``, when given); fails naming what was rendered when there is none."""
        found = [r for r in self.renders if name is None or r.name == name]
        if not found:
            raise AssertionError(f"no render of {name or 'anything'}; rendered: {self.names()}")
        return found[-1]

    def page(self, name: str | None = None) -> Render:
        """The latest console page rendered (of ``name``, when given, e.g. ``"task.html"``)."""
        found = [r for r in self.renders if r.kind == "page" and (name is None or r.name == name)]
        if not found:
            raise AssertionError(f"no page {name or ''} rendered; rendered: {self.names()}")
        return found[-1]

    def behind(self, text: str) -> Render:
        """The render that made ``text`` (a reply, a push's text): the latest whose text it is, else the latest it
        begins with (a reply with a guide appended), else the latest that begins with its first line (the first
        page of a long reply; a template message's first value, cut short with "…")."""
        said = (text or "").strip()
        texts = [r for r in reversed(self.renders) if r.kind == "text" and r.text]
        first_line = said.split("\n", 1)[0].removesuffix("…")
        for fits in (
            lambda r: r.text == said,
            lambda r: said.startswith(r.text),
            lambda r: bool(first_line) and r.text.startswith(first_line),
        ):
            for r in texts:
                if fits(r):
                    return r
        raise AssertionError(f"no render made {said[:80]!r}; rendered: {self.names()}")

    def part(self, name: str, text: str) -> Render:
        """The latest render of ``name`` whose text is part of ``text`` (the page footer of the page shown)."""
        said = (text or "").strip()
        for r in reversed(self.named(name)):
            if r.text and r.text in said:
                return r
        raise AssertionError(f"no {name} in {said[-80:]!r}; rendered: {self.names()}")

    def all_behind(self, text: str) -> list[str]:
        """The names of the renders whose text is part of ``text``, in order (replies put together from several
        templates, digests of several pushes)."""
        said = (text or "").strip()
        return [r.name for r in self.renders if r.kind == "text" and r.text and r.text in said]
