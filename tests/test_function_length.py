"""No function in product code is longer than 80 lines (issue 23 item 5): a longer one is split along what it
does, each piece with a docstring saying why and testable alone.

Counted from the source with ``ast`` (``end_lineno - lineno + 1``, the ``def`` line to the last line of its
body, decorators not counted) on the ruff-formatted tree, in bot, handlers, storage, reminders and console;
Alembic revisions are left out (generated). A nested function counts within its enclosing one and on its own.
There is no allow-list: the one exclusion below is work under way elsewhere, named with who has it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "reminders", "console")
SKIP = ("storage/migrations/",)
LIMIT = 80


def long_functions(source: str, path: str, limit: int = LIMIT) -> list[str]:
    """``path:line name (N lines)`` for every function or method of ``source`` longer than ``limit`` lines."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = (node.end_lineno or node.lineno) - node.lineno + 1
            if n > limit:
                out.append((node.lineno, f"{path}:{node.lineno} {node.name} ({n} lines)"))
    return [text for _, text in sorted(out)]


def product_files() -> list[tuple[str, str]]:
    files = []
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            rel = p.relative_to(ROOT).as_posix()
            if not rel.startswith(SKIP):
                files.append((rel, p.read_text(encoding="utf-8")))
    return files


def test_no_product_function_is_longer_than_80_lines() -> None:
    problems = [p for rel, src in product_files() for p in long_functions(src, rel)]
    assert not problems, f"functions over {LIMIT} lines ({len(problems)}):\n  " + "\n  ".join(problems)


def test_the_check_reads_every_package_and_leaves_out_only_migrations() -> None:
    seen = {rel.split("/")[0] for rel, _ in product_files()}
    assert seen == set(PACKAGES)
    assert not any(rel.startswith("storage/migrations/") for rel, _ in product_files())
    assert any(rel == "storage/purge.py" for rel, _ in product_files())


def _function(name: str, body_lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}():\n{body}"


def test_the_check_finds_a_long_function_a_long_method_and_a_long_closure() -> None:
    source = (
        _function("fits", LIMIT - 1)  # 80 lines with its def line
        + _function("too_long", LIMIT)  # 81
        + "\n\nclass C:\n"
        + _function("method", LIMIT + 5, indent="    ")
        + "\n\n@decorator\ndef outer():\n"
        + _function("inner", LIMIT, indent="    ")
    )
    found = long_functions(source, "storage/bad.py")
    assert found == [
        "storage/bad.py:81 too_long (81 lines)",
        "storage/bad.py:165 method (86 lines)",
        "storage/bad.py:254 outer (82 lines)",  # the decorator's line is not counted
        "storage/bad.py:255 inner (81 lines)",
    ], found
