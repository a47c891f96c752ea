"""QA: exports are audited only once the file is written; the CLI message names the file the user chose."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import CliState, main
from storage.models import AuditLog
from tests.support.factories import Factory


def run(lx: Any, *args: str) -> Any:
    state = CliState()
    state._lx = lx
    return CliRunner().invoke(main, list(args), obj=state)


def actions(lx: Any) -> list[str]:
    with lx.session() as s:
        return [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_report_write_failure_is_not_audited(lx: Any, session: Any, clock: Any, tmp_path: Any) -> None:
    clock.set("2026-11-24 20:00")
    Factory(session).cadre()
    session.commit()
    bad = tmp_path / "missing-dir" / "r.html"
    r = run(lx, "report", "month", "2026-11", "--out", str(bad))
    assert r.exit_code != 0 and "所在文件夹不存在" in r.output and not bad.exists()
    assert actions(lx) == []
    good = tmp_path / "r.html"
    r = run(lx, "report", "month", "2026-11", "--out", str(good))
    assert r.exit_code == 0, r.output
    assert good.exists() and actions(lx) == ["report.export"]
    assert f"已导出 {good}" in r.output and "默认文件名" not in r.output


def test_ledger_write_failure_is_not_audited(lx: Any, session: Any, clock: Any, tmp_path: Any) -> None:
    clock.set("2026-11-24 20:00")
    Factory(session).cadre()
    session.commit()
    bad = tmp_path / "missing-dir" / "l.html"
    r = run(lx, "ledger", "--out", str(bad))
    assert r.exit_code != 0 and "所在文件夹不存在" in r.output and not bad.exists()
    assert actions(lx) == []
    good = tmp_path / "l.html"
    assert run(lx, "ledger", "--out", str(good)).exit_code == 0
    assert good.exists() and actions(lx) == ["ledger.export"]
