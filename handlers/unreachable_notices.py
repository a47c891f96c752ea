"""The office is told when someone's WeChat stops receiving our pushes: a cadre who unfollowed (the
``unsubscribe`` event), anyone who switched off the account's messages (48002 or 43101 on a send, a
``TEMPLATESENDJOBFINISH`` event ``failed:user block``). Once: the unfollow once per event, a refusal once a day
and person at most (a person who refuses but keeps writing to us would otherwise bring a notice per message).

Used by the chat (handlers/events.py) and by delivery (reminders/delivery.py), so both say the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.render import render
from storage.config import Config
from storage.models import Cadre, Household, WechatIdentity
from storage.outbox import enqueue
from storage.tasks import office_recipients


def _offices(session: Session, config: Config, cadre: Cadre | None) -> list[str]:
    sched = config.scheduler
    return office_recipients(
        session,
        sched.office_openids,
        township_id=cadre.township_id if cadre is not None else None,
        by_township=sched.township_office_openids,
    )


def cadre_unreachable(
    session: Session, ident: WechatIdentity, cadre: Cadre, *, unfollowed: bool, config: Config, now: datetime
) -> None:
    """A cadre's WeChat gets nothing now; their villagers' requests go to the office from now on."""
    text = render("cadre_unreachable_notice", cadre=cadre, unfollowed=unfollowed)
    stamp = int(now.timestamp()) if unfollowed else now.astimezone(config.tz).date().isoformat()
    for openid in _offices(session, config, cadre):
        if openid == ident.openid:
            continue
        enqueue(
            session,
            openid=openid,
            kind="notice",
            text=text,
            key=f"cadre-unreachable:{ident.openid}:{stamp}:{openid}",
            template={"title": f"{cadre.name}的微信无法接收", "text": "其联系户诉求将转给办公室"},
        )


def refuses_messages(
    session: Session, ident: WechatIdentity, *, reason: str, config: Config, now: datetime
) -> None:
    """``ident`` switched off the account's messages: the office is told (once a day at most) whom to phone."""
    cadre = session.get(Cadre, ident.cadre_id) if ident.cadre_id else None
    if cadre is not None:
        cadre_unreachable(session, ident, cadre, unfollowed=False, config=config, now=now)
        return
    household = session.get(Household, ident.household_id) if ident.household_id else None
    text = render("refused_notice", household=household, reason=reason)
    day = now.astimezone(config.tz).date().isoformat()
    for openid in _offices(session, config, None):
        if openid == ident.openid:
            continue
        enqueue(
            session,
            openid=openid,
            kind="notice",
            text=text,
            key=f"refused:{ident.openid}:{day}:{openid}",
            template={
                "title": f"{household.head_name}户拒收消息" if household else "有用户拒收消息",
                "text": "请电话联系",
            },
        )
