"""The architecture, checked: our packages import one way only (storage <- handlers <- reminders <- console <- bot),
without cycles, without importlib tricks, and with a reason for every function-level import of our own code.

The graph is read from the source (tests/support/import_graph.py); each failure names file and line. The last
test feeds the checker a small made-up tree, so a checker that silently finds nothing fails here too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import import_graph

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def graph() -> import_graph.Graph:
    return import_graph.build(ROOT)


def _report(title: str, problems: list[str]) -> str:
    return f"{title} ({len(problems)}):\n  " + "\n  ".join(problems)


def test_the_graph_sees_every_package(graph: import_graph.Graph) -> None:
    assert {m.split(".")[0] for m in graph.modules} == set(import_graph.LAYERS)
    assert not any(m.startswith("storage.migrations.versions") for m in graph.modules)
    assert graph.edges  # our modules do import each other


def test_no_package_imports_a_package_above_it(graph: import_graph.Graph) -> None:
    problems = import_graph.upward(graph)
    assert not problems, _report("imports of a higher layer", problems)


def test_no_import_cycles(graph: import_graph.Graph) -> None:
    problems = import_graph.cycles(graph)
    assert not problems, _report("import cycles (module-level imports)", problems)


def test_no_dynamic_imports_of_our_modules(graph: import_graph.Graph) -> None:
    problems = import_graph.dynamic(graph)
    assert not problems, _report("importlib / __import__ of our modules", problems)


def test_function_level_imports_of_our_modules_say_why(graph: import_graph.Graph) -> None:
    problems = import_graph.unexplained(graph)
    assert not problems, _report("function-level imports without a reason", problems)


# ------------------------------------------------------------------------------------ the checker itself


def _tree(root: Path, files: dict[str, str]) -> Path:
    for pkg in import_graph.LAYERS:
        (root / pkg).mkdir(parents=True, exist_ok=True)
        (root / pkg / "__init__.py").write_text("")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_checker_reports_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "storage/models.py": "import os\n\nfrom bot import app\n",  # storage reaching up to bot
            "bot/app.py": "from storage import models\n",
            "handlers/diary.py": "from handlers import tasks\n",  # diary -> tasks -> common -> diary
            "handlers/tasks.py": "from . import common\n",
            "handlers/common.py": "from .diary import x\n",
            "reminders/jobs.py": (
                "import importlib\n\n\ndef f():\n    from storage import models\n"
                "    return importlib.import_module('console.views')\n"
            ),
            "storage/migrations/versions/0001_x.py": "from bot import app\n",  # skipped: generated revisions
        },
    )
    g = import_graph.build(root)
    up = import_graph.upward(g)
    assert len(up) == 1 and up[0].startswith(
        "storage/models.py:3: storage.models (storage) imports bot.app (bot)"
    )
    cyc = import_graph.cycles(g)
    assert len(cyc) == 2, cyc  # storage.models <-> bot.app, and the three handlers
    handlers = next(c for c in cyc if "handlers" in c)
    assert handlers == (
        "import cycle among 3 modules: handlers.common (handlers/common.py:1) -> "
        "handlers.diary (handlers/diary.py:1) -> handlers.tasks (handlers/tasks.py:1) -> handlers.common"
    )
    assert (
        "import cycle among 2 modules: bot.app (bot/app.py:1) -> storage.models (storage/models.py:3) -> bot.app"
        in cyc
    )
    dyn = import_graph.dynamic(g)
    assert len(dyn) == 1 and dyn[0].startswith("reminders/jobs.py:6: reminders.jobs loads 'console.views'")
    why = import_graph.unexplained(g)
    assert len(why) == 1 and why[0].startswith(
        "reminders/jobs.py:5: reminders.jobs imports storage.models inside"
    )


def test_checker_accepts_a_clean_tree(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "storage/models.py": "import sqlalchemy\n",
            "handlers/diary.py": "from storage import models\nfrom . import common\n",
            "handlers/common.py": "from storage.models import Base\n",
            "console/views.py": (
                "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from console import app\n\n\n"
                "def f():\n    # openpyxl is slow to import; only the export needs it\n"
                "    from console import xlsx\n    return xlsx\n"
            ),
            "console/app.py": "from console import views\n",  # the TYPE_CHECKING import above is no cycle
            "console/xlsx.py": "",
            "bot/app.py": "from console import views\nfrom handlers import diary\n\n\ndef g():\n"
            "    from reminders import jobs  # jobs pull in the scheduler: only `lianxin scheduler` needs it\n",
            "reminders/jobs.py": "import importlib\n\nimportlib.import_module('werobot')\n",
        },
    )
    g = import_graph.build(root)
    assert {(e.importer, e.target) for e in g.edges} >= {
        ("handlers.diary", "handlers.common"),
        ("bot.app", "reminders.jobs"),
    }
    assert import_graph.upward(g) == []
    assert import_graph.cycles(g) == []
    assert import_graph.dynamic(g) == []
    assert import_graph.unexplained(g) == []
