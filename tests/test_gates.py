"""The gates anyone can run are the ones CI runs (issue 23 item 8): ``./dev.sh lint`` (ruff check, ruff format
--check, mypy as pyproject.toml configures it) runs in .ci/run before the tests; the venv of ./dev.sh and CI
installs the versions pinned in constraints.txt, and a deployer's ``pip install .`` (.ci/deploy-check) stays
unpinned."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, Version]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt: {line!r} is not name==version"
        out[canonicalize_name(name)] = Version(version)
    return out


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_constraints_pin_every_dependency_within_what_pyproject_allows() -> None:
    pinned = pins()
    assert "lianxin" not in pinned  # the project itself is installed from the tree, never pinned
    for req in requirements():
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is not in constraints.txt: run ./dev.sh constraints"
        assert pinned[name] in req.specifier, f"constraints.txt pins {req.name} {pinned[name]}, outside {req}"
    assert "mypy" in pinned and "ruff" in pinned


def _commands(path: str) -> list[str]:
    return [
        line.strip()
        for line in (ROOT / path).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_ci_runs_the_gates_before_the_tests() -> None:
    run = _commands(".ci/run")
    lint = run.index("./dev.sh lint")
    tests = [i for i, line in enumerate(run) if "./dev.sh test" in line and not line.startswith("echo")]
    assert tests and lint < min(tests)
    assert "set -euo pipefail" in run  # a failing gate fails the run


def test_dev_sh_lint_runs_ruff_and_mypy_as_configured_and_installs_pinned() -> None:
    text = (ROOT / "dev.sh").read_text(encoding="utf-8")
    lint = text[text.index("  lint)") : text.index(";;", text.index("  lint)"))]
    steps = [line.split("#")[0].strip() for line in lint.splitlines()[1:] if line.strip()]
    assert steps == ["setup", ".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"]
    installs = [line for line in _commands("dev.sh") if "pip install" in line and ".[test]" in line]
    assert any("-c constraints.txt -e '.[test]'" in line for line in installs)


def test_a_deployer_installs_unpinned() -> None:
    check = (ROOT / ".ci" / "deploy-check").read_text(encoding="utf-8")
    installs = [line for line in check.splitlines() if "pip install" in line and "upgrade pip" not in line]
    assert installs, "the deploy check installs the product"
    assert not [line for line in installs if re.search(r"(\s-c\s|--constraint|constraints\.txt)", line)]
