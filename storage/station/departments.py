"""A township's departments (站办所: 民政办, 司法所, 农业农村办 …): added and listed by the office, each with the WeChat
accounts of its staff (``openids``: told of its new requests and of their time limits).

Why openids on the department row rather than a binding code per staff member: a department's staff answer in
the console (accounts of role ``department``), and WeChat only tells them something is waiting; the office
already keeps its own accounts as such a list in the configuration (storage/offices.py), and a second binding flow (codes, takeovers, releases) for a
few accounts per township would be a second home for the binding rule. The office sets them on the command line
(``lianxin department add NAME --openid O``) or on the console's 转办 page (console/views/transfers.py).
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import ConsoleUser, Department, RequestTransfer

NAME = re.compile(r"[\w\u4e00-\u9fff（）()·\-]{2,20}")
OPENID = re.compile(r"[A-Za-z0-9_\-]{6,64}")
MAX_OPENIDS = 20


class StationError(ValueError):
    """Bad input for the station's work (a department, a transfer): the message says what is wrong, in Chinese
    first; nothing was changed."""


def clean_name(name: str) -> str:
    """A department's name as stored: full-width forms folded (ＡＢ → AB), spaces dropped; refused when empty or odd."""
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))
    if not NAME.fullmatch(folded):
        raise StationError(
            "部门名称应为 2–20 个汉字、字母或数字（如 民政办、司法所）/ a department's name: 2–20 letters or characters"
        )
    return folded


def clean_openids(values: list[str]) -> list[str]:
    """The staff's openids as given (one per item; blanks dropped, duplicates once), refused when one is malformed."""
    out: list[str] = []
    for raw in values:
        for v in re.split(r"[\s,，;；]+", raw or ""):
            if not v:
                continue
            if not OPENID.fullmatch(v):
                raise StationError(f"「{v}」不像微信 openid / not an openid")
            if v not in out:
                out.append(v)
    if len(out) > MAX_OPENIDS:
        raise StationError(f"每个部门最多 {MAX_OPENIDS} 个微信 / at most {MAX_OPENIDS} accounts a department")
    return out


def add_or_update(
    session: Session,
    *,
    township_id: int,
    name: str,
    actor: str,
    openids: list[str] | None = None,
) -> tuple[Department, bool]:
    """The township's department ``name``, made when it is not there yet (True) — else its staff's WeChat accounts
    are set to ``openids`` when given (False). Audited."""
    name = clean_name(name)
    ids = clean_openids(openids) if openids is not None else None
    dept = session.scalar(
        select(Department).where(Department.township_id == township_id, Department.name == name)
    )
    made = dept is None
    if dept is None:
        dept = Department(township_id=township_id, name=name, openids=ids or [], active=True)
        session.add(dept)
        session.flush()
    elif ids is not None:
        dept.openids = ids
    audit.record(
        session,
        actor=actor,
        action="department.add" if made else "department.update",
        target=f"department:{dept.id}",
        detail={"name": name, "openids": len(dept.openids or [])},
    )
    return dept, made


def of_township(session: Session, township_id: int | None, *, active_only: bool = True) -> list[Department]:
    """The departments of a township (None: every township's), by name."""
    stmt = select(Department).order_by(Department.township_id, Department.name)
    if township_id is not None:
        stmt = stmt.where(Department.township_id == township_id)
    if active_only:
        stmt = stmt.where(Department.active.is_(True))
    return list(session.scalars(stmt))


def by_name(session: Session, township_id: int, name: str) -> Department:
    """The township's department called ``name`` (as typed: full-width forms and spaces allowed), or StationError
    naming the township's departments."""
    wanted = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))
    dept = session.scalar(
        select(Department).where(
            Department.township_id == township_id, Department.name == wanted, Department.active.is_(True)
        )
    )
    if dept is None:
        raise StationError(f"没有名为「{name}」的部门；本镇的部门有：{names_text(session, township_id)}")
    return dept


def match(session: Session, township_id: int, word: str) -> Department | None:
    """The department a cadre means by ``word`` in chat: its exact name, or the one department whose name begins
    with it or that it begins with (民政 → 民政办; 民政办公室 → 民政办). None when there is none or several."""
    wanted = re.sub(r"\s+", "", unicodedata.normalize("NFKC", word or ""))
    if not wanted:
        return None
    depts = of_township(session, township_id)
    exact = [d for d in depts if d.name == wanted]
    if exact:
        return exact[0]
    near = [d for d in depts if d.name.startswith(wanted) or wanted.startswith(d.name)]
    return near[0] if len(near) == 1 else None


def names_text(session: Session, township_id: int) -> str:
    """The township's departments as one line for a refusal: 民政办、司法所 (or a note that there are none)."""
    names = [d.name for d in of_township(session, township_id)]
    return "、".join(names) if names else "（尚未设置，请办公室先添加）"


def summary(session: Session, township_id: int | None) -> list[dict[str, object]]:
    """Each department with its counts: console accounts, staff WeChat accounts, requests open with it now."""
    depts = of_township(session, township_id, active_only=False)
    ids = [d.id for d in depts]
    accounts: dict[int | None, int] = dict(
        session.execute(
            select(ConsoleUser.department_id, func.count())
            .where(ConsoleUser.department_id.in_(ids), ConsoleUser.active.is_(True))
            .group_by(ConsoleUser.department_id)
        )
        .tuples()
        .all()
    )
    open_now: dict[int, int] = dict(
        session.execute(
            select(RequestTransfer.department_id, func.count())
            .where(RequestTransfer.department_id.in_(ids), RequestTransfer.status == "open")
            .group_by(RequestTransfer.department_id)
        )
        .tuples()
        .all()
    )
    return [
        {
            "department": d,
            "accounts": int(accounts.get(d.id, 0)),
            "openids": len(d.openids or []),
            "open": int(open_now.get(d.id, 0)),
        }
        for d in depts
    ]
