"""WeChat's late word on a template message it accepted: the ``TEMPLATESENDJOBFINISH`` event.

message/template/send answering errcode 0 means WeChat took the message, not that the phone showed it; the event
says how it ended. Its MsgID is the msgid template/send answered (kept on the outbox row as ``wechat_msgid``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import OutboxMessage
from storage.tasks import mark_undelivered

# WeChat's late answer about a template message it accepted (errcode 0): the TEMPLATESENDJOBFINISH event, its
# MsgID the msgid template/send answered and its Status "success", "failed:user block" (the user switched off
# the account's messages) or "failed:system failed" (failed for another reason) — the 事件推送 section of
# https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html (mirrored
# at blog.csdn.net/chaihuasong/article/details/116903463) — and, seen in the developers' community but not in
# the documentation, "failed:freq limit" (doc/000ecccb7cc1b0060da1f5ee86f400 shows the event's shape).
TEMPLATE_JOB_FINISHED = "TEMPLATESENDJOBFINISH"
USER_BLOCK = "failed:user block"


def template_job_finished(session: Session, *, openid: str, msgid: str, status: str) -> OutboxMessage | None:
    """Record a TEMPLATESENDJOBFINISH event on the push it concerns (by WeChat's msgid and the recipient):
    ``failed:user block`` → ``refused`` (the person refuses messages), any other ``failed:…`` → ``failed`` (the
    office can send it again), a card's push no longer counts as delivered. Returns the row changed, or None
    (success, an unknown msgid, a row already settled)."""
    status = (status or "").strip()
    if not status.startswith("failed") or not msgid:
        return None
    row = session.scalar(
        select(OutboxMessage).where(OutboxMessage.wechat_msgid == msgid, OutboxMessage.openid == openid)
    )
    if row is None or row.status != "sent":
        return None
    row.status = "refused" if status == USER_BLOCK else "failed"
    row.last_error = f"{TEMPLATE_JOB_FINISHED} {status}（微信事后报告未送达）"
    mark_undelivered(session, row)
    return row
