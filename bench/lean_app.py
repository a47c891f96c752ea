"""The lean path of issue 27: a cadre's text diary on lianxin's own tables with nothing but what it needs, to
measure beside `lianxin serve` (bench/inbound.py --targets …,lean) and see what the product's layers cost.

    LEAN_DB_URL=sqlite:////tmp/x.db .venv/bin/gunicorn -w 2 -k bot.workers.TakeTurnsWorker --threads 4 \
        --pythonpath . --chdir bench lean_app:app

A bare WSGI function (no Flask, no werobot, no ORM session, no dispatcher) doing the same work for the same
message as lianxin's diary path, statement for statement (bench/statements.py: 8 on SQLite): the signature and
its time window, the body's size, defusedxml; under the same SQLite writer lock, one transaction of BEGIN
IMMEDIATE, the signed query claimed, the inbound row inserted or skipped (a retry answers the stored reply), the
identity's 48-hour window opened RETURNING who it is, the diary row inserted RETURNING the month's other days,
the cadre's names searched for mentions (same query and matching as storage/ledger/mentions.py), the outcome
written, COMMIT; the reply XML. What it leaves out, and what lianxin does there: keyword parsing and routing
(any text here is a diary), conversation states and pending forms, roles (a villager's message would be taken
for a diary: the bench sends only cadres'), mention rows (the bench's texts name nobody), voice and
attachments, paging of long replies, failure handling beyond a rollback, Jinja templates, logging.
Not part of the product; `pip install .` does not ship bench/.
"""

from __future__ import annotations

import fcntl
import hmac
import os
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update

from bot.dispatch import _OPEN_USER_WINDOW, _sqlite_lock_fd, _sqlite_writer
from bot.wechat.inbound import parse_xml, sign
from handlers.diary import _INSERT_DIARY
from storage import service_window, wechat_edge
from storage.db import insert_or_skip, make_engine
from storage.ledger.mentions import _CADRE_NAMES, named_households
from storage.models import InboundMessage
from storage.periods import last_day_of_month

TOKEN = os.environ.get("LEAN_TOKEN", "bench-token")
ENGINE = make_engine(os.environ["LEAN_DB_URL"])
SQLITE_PATH = ENGINE.url.database if ENGINE.dialect.name == "sqlite" else None
TOLERANCE = 300
MAX_BODY = 64 * 1024
LOCAL = ZoneInfo("Asia/Shanghai")

_INBOUND = InboundMessage.__table__
_INSERT_INBOUND = insert_or_skip(_INBOUND, "dedup_key")
_STORED_REPLY = select(_INBOUND.c.status, _INBOUND.c.reply).where(_INBOUND.c.dedup_key == bindparam("k"))
_OUTCOME = (
    update(_INBOUND)
    .where(_INBOUND.c.id == bindparam("b_id"))
    .values(status="handled", reply=bindparam("b_r"))
)
_WINDOW = service_window.USER_MESSAGE.length


def _answer(start_response: Callable[..., Any], status: str, body: str, ctype: str) -> list[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data)))])
    return [data]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    ts, nonce, signature = q.get("timestamp", ""), q.get("nonce", ""), q.get("signature", "")
    if not (ts and nonce and signature) or not hmac.compare_digest(sign(TOKEN, ts, nonce), signature):
        return _answer(start_response, "403 Forbidden", "forbidden", "text/plain")
    now = datetime.now(UTC)  # real time: a benchmark's server
    if not ts.isdigit() or abs(now.timestamp() - int(ts)) > TOLERANCE:
        return _answer(start_response, "403 Forbidden", "forbidden", "text/plain")
    if environ["REQUEST_METHOD"] == "GET":
        return _answer(start_response, "200 OK", q.get("echostr", ""), "text/plain")
    body = environ["wsgi.input"].read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _answer(start_response, "400 Bad Request", "bad request", "text/plain")
    fields = parse_xml(body)
    claim = wechat_edge.QueryClaim(
        query=wechat_edge.query_hash(ts, nonce, signature),
        body=wechat_edge.body_hash(fields),
        expires_at=datetime.fromtimestamp(int(ts) + TOLERANCE, tz=UTC),
    )
    if SQLITE_PATH is None:
        reply = _diary(fields, claim, now)
    else:
        with _sqlite_writer:
            fd = _sqlite_lock_fd(SQLITE_PATH)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                reply = _diary(fields, claim, now)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    if reply is None:
        return _answer(start_response, "200 OK", "success", "text/plain")
    xml = (
        f"<xml><ToUserName><![CDATA[{fields['FromUserName']}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields.get('ToUserName', '')}]]></FromUserName>"
        f"<CreateTime>{int(now.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{reply.replace(']]>', ']]]]><![CDATA[>')}]]></Content></xml>"
    )
    return _answer(start_response, "200 OK", xml, "application/xml")


def _diary(fields: dict[str, str], claim: wechat_edge.QueryClaim, now: datetime) -> str | None:
    openid = fields["FromUserName"]
    created = datetime.fromtimestamp(int(fields["CreateTime"]), tz=UTC)
    text = fields.get("Content", "").strip()
    with ENGINE.connect() as conn, conn.begin() as tx:
        if (
            conn.execute(
                wechat_edge._INSERT,
                {"query_hash": claim.query, "body_hash": claim.body, "expires_at": claim.expires_at},
            ).scalar()
            is None
        ):
            if conn.execute(wechat_edge._BODY, {"q": claim.query}).scalar() != claim.body:
                tx.rollback()
                return None
        key = f"msg:{fields['MsgId']}"
        inbound_id = conn.execute(
            _INSERT_INBOUND,
            {"dedup_key": key, "openid": openid, "msg_type": "text", "event": None, "content": text,
             "media_id": None, "create_time": created, "received_at": now, "status": "received",
             "reply": None, "error": None, "transport": "plain"},
        ).scalar()  # fmt: skip
        if inbound_id is None:
            stored = conn.execute(_STORED_REPLY, {"k": key}).first()
            tx.rollback()
            return stored.reply if stored is not None and stored.status != "received" else None
        who = conn.execute(
            _OPEN_USER_WINDOW, {"b_openid": openid, "b_now": now, "b_until": now + _WINDOW}
        ).first()
        if who is None or who.kind != "cadre":
            raise RuntimeError("the lean path only knows bound cadres")
        day = created.astimezone(LOCAL).date()
        first, last = day.replace(day=1), last_day_of_month(day.year, day.month)
        row = conn.execute(
            _INSERT_DIARY,
            {"cadre_id": who.cadre_id, "day": day, "text": text, "source": "text", "entered_by": None,
             "media_id": None, "role": None, "created_at": now, "inbound_id": inbound_id, "deleted_at": None,
             "b_cadre": who.cadre_id, "b_day": day, "b_first": first, "b_last": last},
        ).one()  # fmt: skip
        rows = conn.execute(_CADRE_NAMES, {"b_cadre": who.cadre_id}).all()
        found = named_households(rows, unicodedata.normalize("NFKC", text))
        named = [name for hid, name, _ in rows if hid in found]
        reply = f"已记入{day.month}月{day.day}日的民情日记（本月第 {row.other_days + 1} 天）。" + (
            f"提到：{'、'.join(named)}" if named else ""
        )
        conn.execute(_OUTCOME, {"b_id": inbound_id, "b_r": reply})
    return reply
