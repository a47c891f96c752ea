"""A 动员会's notice (storage/meetings.py says who is told): one push of kind notice per villager account bound
to a linked household of the village, and one to each cadre naming their linked households that have no account
(the cadre tells them). Idempotent: the outbox key is the meeting's and the recipient's, so a second notify
queues nothing new. Used by ``lianxin meeting add --notify`` and the console's register page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from handlers.render import render
from storage import meetings
from storage.config import Config
from storage.models import VillageMeeting
from storage.outbox import enqueue, push_time
from storage.tasks.base import cadre_openids


@dataclass(frozen=True)
class Notified:
    villagers: int  # pushes queued now to villager accounts
    cadres: int  # pushes queued now to cadres (households without an account)
    first: bool  # the meeting had not been notified before


def notify(session: Session, meeting: VillageMeeting, *, config: Config, now: datetime) -> Notified:
    who = meetings.audience(session, meeting.village_id)
    values = {
        "title": meeting.title,
        "text": f"{meeting.village.name} {meeting.day.month}月{meeting.day.day}日",
        "time": push_time(now, config.tz),
    }
    text = render("meeting_notice", meeting=meeting)
    villagers = sum(
        enqueue(
            session,
            openid=openid,
            kind="notice",
            text=text,
            key=f"meeting:{meeting.id}:{openid}",
            template=values,
        )
        for openid in who.openids
    )
    cadres = 0
    for cadre_id, households in who.untold.items():
        for openid in cadre_openids(session, cadre_id)[:1]:
            cadres += enqueue(
                session,
                openid=openid,
                kind="notice",
                text=render("meeting_notice_cadre", meeting=meeting, households=households),
                key=f"meeting:{meeting.id}:cadre:{cadre_id}",
                template={**values, "text": f"请转告 {len(households)} 户"},
            )
    return Notified(villagers, cadres, meetings.mark_notified(meeting, now))
