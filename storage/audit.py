"""The audit log: every change and every export by the office (console or CLI)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditLog
from storage.timestamps import now_of


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(AuditLog(at=now_of(session), actor=actor, action=action, target=target, detail=detail))
