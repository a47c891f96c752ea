"""包组联户: the cadre who answers for a whole 村民小组 (``villager_group.cadre_id``), set by the link list's
包组干部 / 包组干部电话 columns (storage/importer). Read here for the public listing, the 五个一 ledger and the
cadre's chat ``农户``. Functions take ``session`` and never commit."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Cadre, Household, Village, VillagerGroup
from storage.naming import by_number
from storage.register import in_programme


@dataclass(frozen=True)
class GroupLeader:
    group_id: int
    village_id: int
    village: str
    group: str
    cadre_id: int
    name: str
    post: str
    phone: str
    households: int  # the group's households (personal data not purged)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_leaders(
    session: Session,
    *,
    village_id: int | None = None,
    cadre_id: int | None = None,
    group_ids: list[int] | None = None,
    township_id: int | None = None,
) -> list[GroupLeader]:
    """The groups that have a cadre, by village and group name; filtered by village, by cadre, by group or by
    township (a township's office sees its own groups only)."""
    counts = (
        select(Household.group_id, func.count(Household.id).label("n"))
        .where(Household.purged_at.is_(None), in_programme(), Household.group_id.is_not(None))
        .group_by(Household.group_id)
        .subquery()
    )
    stmt = (
        select(
            VillagerGroup.id,
            VillagerGroup.village_id,
            Village.name,
            VillagerGroup.name,
            Cadre.id,
            Cadre.name,
            Cadre.post,
            Cadre.phone,
            func.coalesce(counts.c.n, 0),
        )
        .join(Village, Village.id == VillagerGroup.village_id)
        .join(Cadre, Cadre.id == VillagerGroup.cadre_id)
        .outerjoin(counts, counts.c.group_id == VillagerGroup.id)
        .order_by(Village.name, VillagerGroup.id)  # then by the number a group's name means
    )
    if village_id is not None:
        stmt = stmt.where(VillagerGroup.village_id == village_id)
    if township_id is not None:
        stmt = stmt.where(Village.township_id == township_id)
    if cadre_id is not None:
        stmt = stmt.where(VillagerGroup.cadre_id == cadre_id)
    if group_ids is not None:
        if not group_ids:
            return []
        stmt = stmt.where(VillagerGroup.id.in_(group_ids))
    leaders = [
        GroupLeader(gid, vid, vname, gname, cid, name, post or "", phone, int(n))
        for gid, vid, vname, gname, cid, name, post, phone, n in session.execute(stmt)
    ]
    return sorted(leaders, key=lambda g: (g.village, by_number(g.group), g.group_id))
