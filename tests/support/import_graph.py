"""The import graph of our packages, read from the source with ``ast`` (nothing is imported or run).

Why from the source: an import hidden in a function, behind ``importlib`` or in a package that fails to
import would escape a check that imports the code; reading every file finds them all, with file and line.

Rules (docs/architecture.md): packages are layered, lowest first — storage, handlers, reminders, console, bot —
and a module may import only its own package or packages below it; module-level imports form no cycle; no
``importlib.import_module`` / ``__import__`` of our own modules; a function-level import of our own modules
carries a comment (same line or the line above) saying why.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

LAYERS = ("storage", "handlers", "reminders", "console", "bot")  # lowest first
SKIP = (
    "storage/migrations/versions",
)  # Alembic revisions: generated, and they import only alembic/sqlalchemy


@dataclass(frozen=True)
class Edge:
    """One import of one of our modules: ``importer`` imports ``target`` at ``path:line``."""

    importer: str
    target: str
    path: str
    line: int
    function_level: bool  # inside a def: runs when called, not when the module loads
    type_checking: bool  # under ``if TYPE_CHECKING:``: never runs
    why: bool  # a comment on the line or the line above


@dataclass(frozen=True)
class Dynamic:
    """``importlib.import_module(...)`` / ``__import__(...)`` naming one of our modules (or a name we cannot read)."""

    importer: str
    what: str
    path: str
    line: int


@dataclass
class Graph:
    root: Path
    modules: dict[str, Path]
    edges: list[Edge]
    dynamic: list[Dynamic]

    def where(self, e: Edge | Dynamic) -> str:
        return f"{e.path}:{e.line}"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _comment_lines(source: str) -> set[int]:
    """Lines holding a comment that says something (a bare ``# noqa``/``# type: ignore`` says no why)."""
    out = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                words = tok.string.lstrip("#").strip()
                if words and not words.startswith(("noqa", "type: ignore", "pragma")):
                    out.add(tok.start[0])
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Visitor(ast.NodeVisitor):
    def __init__(
        self, graph: Graph, name: str, path: Path, is_package: bool, comments: set[int], lines: list[str]
    ) -> None:
        self.g, self.name, self.is_package = graph, name, is_package
        self.rel = path.relative_to(graph.root).as_posix()
        self.comments, self.lines = comments, lines
        self.depth = 0  # functions we are inside
        self.tc = 0  # `if TYPE_CHECKING:` blocks we are inside

    # -- scope
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.tc += 1
            for child in node.body:
                self.visit(child)
            self.tc -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    # -- imports
    def _ours(self, module: str) -> bool:
        return module.split(".")[0] in LAYERS

    def _why(self, node: ast.stmt) -> bool:
        end = node.end_lineno or node.lineno
        if any(n in self.comments for n in range(node.lineno, end + 1)):
            return True
        above = node.lineno - 1
        return above >= 1 and above in self.comments and self.lines[above - 1].strip().startswith("#")

    def _add(self, node: ast.stmt, target: str) -> None:
        if any(
            e.importer == self.name and e.target == target and e.line == node.lineno
            for e in self.g.edges[-8:]
        ):
            return  # `from x import a, b` is one import of x
        self.g.edges.append(
            Edge(self.name, target, self.rel, node.lineno, self.depth > 0, self.tc > 0, self._why(node))
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self._ours(alias.name):
                self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            package = self.name.split(".") if self.is_package else self.name.split(".")[:-1]
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        if not module or not self._ours(module):
            return
        for alias in node.names:
            sub = f"{module}.{alias.name}"
            self._add(node, sub if sub in self.g.modules else module)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if self._ours(arg.value.lstrip(".")) or arg.value.startswith("."):
                    self.g.dynamic.append(Dynamic(self.name, repr(arg.value), self.rel, node.lineno))
            else:  # a computed name: we cannot tell it is not ours, so it is refused too
                self.g.dynamic.append(
                    Dynamic(self.name, f"a computed name ({ast.unparse(arg)})", self.rel, node.lineno)
                )
        self.generic_visit(node)


def build(root: Path, layers: Iterable[str] = LAYERS, skip: Iterable[str] = SKIP) -> Graph:
    root = root.resolve()
    files: list[Path] = []
    for pkg in layers:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if not any(rel == s or rel.startswith(s.rstrip("/") + "/") for s in skip):
                files.append(path)
    g = Graph(root, {_module_name(root, p): p for p in files}, [], [])
    for path in files:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        _Visitor(
            g,
            _module_name(root, path),
            path,
            path.name == "__init__.py",
            _comment_lines(source),
            source.splitlines(),
        ).visit(tree)
    return g


def _rank(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def upward(g: Graph) -> list[str]:
    """(a) Imports of a package ranked above the importer's."""
    return [
        f"{g.where(e)}: {e.importer} ({e.importer.split('.')[0]}) imports {e.target} "
        f"({e.target.split('.')[0]}), a layer above it (order, lowest first: {', '.join(LAYERS)})"
        for e in g.edges
        if _rank(e.target) > _rank(e.importer)
    ]


def cycles(g: Graph) -> list[str]:
    """(b) Cycles among module-level imports, each reported once as a path with the file and line of each step."""
    adj: dict[str, dict[str, Edge]] = {}
    for e in g.edges:
        if not e.function_level and not e.type_checking and e.target in g.modules:
            adj.setdefault(e.importer, {}).setdefault(e.target, e)
    # Tarjan's strongly connected components (iterative; the graph is small but recursion limits are not ours).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = 0
    for start in sorted(g.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(adj.get(start, {}))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(adj.get(w, {})))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1 or v in adj.get(v, {}):
                        comps.append(sorted(comp))
    out = []
    for comp in comps:
        members = set(comp)
        path = _cycle_through(comp[0], adj, members)
        steps = " -> ".join(f"{a} ({g.where(adj[a][b])})" for a, b in zip(path, path[1:], strict=False))
        others = (
            ""
            if len(comp) == len(path) - 1
            else f" (the tangle also holds: {', '.join(sorted(members - set(path)))})"
        )
        out.append(f"import cycle among {len(comp)} modules: {steps} -> {path[-1]}{others}")
    return out


def _cycle_through(start: str, adj: dict[str, dict[str, Edge]], members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one strongly connected component (breadth first)."""
    prev: dict[str, str] = {}
    queue = [start]
    seen = {start}
    while queue:
        v = queue.pop(0)
        for w in sorted(adj.get(v, {})):
            if w not in members:
                continue
            if w == start:
                chain = [v]
                while chain[-1] != start:
                    chain.append(prev[chain[-1]])
                return [*reversed(chain), start]
            if w not in seen:
                seen.add(w)
                prev[w] = v
                queue.append(w)
    return [start, start]


def dynamic(g: Graph) -> list[str]:
    """(c) importlib / __import__ loading of our own modules."""
    return [
        f"{g.where(d)}: {d.importer} loads {d.what} dynamically; import our modules with a plain import"
        for d in g.dynamic
    ]


def unexplained(g: Graph) -> list[str]:
    """(d) Function-level imports of our modules without a comment saying why."""
    return [
        f"{g.where(e)}: {e.importer} imports {e.target} inside a function without a comment saying why "
        f"(import at module level, or write the reason on that line or the line above)"
        for e in g.edges
        if e.function_level and not e.why
    ]
