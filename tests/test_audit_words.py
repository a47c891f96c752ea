"""The audit log reads as Chinese sentences: every action written anywhere in the product code has its label in
storage/audit.py ``ACTIONS``, and the page shows people by name, actions as sentences and details as fields."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from storage.actors import Names
from storage.audit import ACTIONS, describe, record
from storage.outbox import enqueue
from storage.words import shorten, trigger_zh
from tests.support.console_world import (
    World,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "console", "handlers", "reminders", "storage")


def _action_arg(call: ast.Call) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == "action":
            return k.value
    args = [a for a in call.args if not (isinstance(a, ast.Name) and a.id in ("s", "session"))]
    return args[0] if args else None


def _assigned_constants(func: ast.AST, name: str) -> list[str] | None:
    """The strings a local ``name`` is set to in ``func``; None if it is never set (a parameter: a wrapper)."""
    found: list[str] | None = None
    for n in ast.walk(func):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            found = (found or []) + _constants(n.value)
    return found


def _constants(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def _written_actions() -> tuple[set[str], list[str]]:
    """Every action passed to an audit ``record``/``record_export``: constants, and f-string patterns."""
    actions: set[str] = set()
    patterns: list[str] = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for func in ast.walk(tree):
                if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                    continue
                for call in ast.walk(func):
                    if not isinstance(call, ast.Call):
                        continue
                    f = call.func
                    called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                    if called not in ("record", "record_export"):
                        continue
                    arg = _action_arg(call)
                    if isinstance(arg, ast.JoinedStr):
                        parts = [
                            re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z_]+"
                            for v in arg.values
                        ]
                        patterns.append("".join(parts))
                    elif isinstance(arg, ast.Name):
                        actions.update(_assigned_constants(func, arg.id) or [])
                    elif arg is not None:
                        actions.update(_constants(arg))
    return {a for a in actions if re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", a)}, patterns


def test_every_audit_action_in_the_code_has_a_chinese_label() -> None:
    actions, patterns = _written_actions()
    assert len(actions) > 30  # the scan finds the calls
    assert sorted(a for a in actions if a not in ACTIONS) == []
    for pattern in patterns:
        assert any(re.fullmatch(pattern, a) for a in ACTIONS), pattern


def test_details_are_named_fields_not_json(world: World) -> None:
    with world.lx.session() as s:
        shown = describe(
            {"old_cadre": world.ids["cadre_a"], "new_cadre": world.ids["cadre_b"], "relayed": True}, Names(s)
        )
    assert shown == [("原干部", "李明"), ("新干部", "王芳"), ("已转给村民", "是")]


def test_audit_page_shows_people_sentences_and_fields(world: World) -> None:
    c = world.login("admin")
    c.post("/requests/1/reassign", {"cadre_id": world.ids["cadre_b"]})
    with world.lx.session() as s:
        record(
            s,
            actor="console:admin",
            action="login.failed",
            target="user:admin",
            detail={"address": "10.0.0.1"},
        )
    page = page_text(c.get("/audit"))
    page = page[page.index("<table") : page.index("</table>")]  # the log (the filter's options carry the ids)
    assert "办公室 admin（控制台）" in page and "把诉求改派给另一名干部" in page and "第1号诉求" in page
    assert "原干部：李明" in page and "新干部：王芳" in page and "登录失败" in page
    for raw in ("console:admin", "request.reassign", "login.failed", "request:1", "{", "old_cadre"):
        assert raw not in page, raw


# ------------------------------------------------------------------------------------------ the command line
# What the office reads from ``lianxin outbox`` / ``lianxin jobs run``: Chinese words, whole numbers.

ENGLISH_STATUS = re.compile(
    r"\b(pending|sending|sent|failed|expired|merged|notice|reminder|custom|template|month|quarter|"
    r"not_configured|True|False|skipped)\b"
)


def test_job_triggers_in_words() -> None:
    assert [
        trigger_zh(t)
        for t in (
            "interval[0:01:00]",
            "interval[0:00:10]",
            "cron[minute='5']",
            "cron[minute='*/30']",
            "cron[hour='19', minute='30']",
            "cron[day='1', hour='8', minute='0']",
            "cron[day_of_week='mon', hour='8', minute='0']",
        )
    ] == [
        "每 1 分钟",
        "每 10 秒",
        "每小时第 5 分",
        "每 30 分钟",
        "每天 19:30",
        "每月 1 日 08:00",
        "cron[day_of_week='mon', hour='8', minute='0']",
    ]


def test_shorten_never_splits_a_number() -> None:
    text = "【月通报】2026-11 您本月排第 10 名，民情日记 18 篇，请继续保持"
    cut = shorten(text, text.index("10") + 1)
    assert cut.endswith("排第…") and "排第 1…" not in cut
    assert shorten("短消息", 40) == "短消息"


def test_cli_outbox_and_jobs_speak_chinese(world: World, tmp_path, monkeypatch) -> None:
    with world.lx.session() as s:
        enqueue(
            s,
            openid="demo-cadre-01",
            kind="notice",
            text="【月通报】" + "本" * 31 + "排第 10 名，请继续保持。",  # the listing cuts at 40, inside "10"
            key="words-1",
        )
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\nurl = "{world.lx.config.database_url}"\n', encoding="utf-8")
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    runner = CliRunner()
    listing = runner.invoke(main, ["outbox"])
    ran = runner.invoke(main, ["jobs", "run", "dispatch_outbox"])
    assert listing.exit_code == 0 and ran.exit_code == 0, listing.output + ran.output
    assert (
        "待发送" in listing.output
        and "通知" in listing.output
        and "排第…" in listing.output
        and "排第 1…" not in listing.output
    )
    assert "未配置公众号" in ran.output
    for out in (listing.output, ran.output):
        assert ENGLISH_STATUS.findall(out) == [], out
