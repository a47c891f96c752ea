"""How many of the suite's assertions compare exact Chinese wording: ``python -m tests.support.wording_census``
(``-v`` lists the files; a folder argument counts another checkout's tests/). Issue #23 item 9 tracks the figure; tests/support/renders.py says when a test should
assert words and when effects.

Counted: ``assert`` statements under tests/. *Chinese*: the assertion compares (``==``, ``!=``, ``in``,
``not in``) a string literal holding CJK characters (not one it passes to a call: that is input). *Wording*: of those, the ones where some such literal is not
part of a Chinese string the file (or tests/support/) writes outside its assertions — so ``"张大爷" in page``
after ``head_name="张大爷"`` checks data that came back, while ``"已收到" in reply`` checks the product's words.
A heuristic, good for a trend, not an exact count.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
COMPARE = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
TESTS = Path(__file__).resolve().parents[1]


def _chinese(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(CJK.search(node.value))


def _literals(node: ast.AST) -> list[str]:
    """The Chinese literals an operand holds, not counting a call's arguments (what the test sends in)."""
    if _chinese(node):
        return [node.value]  # type: ignore[attr-defined]
    if isinstance(node, ast.Call):
        return _literals(node.func)
    return [s for child in ast.iter_child_nodes(node) for s in _literals(child)]


def _compared_literals(test: ast.AST) -> list[str]:
    found: list[str] = []
    for n in ast.walk(test):
        if isinstance(n, ast.Compare) and any(isinstance(op, COMPARE) for op in n.ops):
            for side in (n.left, *n.comparators):
                found += _literals(side)
    return found


def _given(tree: ast.AST) -> list[str]:
    """The Chinese strings a file writes outside its assertions: names, titles, messages it sends."""
    inside = {id(m) for n in ast.walk(tree) if isinstance(n, ast.Assert) for m in ast.walk(n)}
    return [n.value for n in ast.walk(tree) if id(n) not in inside and _chinese(n)]  # type: ignore[attr-defined]


@dataclass
class Census:
    asserts: int = 0
    chinese: int = 0
    wording: int = 0
    per_file: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def census(root: Path = TESTS) -> Census:
    support = [s for p in sorted((root / "support").glob("*.py")) for s in _given(ast.parse(p.read_text()))]
    result = Census()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        given = _given(tree) + support
        a = c = w = 0
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assert):
                continue
            a += 1
            literals = _compared_literals(node.test)
            if not literals:
                continue
            c += 1
            if not all(lit.strip() and any(lit.strip() in s for s in given) for lit in literals):
                w += 1
        result.asserts += a
        result.chinese += c
        result.wording += w
        result.per_file[str(path.relative_to(root.parent))] = (a, c, w)
    return result


def main(argv: list[str]) -> int:
    """``[-v] [TESTS_DIR]``: the figures for this checkout's tests/ or another's (main's, to compare)."""
    folders = [Path(a) for a in argv if not a.startswith("-")]
    c = census(folders[0].resolve() if folders else TESTS)
    if "-v" in argv:
        print("wording chinese asserts  file")
        for name, (a, ch, w) in sorted(c.per_file.items(), key=lambda kv: -kv[1][2]):
            if ch:
                print(f"{w:7} {ch:7} {a:7}  {name}")
    print(f"assertions: {c.asserts}")
    print(f"compare a Chinese literal: {c.chinese} ({c.chinese / c.asserts:.1%})")
    print(f"compare the product's Chinese wording: {c.wording} ({c.wording / c.asserts:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
