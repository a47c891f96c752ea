"""`撤销` of a ledger command: one keyword for the diary and the ledger, the most recent action wins.

The ledger's 撤销 route sits before the diary's and matches only when the cadre's latest duty batch (within
10 minutes) is at least as recent as their latest diary entry still undoable; otherwise the diary's 撤销
answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from handlers.diary import latest_undoable_summary
from handlers.ledger.marks import set_duty
from handlers.ledger.parsers import from_json, history_value
from handlers.ledger.shared import DUTY_NAMES, UNDO_WINDOW, by_cadre, iso_date, whole_minutes
from storage.models import Cadre, DiaryEntry, DutyRecord, Household, HouseholdInfoHistory


def latest_undoable_batch(ctx: Context, cadre_id: int) -> list[DutyRecord]:
    """The records of the cadre's most recent duty command within the undo window (empty if none)."""
    since = ctx.now() - UNDO_WINDOW
    last = ctx.session.scalar(
        select(DutyRecord)
        .where(
            DutyRecord.cadre_id == cadre_id, DutyRecord.undone_at.is_(None), DutyRecord.created_at >= since
        )
        .order_by(DutyRecord.created_at.desc(), DutyRecord.id.desc())
        .limit(1)
    )
    if last is None:
        return []
    batch = (last.previous or {}).get("batch")
    same_time = ctx.session.scalars(
        select(DutyRecord)
        .where(
            DutyRecord.cadre_id == cadre_id,
            DutyRecord.undone_at.is_(None),
            DutyRecord.created_at == last.created_at,
        )
        .order_by(DutyRecord.id)
    )
    return [r for r in same_time if (r.previous or {}).get("batch") == batch]


def _latest_undoable_diary_at(ctx: Context, cadre_id: int) -> datetime | None:
    return ctx.session.scalar(
        select(DiaryEntry.created_at)
        .where(
            DiaryEntry.cadre_id == cadre_id,
            DiaryEntry.deleted_at.is_(None),
            DiaryEntry.created_at >= ctx.now() - UNDO_WINDOW,
        )
        .order_by(DiaryEntry.created_at.desc())
        .limit(1)
    )


_undo_keyword = command("撤销", bare_only=True)


def match_undo(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """`撤销` when the cadre's latest undoable action is a ledger command (else the diary's 撤销 answers)."""
    if _undo_keyword(ctx, msg) is None:
        return None
    batch = latest_undoable_batch(ctx, ctx.identity.cadre_id or 0)
    if not batch:
        return None
    diary_at = _latest_undoable_diary_at(ctx, ctx.identity.cadre_id or 0)
    if diary_at is not None and diary_at > batch[0].created_at:
        return None
    summary = latest_undoable_summary(ctx, ctx.identity.cadre_id or 0)  # a 小结 sent after the ledger command
    if summary is not None and summary.submitted_at > batch[0].created_at:
        return None
    return {}


def undo(ctx: Context, msg: Message) -> str:
    cadre = cadre_of(ctx)
    records = latest_undoable_batch(ctx, cadre.id)
    if not records:  # the predicate saw one; a concurrent 撤销 may have taken it
        return ctx.render("ledger_undo_nothing", minutes=whole_minutes(UNDO_WINDOW))
    now = ctx.now()
    names: list[str] = []
    for r in records:
        h = ctx.session.get(Household, r.household_id)
        assert h is not None
        prev = r.previous or {}
        if r.duty == "info":
            restore_info(ctx, h, prev, cadre, now)
        elif r.duty == "card":
            set_duty(h, "card", iso_date(prev.get("issued_on")), prev.get("issued_by"))
        elif r.duty == "policy":
            set_duty(h, "policy", iso_date(prev.get("policy_done_on")), prev.get("policy_done_by"))
        elif r.duty == "commitment":
            set_duty(
                h,
                "commitment",
                iso_date(prev.get("commitment_signed_on")),
                prev.get("commitment_recorded_by"),
            )
        r.undone_at = now
        names.append(h.head_name)
    ctx.session.flush()
    return ctx.render(
        "ledger_undone", duty_name=DUTY_NAMES.get(records[0].duty, records[0].duty), names=names
    )


def restore_info(ctx: Context, h: Household, prev: dict[str, Any], cadre: Cadre, now: datetime) -> None:
    """Put back the 登记 answers a form saved; each field that changes back goes in the household's history."""
    for f, old in (prev.get("fields") or {}).items():
        restored = from_json(f, old)
        current = getattr(h, f)
        if history_value(f, current) != history_value(f, restored):
            ctx.session.add(
                HouseholdInfoHistory(
                    household_id=h.id,
                    changed_at=now,
                    changed_by=f"{by_cadre(cadre)} 撤销",
                    field=f,
                    old_value=history_value(f, current),
                    new_value=history_value(f, restored),
                )
            )
        setattr(h, f, restored)
    updated = prev.get("info_updated_at")
    h.info_updated_at = datetime.fromisoformat(updated) if updated else None
    h.info_updated_by = prev.get("info_updated_by")


router = Router("ledger.undo", is_cadre, (Route("ledger.undo", match_undo, undo),))
