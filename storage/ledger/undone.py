"""The ledger's duties still undone, per cadre and household, for the reminders before the office's deadlines
(``[programme]``: cards, commitment letters and information forms by a date). One query on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import not_, or_, select
from sqlalchemy.orm import Session

from storage.ledger.duties import info_complete_clause
from storage.models import Cadre, Household, Link, ServiceCard
from storage.register import in_programme

# duty -> the ledger's key in storage.ledger.DUTIES: "card" (便民服务卡 handed out), "commitment" (工作承诺书
# signed), "form" (民情信息登记表 complete)
UNDONE_DUTIES: tuple[str, ...] = ("card", "commitment", "form")


@dataclass
class Undone:
    """One cadre's households still missing each duty (heads' names, in household order)."""

    cadre_id: int
    name: str
    households: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.households.values())


def undone_duties(session: Session, duties: Iterable[str]) -> dict[int, Undone]:
    """Active cadres with at least one linked household missing one of ``duties``; cadres with nothing missing
    are left out."""
    wanted = [d for d in UNDONE_DUTIES if d in set(duties)]
    if not wanted:
        return {}
    missing = {
        "card": ServiceCard.issued_on.is_(None),  # no card row at all is a card not handed out too
        "commitment": Link.commitment_signed_on.is_(None),
        "form": not_(info_complete_clause()),
    }
    stmt = (
        select(Link.cadre_id, Cadre.name, Household.head_name, *(missing[d].label(d) for d in wanted))
        .select_from(Household)
        .join(Link, Link.household_id == Household.id)
        .join(Cadre, Cadre.id == Link.cadre_id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .where(
            Household.purged_at.is_(None),
            in_programme(),
            Cadre.active.is_(True),
            or_(*(missing[d] for d in wanted)),
        )
        .order_by(Link.cadre_id, Household.id)
    )
    out: dict[int, Undone] = {}
    for row in session.execute(stmt):
        u = out.setdefault(row.cadre_id, Undone(row.cadre_id, row.name, {d: [] for d in wanted}))
        for d in wanted:
            if getattr(row, d):
                u.households[d].append(row.head_name)
    return out


__all__ = ["UNDONE_DUTIES", "Undone", "undone_duties"]
