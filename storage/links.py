"""Moving a household to another cadre (console or import): the new cadre's duties start afresh.

The service card names the cadre, so a card issued under the old cadre must be reissued: its 'issued' mark
(and 'printed') is cleared; the commitment letter was signed by the old cadre, so it is cleared too. What was
there is kept in the household's history (HouseholdInfoHistory) and the move itself in LinkChange; the ledger
then shows the card as 换卡待发 (storage/ledger/query.py: a card not issued since a move).
Functions take ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import HouseholdInfoHistory, Link, LinkChange, ServiceCard


def restart_duties(session: Session, household_ids: Iterable[int], *, changed_by: str, now: datetime) -> None:
    """Clear the card's issued/printed marks and the commitment of households just moved, keeping history."""
    ids = list(household_ids)
    if not ids:
        return
    for card in session.scalars(select(ServiceCard).where(ServiceCard.household_id.in_(ids))):
        if card.issued_on is not None:
            session.add(
                HouseholdInfoHistory(
                    household_id=card.household_id,
                    changed_at=now,
                    changed_by=changed_by,
                    field="card_issued_on",
                    old_value=f"{card.issued_on} {card.issued_by or ''}".strip(),
                    new_value="换卡待发",
                )
            )
        card.issued_on, card.issued_by, card.printed_at = None, None, None
    for link in session.scalars(select(Link).where(Link.household_id.in_(ids))):
        if link.commitment_signed_on is not None:
            session.add(
                HouseholdInfoHistory(
                    household_id=link.household_id,
                    changed_at=now,
                    changed_by=changed_by,
                    field="commitment_signed_on",
                    old_value=f"{link.commitment_signed_on} {link.commitment_recorded_by or ''}".strip(),
                    new_value=None,
                )
            )
        link.commitment_signed_on, link.commitment_recorded_by = None, None
    session.flush()


def last_change_ids(session: Session, household_ids: Iterable[int]) -> dict[int, int]:
    """household id → the id of its latest LinkChange (a move's identity, for idempotent pushes)."""
    out: dict[int, int] = {}
    for hid, cid in session.execute(
        select(LinkChange.household_id, LinkChange.id)
        .where(LinkChange.household_id.in_(list(household_ids)))
        .order_by(LinkChange.household_id, LinkChange.id)
    ):
        out[hid] = cid
    return out
