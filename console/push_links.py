"""``/m/<token>``: the whole message behind a template message, for its recipient (issue 21 item 3).

Deliberately outside the console's areas (and their login guard: console/areas.py) and linking nowhere else: the page shows the
one message the token was made for (storage.push_links) — for a villager's request its thread and how to
answer — readable on a phone, and nothing more. What keeps it its recipient's:

- **The viewer is the recipient.** Where the deployment has its WeChat credentials (``app.config["PAGE_OAUTH"]``,
  bot/wechat/oauth.py), an opening without a known viewer goes through WeChat's web OAuth (``snsapi_base``:
  silent, no prompt) and comes back with a code that gives the viewer's openid. The openid is kept in the
  browser's session (signed cookie, for ``VIEWER_HOURS``) and the page is shown only when it is the link's;
  anyone else — a forwarded link opened in another WeChat — gets a page with nothing personal, and the
  opening is counted as refused. The OAuth ``state`` is tied to the session (no one can make another's
  browser adopt their openid), and a code is used once, then the page reloads without it. Without
  credentials (a trial deployment) the link alone opens the page, with everything below still holding.
- **The link dies** after ``[wechat] push_link_days`` and when its recipient's account is unlinked or released
  (storage.push_links.revoke_links_for); a dead, unknown or malformed link gets one plain page for villagers.
- **Every opening is counted** (first, last, how many) and shown to the office where the push is listed.
- **Numbers are masked**: phone- and ID-number-like digit runs (storage.redact) and any service card's number.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Protocol

from flask import Blueprint, current_app, redirect, render_template, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.cards import mask_card_numbers
from storage.models import Attachment, PushLink, RequestReply, VillagerRequest, WechatIdentity
from storage.push_links import find_link, link_state, record_view
from storage.redact import mask_personal_numbers

bp = Blueprint("push_links", __name__, template_folder="templates")

TITLES = {"task": "督办卡", "reminder": "提醒", "request": "群众诉求", "reply": "诉求答复", "notice": "通知"}
VIEWER_HOURS = 24  # a viewer recognised by WeChat is believed this long in that browser


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


class PageOAuth(Protocol):
    """WeChat's web OAuth as the transport offers it (bot/wechat/oauth.py)."""

    def authorize_url(self, redirect_uri: str, state: str) -> str: ...

    def openid(self, code: str) -> str | None: ...


def _private(page: Any, status: int = 200) -> Any:
    resp = current_app.make_response((page, status))
    # Nobody else's business: no caching by proxies, no referrer leaking the token, not indexed.
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp


def _masked(s: Session, texts: list[str]) -> list[str]:
    """Phone- and ID-like runs masked; so is any service card's number (a villager may have typed theirs into a
    request), however it was written."""
    return [mask_personal_numbers(mask_card_numbers(s, t or "")) for t in texts]


def viewer_may_see(link: PushLink, now: datetime) -> bool:
    """Whether this browser may see ``link``'s page and media: no web OAuth configured (the link alone opens
    it), or WeChat told us this browser is the link's recipient (``show`` below)."""
    return current_app.config.get("PAGE_OAUTH") is None or _viewer(now) == link.openid


def _viewer(now: datetime) -> str | None:
    seen = session.get("m_viewer")
    if not isinstance(seen, dict) or not seen.get("openid"):
        return None
    if now.timestamp() - float(seen.get("at", 0)) > VIEWER_HOURS * 3600:
        return None
    return str(seen["openid"])


def _page(s: Session, link: PushLink, lx: Any, token: str) -> Any:
    tz = lx.config.tz
    thread: dict[str, Any] | None = None
    texts = [link.text]
    if link.request_id is not None:
        req = s.get(VillagerRequest, link.request_id)
        if req is not None:
            # The thread as it stood when the push was made: a link shows that one message, never what is
            # added later (the account that holds it may have been unlinked, the request moved).
            replies: list[RequestReply] = [r for r in req.replies if r.created_at <= link.created_at]
            texts += [req.text, *(r.text for r in replies)]
            thread = {
                "number": req.number,
                "category": req.category,
                "at": req.created_at.astimezone(tz),
                "status": req.status,
                "replies": [r.created_at.astimezone(tz) for r in replies],
                # the request's photo and voice, shown and played from /m/<token>/media/<id> (push_media.py)
                "media": request_media(s, req.id),
            }
    shown = _masked(s, texts)
    if thread is not None:
        thread["text"] = shown[1]
        thread["replies"] = list(zip(thread["replies"], shown[2:], strict=True))
    return render_template(
        "push/link.html",
        title=TITLES.get(link.kind, "消息"),
        kind=link.kind,
        text=shown[0],
        at=link.created_at.astimezone(tz),
        thread=thread,
        expires=link.expires_at.astimezone(tz),
        token=token,
    )


@bp.get("/m/<token>")
def show(token: str) -> Any:
    lx = current_app.config["LIANXIN"]
    oauth: PageOAuth | None = current_app.config.get("PAGE_OAUTH")
    now = lx.now()
    with lx.read_session() as s:  # WeChat's OAuth answer is awaited outside any writing transaction
        link = find_link(s, token, now)
        recipient = link.openid if link is not None else None
    if recipient is None:
        return _private(render_template("push/link_gone.html"), 404)
    if oauth is None or _viewer(now) == recipient:
        with lx.session() as s:
            link = find_link(s, token, now)
            if link is None:  # revoked meanwhile
                return _private(render_template("push/link_gone.html"), 404)
            record_view(s, link, now=now)
            return _private(_page(s, link, lx, token))
    code, state = request.args.get("code"), request.args.get("state") or ""
    if not code:
        state = secrets.token_hex(16)
        session["m_state"] = state
        return redirect(oauth.authorize_url(f"{lx.config.public_url}/m/{token}", state))
    expected = session.pop("m_state", None)
    viewer = oauth.openid(code) if expected and secrets.compare_digest(state, expected) else None
    if viewer is None:  # a used or stale code, or a state this browser did not start: open it afresh
        return _private(render_template("push/link_retry.html", path=f"/m/{token}"), 403)
    session["m_viewer"] = {"openid": viewer, "at": now.timestamp()}
    if viewer != recipient:
        with lx.session() as s:
            link = find_link(s, token, now)
            if link is not None:
                record_view(s, link, now=now, refused=True)
        return _private(render_template("push/link_not_yours.html"), 403)
    return redirect(f"/m/{token}")  # the same page without the code in the address bar


def link_rows(s: Session, rows: list[PushLink], now: datetime) -> list[dict[str, Any]]:
    """What the office sees of pushes' links (the request's page, 推送问题): to whom, when, until when, in what
    state, how often its recipient opened it (first, last) and how often someone else tried."""
    idents = (
        {
            i.openid: i
            for i in s.scalars(
                select(WechatIdentity).where(WechatIdentity.openid.in_({r.openid for r in rows}))
            )
        }
        if rows
        else {}
    )

    def to(openid: str) -> str:
        i = idents.get(openid)
        if i is not None and i.kind == "cadre" and i.cadre is not None:
            return f"干部 {i.cadre.name}"
        if i is not None and i.kind == "villager" and i.household is not None:
            return f"群众 {i.household.head_name}户"
        return f"账号 {openid[:6]}…（已解除或办公室）"

    return [
        {
            "kind": TITLES.get(r.kind, r.kind),
            "to": to(r.openid),
            "created": r.created_at,
            "expires": r.expires_at,
            "state": {"revoked": "已撤销", "expired": "已过期", "live": "有效"}[link_state(r, now)],
            "views": r.views or 0,
            "first": r.first_viewed_at,
            "last": r.last_viewed_at,
            "refused": r.refused_views or 0,
        }
        for r in rows
    ]
