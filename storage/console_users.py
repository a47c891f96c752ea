"""Console accounts kept by the office (issue 24 item 5; PRODUCT.md ``lianxin user …``): the list, a change of
role and scope, and the guard rails every change passes (``refuse_losing_admin``). Adding an account is
storage/accounts.py ``create_console_user``; disabling, enabling and passwords (which end sessions) are
storage/console_sessions.py. The console's 账号 page and the CLI call the same functions.

Guard rails: nobody disables or demotes themselves, and nobody disables or demotes the last active admin of a
township (of the county, for the county's admins) — a township would be left without anyone to keep its
accounts. Functions take ``session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import townships
from storage.accounts import ROLES, AccountError
from storage.audit import record
from storage.models import ConsoleUser, Township, Village

ROLE_NAMES = {
    "county-admin": "全县管理员",
    "county-viewer": "全县查看",
    "admin": "乡镇管理员",
    "viewer": "乡镇查看",
    "village": "村账号",
}


@dataclass(frozen=True)
class Account:
    """One account as the list shows it."""

    id: int
    username: str
    role: str
    township: str | None
    village: str | None
    active: bool
    last_login_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.username,
            "role": self.role,
            "township": self.township,
            "village": self.village,
            "active": self.active,
            "last_login": self.last_login_at.isoformat() if self.last_login_at else None,
        }


def township_of(u: ConsoleUser) -> int | None:
    """The township an account belongs to (a village account: its village's); None for the county's."""
    if u.role.startswith("county-"):
        return None
    return u.village.township_id if u.village is not None else u.township_id


def list_accounts(session: Session, *, township_id: int | None = None) -> list[Account]:
    """Every account (``township_id`` None), or one township's (its admins, viewers and village accounts)."""
    names = dict(session.execute(select(Township.id, Township.name)).tuples().all())
    out = []
    for u in session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)):
        tid = township_of(u)
        if township_id is not None and tid != township_id:
            continue
        out.append(
            Account(
                u.id,
                u.username,
                u.role,
                names.get(tid) if tid is not None else None,
                u.village.name if u.village is not None else None,
                u.active,
                u.last_login_at,
            )
        )
    return out


def by_name(session: Session, username: str) -> ConsoleUser:
    u = session.scalar(select(ConsoleUser).where(ConsoleUser.username == (username or "").strip()))
    if u is None:
        raise AccountError(f"没有账号 {username}")
    return u


def _is_admin(role: str) -> bool:
    return role in ("admin", "county-admin")


def refuse_losing_admin(
    session: Session, u: ConsoleUser, *, by: str | None, new_role: str | None = None
) -> None:
    """Refuse to disable (``new_role`` None) or demote ``u`` when ``by`` (the username making the change; None
    from the command line) is ``u`` themselves, or when ``u`` is the last active admin of their township."""
    if new_role is not None and (new_role == u.role or not _is_admin(u.role)):
        return  # not a demotion
    if by is not None and by == u.username:
        raise AccountError("不能停用或降级自己的账号 / you cannot disable or demote yourself")
    if not (u.active and _is_admin(u.role)):
        return
    tid = township_of(u)
    # another active admin who keeps u's township: one of it, or one of the whole deployment (a county admin, an
    # admin made before townships); u without a township (such an admin) is kept by any other admin
    others = [
        o
        for o in session.scalars(
            select(ConsoleUser).where(
                ConsoleUser.id != u.id,
                ConsoleUser.active.is_(True),
                ConsoleUser.role.in_(("admin", "county-admin")),
            )
        )
        if tid is None or township_of(o) in (None, tid)
    ]
    if not others:
        where = "全县" if tid is None else "本乡镇"
        raise AccountError(
            f"{u.username} 是{where}最后一个在用的管理员账号，不能停用或降级；请先添加另一个管理员 / "
            "the last active admin cannot be disabled or demoted"
        )


def set_role(
    session: Session,
    *,
    username: str,
    role: str,
    township: str | None,
    village: str | None,
    actor: str,
    by: str | None,
    default_township: str,
) -> ConsoleUser:
    """A new role and scope for the account (the same rules as a new account's); audited. Sessions go on: each
    request reads the account afresh (console/access.py), so the new role holds from the next one."""
    u = by_name(session, username)
    if role not in ROLES:
        raise AccountError("角色应为 county-admin、county-viewer、admin、viewer 或 village 之一")
    refuse_losing_admin(session, u, by=by, new_role=role)
    township_id = village_id = None
    if role.startswith("county-"):
        if township or village:
            raise AccountError("全县账号不属于某个乡镇或村")
    else:
        try:
            t = townships.resolve(session, township, default=default_township, create=False)
        except townships.TownshipRefused as e:
            raise AccountError(str(e)) from None
        township_id = t.id
        if role == "village":
            v = session.scalar(
                select(Village).where(Village.name == (village or "").strip(), Village.township_id == t.id)
            )
            if v is None:
                raise AccountError(f"{t.name}没有名为 {village or '（未填）'} 的村(居)")
            village_id = v.id
        elif village:
            raise AccountError("村只用于村账号")
    old = (u.role, u.township_id, u.village_id)
    u.role, u.township_id, u.village_id = role, township_id, village_id
    session.flush()
    session.expire(u, ["village"])
    record(
        session,
        actor=actor,
        action="user.role",
        target=f"user:{u.username}",
        detail={"old": list(old), "role": role, "township": township, "village": village},
    )
    return u
