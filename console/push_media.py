"""``/m/<token>/media/<id>``: the photo or voice of a villager's request, for whoever holds the request's link.

Outside the 48-hour window a villager's photo or voice cannot be forwarded to the cadre as itself (a
customer-service message); the request's template message links to ``/m/<token>`` (console/push_links.py),
which shows the photo and plays the voice from here: the same token, only that request's attachments, the
voice as MP3 (WeChat's AMR plays in no browser; reminders/media.playable_voice), sent ``Cache-Control:
private`` (a phone may keep it, no proxy may), never indexed, no referrer. Unknown, expired or foreign → 404;
where pages open for their recipient only (web OAuth, console/push_links.py), so do their media.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, send_file

from console.push_links import viewer_may_see
from reminders.media import PLAYABLE_TYPE, playable_voice
from storage.models import Attachment
from storage.push_links import find_link

bp = Blueprint("push_media", __name__)

SHOWN = ("image", "voice")  # as console.push_links.request_media lists them


@bp.get("/m/<token>/media/<int:att_id>")
def media(token: str, att_id: int) -> Any:
    lx = current_app.config["LIANXIN"]
    with lx.read_session() as s:
        link = find_link(s, token, lx.now())
        if link is None or link.request_id is None or not viewer_may_see(link, lx.now()):
            abort(404)  # a recipient-bound page's media are the recipient's too
        att = s.get(Attachment, att_id)
        if (
            att is None
            or att.owner_type != "request"
            or att.owner_id != link.request_id
            or att.media_type not in SHOWN
            or not att.stored_path
        ):
            abort(404)
        stored, ctype, kind = Path(att.stored_path), (att.content_type or ""), att.media_type
    if not stored.is_file():
        abort(404)
    if kind == "voice":
        playable, _why = playable_voice(stored, ctype.split(";")[0].strip().lower())
        if playable is None:
            abort(404)
        stored, ctype = playable, PLAYABLE_TYPE if playable.suffix == ".mp3" else ctype
    resp = send_file(stored, mimetype=ctype or "application/octet-stream", conditional=True)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp
