"""Pointers in prose lead somewhere: every path-like reference to one of our files (``storage/outbox.py``,
``tests/test_dedup.py``, ``docs/deploy.md``) in a docstring, a comment, docs/*.md, README.md or SECURITY.md
names a file that exists. A file moved or deleted without its pointers being fixed fails here (issue 23 item 6:
docstrings still named the assessment, the ledger and the tasks service as single modules after they had
become packages, and a test file that had been renamed).

A reference counts when it has a folder part and ends in .py or .md (it resolves from the repository's root or
from the folder of the file that holds it), or is a test file's bare name (``test_logs.py``: in tests/).
Patterns (``tests/test_hostile_*.py``) must match at least one file. Not ours, so not checked: absolute paths
(/etc, /opt, /var, /srv, …), anything inside a URL, the ``path/to/`` style of a placeholder, and files of an
installed library named from its package (``wechatpy/client/base.py``)."""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import subprocess
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# a token of path characters with a folder part, ending in .py or .md; not the tail of a longer path or word
REF = re.compile(r"(?<![\w/.:~-])((?:[\w.-][\w.*-]*/)+[\w.*-]*\.(?:py|md))(?![\w/])")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+")
TEST_NAME = re.compile(r"(?<![\w/.:~-])(test_[\w*]+\.py)(?![\w/])")
PLACEHOLDER = ("path/to/", "some/", "x/", "your/")
OURS = {"bot", "console", "handlers", "reminders", "storage", "tests", "docs", "bench"}


def tracked() -> list[Path]:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / name for name in out.split()]


def prose_of_python(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every docstring and comment of a module."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    yield body[0].lineno, body[0].value.value
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string


def prose() -> Iterator[tuple[Path, int, str]]:
    for path in tracked():
        rel = path.relative_to(ROOT).as_posix()
        if path.suffix == ".py" and path.is_file():
            for line, text in prose_of_python(path.read_text(encoding="utf-8")):
                yield path, line, text
        elif (rel.startswith("docs/") and path.suffix == ".md") or rel in ("README.md", "SECURITY.md"):
            for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                yield path, line, text


def library(ref: str) -> bool:
    """A file of an installed library, named from its package (``wechatpy/client/base.py``)."""
    top = ref.split("/", 1)[0]
    return top not in OURS and top.isidentifier() and importlib.util.find_spec(top) is not None


def references(text: str) -> Iterator[str]:
    text = URL.sub(" ", text)
    for ref in REF.findall(text):
        if not ref.startswith(PLACEHOLDER) and not library(ref):
            yield ref
    for name in TEST_NAME.findall(text):
        yield f"tests/{name}"


def resolves(ref: str, holder: Path) -> bool:
    for base in (ROOT, holder.parent):
        if "*" in ref:
            if any(base.glob(ref)):
                return True
        elif (base / ref).is_file():
            return True
    return False


def dangling() -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {ref}"
        for path, line, text in prose()
        for ref in references(text)
        if not resolves(ref, path)
    ]


def test_every_file_named_in_prose_exists() -> None:
    found = dangling()
    assert not found, "pointers to files that do not exist:\n" + "\n".join(found)


def test_the_reader_finds_references_and_ignores_what_is_not_ours() -> None:
    text = (
        "see storage/ledger.py and `tests/test_x.py`, docs/wechat-rules.md; tests/test_access_*.py; "
        "not /etc/lianxin/x.py, https://example.com/a/b.py, path/to/file.py, wechatpy/client/base.py or "
        "ledger.py alone; test_logs.py::test_x"
    )
    assert list(references(text)) == [
        "storage/ledger.py",
        "tests/test_x.py",
        "docs/wechat-rules.md",
        "tests/test_access_*.py",
        "tests/test_logs.py",
    ]
    assert resolves("storage/models.py", ROOT / "README.md")
    assert not resolves("storage/ledger.py", ROOT / "README.md")  # a package now: storage/ledger/
    assert not resolves("tests/test_access_*.py", ROOT / "SECURITY.md")
    assert resolves("wechat/endpoint.py", ROOT / "bot" / "app.py")  # beside the file that names it
