"""Running ``lianxin …`` in-process on a test's own Lianxin (its database and fake clock)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import CliState, main
from storage.models import AuditLog


def run_cli(lx: Any, *args: str, input: str | None = None, catch_exceptions: bool = True) -> Result:
    state = CliState()
    state._lx = lx  # the test's Lianxin, so the command sees its database and clock
    return CliRunner().invoke(main, list(args), obj=state, input=input, catch_exceptions=catch_exceptions)


def audit_actions(lx: Any) -> list[str]:
    """The audit log's actions, oldest first."""
    with lx.session() as s:
        return [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
