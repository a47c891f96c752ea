"""Townships of a deployment: one (a township runs lianxin for itself) or several (a county runs it for all).

``resolve`` is the one rule every command and page uses to say which township an action is for: the named one;
with no name, the deployment's only township (or ``[general] township`` before anything was imported); in a county
deployment a name is needed, and the refusal names the townships to choose from.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Township


class TownshipRefused(ValueError):
    """No such township, or a county deployment given none: the message says which names there are."""


def names(session: Session) -> list[str]:
    return list(session.scalars(select(Township.name).order_by(Township.id)))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Township)) or 0


def is_county(session: Session) -> bool:
    """More than one township in this deployment."""
    return count(session) > 1


def by_name(session: Session, name: str) -> Township | None:
    return session.scalar(select(Township).where(Township.name == name.strip()))


def _choices(session: Session) -> str:
    return "、".join(names(session)) or "（尚无乡镇）"


def resolve(session: Session, name: str | None, *, default: str, create: bool = False) -> Township:
    """The township an action is for (see the module). ``create``: a name that is not there yet is made when it is
    the configured one or the deployment has none (the first import, the first account)."""
    if name:
        t = by_name(session, name)
        if t is None and create and (name.strip() == default or count(session) == 0):
            t = Township(name=name.strip())
            session.add(t)
            session.flush()
        if t is None:
            raise TownshipRefused(f"没有名为「{name}」的乡镇；本系统的乡镇有：{_choices(session)}")
        return t
    all_ = list(session.scalars(select(Township).order_by(Township.id).limit(2)))
    if len(all_) > 1:
        raise TownshipRefused(f"本系统有多个乡镇，请用 --township 指明：{_choices(session)}")
    if all_:
        return all_[0]
    if not create:
        raise TownshipRefused(f"尚无乡镇「{default}」的数据，请先导入联户名单")
    t = Township(name=default)
    session.add(t)
    session.flush()
    return t


def resolve_name(session: Session, name: str | None, *, default: str) -> str:
    """As ``resolve(..., create=True)``, but only the name: nothing is written (an import plans before it writes)."""
    if name:
        if by_name(session, name) is None and name.strip() != default and count(session) > 0:
            raise TownshipRefused(f"没有名为「{name}」的乡镇；本系统的乡镇有：{_choices(session)}")
        return name.strip()
    found = names(session)
    if len(found) > 1:
        raise TownshipRefused(f"本系统有多个乡镇，请用 --township 指明：{_choices(session)}")
    return found[0] if found else default
