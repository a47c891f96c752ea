"""The cadres over a year (issue 24 items 1–3): listed, found by phone, made on the spot as a successor, retired,
their phone changed, their name and post corrected. The CLI (bot/cli/cadres.py) and the cadre's console page
(console/views/cadres.py) call these; each change is audited. Functions take ``session`` and never commit.

Retiring (``retire``): refused while the cadre has households (hand them over first, storage/handover.py); then
``active`` is false and ``retired_on`` says from which day: the reminders, ``--to all`` cards and the console's
pickers read ``active``; reports leave them out of periods that start on or after ``retired_on``
(storage/assessment/queries.py); their open cards not yet due are withdrawn, their WeChat account released (and
told), their unused binding codes void. Their history stays and is readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import accounts
from storage.audit import record
from storage.models import Cadre, Household, Link, Village, WechatIdentity
from storage.outbox import enqueue
from storage.register import in_programme
from storage.tasks.handover import withdraw_open

PHONE = re.compile(r"1\d{10}|0\d{9,11}|\d{7,8}")
"""A mainland mobile (11 digits from 1), a fixed line with its area code, or a local fixed line."""

RetiredWords = Callable[[Cadre], str]
"""The released account's push: 'you retired, this WeChat no longer gets …', written by the caller."""


class CadreError(ValueError):
    """A cadre change that cannot be done (said in Chinese); nothing changed."""


def find(session: Session, phone: str) -> Cadre:
    """The cadre with this phone (CadreError when none)."""
    cadre = session.scalar(select(Cadre).where(Cadre.phone == accounts.normalize_phone(phone)))
    if cadre is None:
        raise CadreError(f"没有电话为 {phone} 的干部")
    return cadre


def valid_phone(raw: str) -> str:
    """The phone normalised (CadreError when it is not one)."""
    phone = accounts.normalize_phone(raw)
    if not PHONE.fullmatch(phone):
        raise CadreError(f"电话 {raw} 不是有效的电话号码")
    return phone


def households_looked_after(session: Session, cadre_ids: Iterable[int] | None = None) -> dict[int, int]:
    """How many households each cadre (of ``cadre_ids``, or every cadre) links now; a closed household is no
    longer looked after. Cadres without one are absent. The CLI's list and the console's 干部 page show this."""
    stmt = (
        select(Link.cadre_id, func.count())
        .join(Household, Household.id == Link.household_id)
        .where(in_programme())
        .group_by(Link.cadre_id)
    )
    if cadre_ids is not None:
        stmt = stmt.where(Link.cadre_id.in_(list(cadre_ids)))
    return dict(session.execute(stmt).tuples().all())


def bound_cadres(session: Session, cadre_ids: Iterable[int] | None = None) -> set[int]:
    """Which cadres (of ``cadre_ids``, or every cadre) have a WeChat account bound."""
    stmt = select(WechatIdentity.cadre_id).where(
        WechatIdentity.kind == "cadre", WechatIdentity.cadre_id.is_not(None)
    )
    if cadre_ids is not None:
        stmt = stmt.where(WechatIdentity.cadre_id.in_(list(cadre_ids)))
    return {cadre_id for cadre_id in session.scalars(stmt) if cadre_id is not None}


def listing(session: Session, village: str | None = None) -> list[dict[str, object]]:
    """The cadres (of one village, by name), with their households, whether a WeChat is bound and their status."""
    counts = households_looked_after(session)
    bound = bound_cadres(session)
    q = select(Cadre).outerjoin(Village, Village.id == Cadre.village_id).order_by(Cadre.name, Cadre.phone)
    if village:
        q = q.where(Village.name == village)
    return [
        {
            "name": c.name,
            "phone": c.phone,
            "post": c.post or "",
            "village": c.village.name if c.village else "",
            "households": counts.get(c.id, 0),
            "bound": c.id in bound,
            "status": "active" if c.active else "retired",
            "retired_on": c.retired_on.isoformat() if c.retired_on else None,
        }
        for c in session.scalars(q)
    ]


def successor(
    session: Session,
    phone: str,
    *,
    name: str | None,
    post: str | None,
    village: str | None,
    like: Cadre,
    actor: str,
) -> tuple[Cadre, bool]:
    """The cadre with ``phone``, or a new one made from ``name``/``post``/``village`` (the village of ``like``, the
    cadre handing over, when none is named). Returns (cadre, made now)."""
    number = valid_phone(phone)
    cadre = session.scalar(select(Cadre).where(Cadre.phone == number))
    if cadre is not None:
        return cadre, False
    if not name or not name.strip():
        raise CadreError(f"电话 {phone} 还不是干部：请用 --name（及 --post、--village）说明新干部")
    village_row = like.village
    if village:
        village_row = session.scalar(
            select(Village).where(Village.name == village.strip(), Village.township_id == like.township_id)
        )
        if village_row is None:
            raise CadreError(f"本乡镇没有名为 {village} 的村")
    cadre = Cadre(
        name=name.strip(),
        phone=number,
        post=(post or "").strip() or None,
        village_id=village_row.id if village_row else None,
        township_id=like.township_id,
    )
    session.add(cadre)
    session.flush()
    record(session, actor=actor, action="cadre.add", target=f"cadre:{cadre.id}", detail={"name": cadre.name})
    return cadre, True


@dataclass
class Retired:
    """What retiring did."""

    cards_withdrawn: list[int] = field(default_factory=list)
    accounts_released: int = 0
    codes_voided: int = 0


def retire(
    session: Session, cadre: Cadre, *, on: date, actor: str, now: datetime, words: RetiredWords
) -> Retired:
    """Retire ``cadre`` from day ``on`` (the module says what follows). Refused while they have households."""
    if not cadre.active:
        raise CadreError(f"干部 {cadre.name} 已于 {cadre.retired_on or ''} 退出")
    left = (
        session.scalar(
            select(func.count())
            .select_from(Link)
            .join(Household, Household.id == Link.household_id)
            .where(Link.cadre_id == cadre.id, in_programme())  # closed households stay with their history
        )
        or 0
    )
    if left:
        raise CadreError(
            f"干部 {cadre.name} 还联系着 {left} 户农户，请先交接（lianxin cadre handover {cadre.phone} --to …）"
        )
    cadre.active, cadre.retired_on = False, on
    done = Retired(cards_withdrawn=withdraw_open(session, cadre.id, now))
    released = accounts.release_cadre_accounts(session, cadre_id=cadre.id, now=now)
    accounts.release_bindings(session, now=now, why="retired", cadre_id=cadre.id)
    done.accounts_released = len(released)
    done.codes_voided = accounts.void_bind_codes(session, cadre_id=cadre.id, now=now)
    for account in released:
        enqueue(
            session,
            openid=account.openid,
            kind="notice",
            text=words(cadre),
            key=f"cadre-retired:c{cadre.id}:{account.openid}",
        )
    record(
        session,
        actor=actor,
        action="cadre.retire",
        target=f"cadre:{cadre.id}",
        detail={
            "retired_on": on.isoformat(),
            "cards_withdrawn": done.cards_withdrawn,
            "accounts_released": [a.openid for a in released],
            "codes_voided": done.codes_voided,
        },
    )
    session.flush()
    return done


def new_phone(session: Session, cadre: Cadre, new: str) -> str:
    """``new`` as the cadre's next phone, normalised; CadreError when it is not a phone, is already theirs, or
    is another cadre's (phones are unique in the county). The console's confirmation step asks this too."""
    number = valid_phone(new)
    if number == cadre.phone:
        raise CadreError(f"干部 {cadre.name} 的电话已是 {number}")
    other = session.scalar(select(Cadre).where(Cadre.phone == number))
    if other is not None:
        raise CadreError(f"电话 {number} 已是干部 {other.name} 的电话，全县干部电话不能重复")
    return number


def change_phone(session: Session, cadre: Cadre, new: str, *, actor: str) -> str:
    """The cadre's phone becomes ``new`` (refused as ``new_phone`` says); returns the old one. Households,
    binding and history stay: they hang on the cadre, not the phone."""
    number = new_phone(session, cadre, new)
    old, cadre.phone = cadre.phone, number
    record(
        session,
        actor=actor,
        action="cadre.phone",
        target=f"cadre:{cadre.id}",
        detail={"old": old, "new": number},
    )
    session.flush()
    return old


def correct(session: Session, cadre: Cadre, *, name: str, post: str, actor: str) -> list[str]:
    """Correct the cadre's name and post; returns what changed (field names). A blank name is refused."""
    name, post = name.strip(), post.strip()
    if not name:
        raise CadreError("干部姓名不能为空")
    changed: dict[str, list[str | None]] = {}
    if name != cadre.name:
        changed["name"], cadre.name = [cadre.name, name], name
    if (post or None) != cadre.post:
        changed["post"], cadre.post = [cadre.post, post or None], post or None
    if changed:
        record(session, actor=actor, action="cadre.edit", target=f"cadre:{cadre.id}", detail=changed)
        session.flush()
    return sorted(changed)
