"""What the database already holds that a plan compares the list with: read once, one query per table, plain
columns and no ORM objects (100,000 households must plan in seconds). It only reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    Cadre,
    Household,
    Link,
    LinkChange,
    ServiceCard,
    Township,
    Village,
    VillagerGroup,
)

# What the import writes in the households' history and link changes as the one who changed them.
IMPORT_ACTOR = "import"
# (village, group, head's name, head's phone or ""): what makes two rows, or a row and a stored household, the
# same household
Identity = tuple[str, str, str, str]


@dataclass
class Stored:
    """The database as the plan of one township sees it. Households are dicts with the keys id, village_id,
    village (named with its township when it is another township's), group, group_id, head_name, head_phone,
    population, township_id, added_by, closed_on, closed_reason; cadres are dicts with id, name, post, unit,
    village_id, township_id. ``register_links``: each household whose latest link change the register made (not
    an import) — a move, a handover, a household added — with that change (changed_by, old/new cadre, when)."""

    township_id: int | None  # None: the township is new
    township_names: dict[int, str]
    villages: dict[str, int]  # this township's, by name (names repeat across a county)
    group_ids: dict[tuple[int, str], int]  # (village id, group name) -> group id, every township's
    households: dict[int, dict[str, Any]]  # every household not purged, by id
    by_identity: dict[Identity, dict[str, Any]]  # this township's households, the first of each identity
    card_households: dict[str, int]  # card number -> household id (a purged household's card too)
    card_of: dict[int, tuple[int, str]]  # household id -> (card id, number)
    links: dict[int, tuple[int, int]]  # household id -> (link id, cadre id)
    cadres: dict[str, dict[str, Any]]  # by phone, every township's
    cadre_by_id: dict[int, tuple[str, dict[str, Any]]]  # cadre id -> (phone, cadre)
    # household id -> its latest link change, made outside an import
    register_links: dict[int, dict[str, Any]] = field(default_factory=dict)


def read_stored(session: Session, township: str) -> Stored:
    """Everything a plan for ``township`` (by name) compares the list with."""
    t = session.scalar(select(Township).where(Township.name == township))
    township_id = t.id if t else None
    township_names: dict[int, str] = {
        tid: name for tid, name in session.execute(select(Township.id, Township.name))
    }
    villages, village_township, village_label = _read_villages(session, township_id, township_names)
    groups = {
        gid: (vid, gname)
        for gid, vid, gname in session.execute(
            select(VillagerGroup.id, VillagerGroup.village_id, VillagerGroup.name)
        )
    }
    households, by_identity = _read_households(session, township_id, village_township, village_label, groups)
    card_households: dict[str, int] = {}
    card_of: dict[int, tuple[int, str]] = {}
    for cid, hid, number in session.execute(
        select(ServiceCard.id, ServiceCard.household_id, ServiceCard.number)
    ):
        card_households[number] = hid
        card_of[hid] = (cid, number)
    links = {
        hid: (lid, cid)
        for lid, hid, cid in session.execute(select(Link.id, Link.household_id, Link.cadre_id))
    }
    cadres = _read_cadres(session)
    return Stored(
        township_id=township_id,
        township_names=township_names,
        villages=villages,
        group_ids={(vid, gname): gid for gid, (vid, gname) in groups.items()},
        households=households,
        by_identity=by_identity,
        card_households=card_households,
        card_of=card_of,
        links=links,
        cadres=cadres,
        cadre_by_id={c["id"]: (phone, c) for phone, c in cadres.items()},
        register_links=_read_register_links(session),
    )


def _read_villages(
    session: Session, township_id: int | None, township_names: dict[int, str]
) -> tuple[dict[str, int], dict[int, int], dict[int, str]]:
    """This township's villages by name; every village's township, and its name as the plan's messages show it
    (another township's village is named with its township, since village names repeat across a county)."""
    villages: dict[str, int] = {}
    village_township: dict[int, int] = {}
    village_label: dict[int, str] = {}
    for vid, vname, tid in session.execute(select(Village.id, Village.name, Village.township_id)):
        village_township[vid] = tid
        village_label[vid] = vname if tid == township_id else f"{township_names.get(tid, '')}{vname}"
        if tid == township_id:
            villages[vname] = vid
    return villages, village_township, village_label


def _read_households(
    session: Session,
    township_id: int | None,
    village_township: dict[int, int],
    village_label: dict[int, str],
    groups: dict[int, tuple[int, str]],
) -> tuple[dict[int, dict[str, Any]], dict[Identity, dict[str, Any]]]:
    """Every household not purged, by id, and this township's by identity (a purged household is nobody's:
    its row in a list is a new household)."""
    households: dict[int, dict[str, Any]] = {}
    by_identity: dict[Identity, dict[str, Any]] = {}
    for hid, vid, gid, head, phone, pop, added_by, closed_on, closed_reason in session.execute(
        select(
            Household.id,
            Household.village_id,
            Household.group_id,
            Household.head_name,
            Household.head_phone,
            Household.population,
            Household.added_by,
            Household.closed_on,
            Household.closed_reason,
        ).where(Household.purged_at.is_(None))
    ):
        gname = groups[gid][1] if gid else ""
        h = {
            "id": hid,
            "village_id": vid,
            "village": village_label.get(vid, f"#{vid}"),
            "group": gname,
            "group_id": gid,
            "head_name": head,
            "head_phone": phone,
            "population": pop,
            "township_id": village_township.get(vid),
            "added_by": added_by,
            "closed_on": closed_on,
            "closed_reason": closed_reason,
        }
        if h["township_id"] == township_id:
            key = (h["village"], gname, head, phone or "")
            first = by_identity.setdefault(key, h)
            if (
                first["closed_on"] is not None and closed_on is None
            ):  # a household in the programme comes first
                by_identity[key] = h
        households[hid] = h
    return households, by_identity


def _read_register_links(session: Session) -> dict[int, dict[str, Any]]:
    """Each household's latest link change, where the register made it (``household move``, a handover, the
    console, ``household add``) rather than an import: what a list naming another cadre would undo."""
    latest: dict[int, dict[str, Any]] = {}
    for hid, by, old, new, at in session.execute(
        select(
            LinkChange.household_id,
            LinkChange.changed_by,
            LinkChange.old_cadre_id,
            LinkChange.new_cadre_id,
            LinkChange.changed_at,
        ).order_by(LinkChange.id)
    ):
        latest[hid] = {"changed_by": by, "old_cadre_id": old, "new_cadre_id": new, "changed_at": at}
    return {hid: c for hid, c in latest.items() if c["changed_by"] != IMPORT_ACTOR}


def _read_cadres(session: Session) -> dict[str, dict[str, Any]]:
    """Every cadre of the deployment by phone: a phone names one cadre across a county."""
    return {
        phone: {"id": cid, "name": name, "post": post, "unit": unit, "village_id": vid, "township_id": tid}
        for cid, phone, name, post, unit, vid, tid in session.execute(
            select(
                Cadre.id, Cadre.phone, Cadre.name, Cadre.post, Cadre.unit, Cadre.village_id, Cadre.township_id
            )
        )
    }
