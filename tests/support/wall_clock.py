"""Where our product code reads the wall clock, read from the source with ``ast`` (nothing is imported or run).

The rule (docs/architecture.md "The clock"): time comes from the one injected clock — ``ctx.now()``, ``lx.now()``,
a ``now=`` from the caller, or the clock the session carries (``storage.timestamps.now_of``, the ``stamp`` column
default). Reading the wall clock directly is allowed only in the clock's own module (``storage/timestamps.py``)
or where a comment says why real time is meant and contains the words "real time" (a token's expiry at WeChat, a
lease between processes, how long to wait for another process) — on the statement's lines or the line above it.

What counts as reading it: calling or passing ``datetime.now`` / ``utcnow`` / ``today``, ``date.today``,
``time.time`` / ``time_ns`` / ``monotonic`` / ``perf_counter`` (and their ``_ns`` forms), ``time.localtime`` /
``gmtime`` / ``ctime`` without an argument, and the wall clock of our own (``storage.timestamps.utcnow``) —
however they were imported (``import datetime as dt``, ``from time import monotonic``, …).
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("storage", "handlers", "reminders", "console", "bot")
CLOCK_MODULE = "storage/timestamps.py"
MARK = "real time"

WALL = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.monotonic_ns",
    "time.perf_counter",
    "time.perf_counter_ns",
    "storage.timestamps.utcnow",
}
WALL_WITHOUT_ARGUMENT = {"time.localtime", "time.gmtime", "time.ctime", "time.asctime"}


@dataclass(frozen=True)
class Read:
    """One direct read of the wall clock: ``what`` at ``path:line``."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: reads the wall clock ({self.what}); take the time from the caller (now=), "
            f"the context (ctx.now()), the runtime (lx.now()) or the session (storage.timestamps.now_of), or say "
            f"in a comment on the line why real time is meant ('# real time: …')"
        )


def _comment_lines(source: str) -> set[int]:
    """Lines carrying a comment that contains the mark."""
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and MARK in tok.string.lower():
            lines.add(tok.start[0])
    return lines


def _statement_spans(tree: ast.Module) -> dict[int, tuple[int, int]]:
    """Expression node → the lines of the statement it belongs to (a compound statement's header only), where
    its comment may stand: ruff format may put a call and its comment on different lines of one statement."""
    spans: dict[int, tuple[int, int]] = {}
    for stmt in ast.walk(tree):
        if not isinstance(stmt, ast.stmt):
            continue
        own: list[ast.AST] = []  # the statement's nodes, not those of statements nested in it
        inner: list[int] = []
        todo = list(ast.iter_child_nodes(stmt))
        while todo:
            n = todo.pop()
            if isinstance(n, ast.stmt):
                inner.append(n.lineno)
                continue
            own.append(n)
            todo.extend(ast.iter_child_nodes(n))
        last = min(inner) - 1 if inner else (stmt.end_lineno or stmt.lineno)
        for n in own:
            spans[id(n)] = (stmt.lineno, max(stmt.lineno, last))
    return spans


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → the dotted name it stands for, from every import in the module (at any level)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _dotted(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, names)
        return f"{base}.{node.attr}" if base else None
    return None


def reads_in(source: str, path: str) -> list[Read]:
    """Every direct read of the wall clock in one module's source that carries no 'real time' comment."""
    tree = ast.parse(source)
    names = _aliases(tree)
    marked = _comment_lines(source)
    found: dict[tuple[int, int], Read] = {}
    calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    spans = _statement_spans(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        what = _dotted(node, names)
        if what is None:
            continue
        call = calls.get(id(node))
        if what in WALL_WITHOUT_ARGUMENT:
            if call is None or call.args:
                continue
        elif what not in WALL:
            continue
        first, last = spans.get(id(node), (node.lineno, node.end_lineno or node.lineno))
        if any(line in marked for line in range(first - 1, last + 1)):
            continue
        found[(node.lineno, node.col_offset)] = Read(path, node.lineno, what)
    return sorted(found.values(), key=lambda r: r.line)


def reads(root: Path) -> list[Read]:
    """Every unexplained read of the wall clock in our packages, outside the clock's own module."""
    out: list[Read] = []
    for pkg in PACKAGES:
        for file in sorted((root / pkg).rglob("*.py")):
            rel = file.relative_to(root).as_posix()
            if rel == CLOCK_MODULE:
                continue
            out.extend(reads_in(file.read_text(encoding="utf-8"), rel))
    return out
