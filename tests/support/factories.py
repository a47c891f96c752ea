"""Builders for domain rows, shared by all tests: ``f = Factory(session)``; ``f.cadre()``; ``f.household(cadre)``."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    Cadre,
    Household,
    Link,
    ServiceCard,
    Township,
    Village,
    VillagerGroup,
    WechatIdentity,
)
from storage.outbox import open_user_window
from storage.timestamps import now_of

_seq = itertools.count(1)


class Factory:
    def __init__(self, session: Session) -> None:
        self.s = session

    def township(self, name: str = "龙伏镇") -> Township:
        t = self.s.scalar(select(Township).where(Township.name == name))
        if t is None:
            t = Township(name=name)
            self.s.add(t)
            self.s.flush()
        return t

    def village(self, name: str = "新桥村") -> Village:
        v = self.s.scalar(select(Village).where(Village.name == name))
        if v is None:
            v = Village(township_id=self.township().id, name=name)
            self.s.add(v)
            self.s.flush()
        return v

    def group(self, village: Village, name: str = "一组") -> VillagerGroup:
        g = self.s.scalar(
            select(VillagerGroup).where(VillagerGroup.village_id == village.id, VillagerGroup.name == name)
        )
        if g is None:
            g = VillagerGroup(village_id=village.id, name=name)
            self.s.add(g)
            self.s.flush()
        return g

    def cadre(
        self,
        name: str | None = None,
        phone: str | None = None,
        village: Village | None = None,
        post: str = "村支书",
        unit: str = "新桥村委会",
        **kw: Any,
    ) -> Cadre:
        n = next(_seq)
        c = Cadre(
            name=name or f"干部{n}",
            phone=phone or f"139{n:08d}",
            post=post,
            unit=unit,
            village_id=(village or self.village()).id,
            **kw,
        )
        self.s.add(c)
        self.s.flush()
        return c

    def household(
        self,
        cadre: Cadre | None = None,
        head_name: str | None = None,
        card: str | None = None,
        village: Village | None = None,
        **kw: Any,
    ) -> Household:
        n = next(_seq)
        v = village or self.village()
        h = Household(
            village_id=v.id,
            group_id=self.group(v).id,
            head_name=head_name or f"农户{n}",
            head_phone=kw.pop("head_phone", f"138{n:08d}"),
            population=kw.pop("population", 4),
            **kw,
        )
        self.s.add(h)
        self.s.flush()
        if cadre is not None:
            self.s.add(Link(household_id=h.id, cadre_id=cadre.id))
        self.s.add(ServiceCard(household_id=h.id, number=card or f"{n:08d}"))
        self.s.flush()
        return h

    def identity(
        self,
        openid: str | None = None,
        *,
        cadre: Cadre | None = None,
        household: Household | None = None,
        kind: str | None = None,
    ) -> WechatIdentity:
        ident = WechatIdentity(
            openid=openid or f"o{next(_seq):027d}",
            kind=kind or ("cadre" if cadre else "villager" if household else "unknown"),
            cadre_id=cadre.id if cadre else None,
            household_id=household.id if household else None,
            bound_at=now_of(self.s) if (cadre or household) else None,
        )
        open_user_window(ident, now_of(self.s))
        self.s.add(ident)
        self.s.flush()
        return ident
