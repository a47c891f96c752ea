"""``/m/<token>``: the whole message behind a template message, for whoever holds the link (no login).

Deliberately outside the console blueprint (and its login guard) and linking nowhere else: the page shows the
one message the token was made for (storage.push_links) — for a villager's request its thread and how to
answer — readable on a phone, and nothing more. An unknown or expired token gets the same 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Attachment, RequestReply, VillagerRequest
from storage.push_links import find_link

links = Blueprint("push_links", __name__, template_folder="templates")

TITLES = {"task": "督办卡", "reminder": "提醒", "request": "群众诉求", "reply": "诉求答复", "notice": "通知"}


def request_media(session: Session, request_id: int) -> list[dict[str, Any]]:
    """The photos and voice of request ``request_id`` for its page (console/push_media.py serves them): id,
    kind, and whether the file is here yet (it is fetched from WeChat within minutes of arriving)."""
    rows = session.scalars(
        select(Attachment)
        .where(
            Attachment.owner_type == "request",
            Attachment.owner_id == request_id,
            Attachment.media_type.in_(("image", "voice")),
        )
        .order_by(Attachment.id)
    )
    return [{"id": a.id, "kind": a.media_type, "ready": bool(a.stored_path)} for a in rows]


@links.get("/m/<token>")
def show(token: str) -> Any:
    lx = current_app.config["LIANXIN"]
    now = lx.now()
    with lx.sessions() as s:
        link = find_link(s, token, now)
        if link is None:
            abort(404)
        thread = None
        if link.request_id is not None:
            req = s.get(VillagerRequest, link.request_id)
            if req is not None:
                # The thread as it stood when the push was made: a link shows that one message, never what is
                # added later (the account that holds it may have been unlinked, the request moved).
                replies: list[RequestReply] = [r for r in req.replies if r.created_at <= link.created_at]
                thread = {
                    "number": req.number,
                    "text": req.text,
                    "category": req.category,
                    "at": req.created_at.astimezone(lx.config.tz),
                    "status": req.status,
                    "replies": [(r.created_at.astimezone(lx.config.tz), r.text) for r in replies],
                    # the request's photo and voice, shown and played from /m/<token>/media/<id>
                    "media": request_media(s, req.id),
                }
        page = render_template(
            "push/link.html",
            title=TITLES.get(link.kind, "消息"),
            kind=link.kind,
            text=link.text,
            at=link.created_at.astimezone(lx.config.tz),
            thread=thread,
            expires=link.expires_at.astimezone(lx.config.tz),
            token=token,
        )
    resp = current_app.make_response(page)
    # Nobody else's business: no caching by proxies, no referrer leaking the token, not indexed.
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp
