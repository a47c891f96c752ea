"""The /wechat route: the order of checks (see bot/wechat/inbound.py; one method of ``Endpoint`` each), then
bot.dispatch handles the message once.

Also ``post_signed``: one message POSTed to this route the way WeChat sends it, for the console's chat
simulator (injected by bot.app.create_app, so the console need not import bot).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from werkzeug.wrappers import Request, Response

from bot import dispatch
from bot.wechat.inbound import (
    BadRequest,
    CannotDecrypt,
    Forbidden,
    SafeMode,
    message_xml,
    parse_xml,
    reply_xml,
    sign,
    signed_query,
    to_message,
)
from handlers import policy
from storage import wechat_edge
from storage.runtime import Lianxin

log = logging.getLogger("lianxin.bot.wechat")


def register(app: Flask, lx: Lianxin) -> None:
    """Mount /wechat on ``app`` (GET: WeChat's URL check; POST: a message).

    The route is in Flask's URL map (other methods are its 405, ``url_for`` knows it), but GET and POST are
    answered in front of Flask (``WechatFirst``): a message is the one request that comes by the thousand, and
    Flask's request context, cookie session and after-request hooks were a quarter of its Python time
    (bench/layers.py, issue 27) for nothing the route uses."""
    policy.warm_up()  # jieba's dictionary loads here, not inside WeChat's 5-second budget
    endpoint = Endpoint(lx)
    app.add_url_rule("/wechat", "wechat_endpoint", lambda: endpoint.serve(request), methods=["GET", "POST"])
    app.wsgi_app = WechatFirst(app.wsgi_app, endpoint)  # type: ignore[method-assign]


# What the console's after-request hook gives every page (console/web.py security_headers), for the answers
# given in front of Flask: no framing, no sniffing, nothing cached by a shared cache, nothing to load.
_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "private"),
)


class WechatFirst:
    """WSGI middleware: GET and POST /wechat go straight to the endpoint, everything else to Flask."""

    def __init__(self, flask_wsgi: Any, endpoint: Endpoint) -> None:
        self.flask_wsgi = flask_wsgi
        self.endpoint = endpoint

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/wechat" or environ.get("REQUEST_METHOD") not in ("GET", "POST"):
            return self.flask_wsgi(environ, start_response)
        try:
            resp = self.endpoint.serve(Request(environ))
        except Exception:  # noqa: BLE001 - as Flask would: logged, and a 500 for WeChat to retry
            log.exception("/wechat failed")
            resp = Response("error", status=500, mimetype="text/plain")
        resp.headers.extend(_HEADERS)
        return resp(environ, start_response)


class Endpoint:
    """The route's settings (read once from [wechat]) and one method per check, in the order ``serve`` runs
    them: the signature and its time, the body's size, decryption and parsing, then the dispatcher."""

    def __init__(self, lx: Lianxin) -> None:
        cfg = lx.config.wechat
        self.lx = lx
        self.token: str = cfg.token
        self.safe = SafeMode(self.token, cfg.encoding_aes_key, cfg.app_id) if cfg.encoding_aes_key else None
        self.max_body: int = cfg.max_body_bytes
        self.tolerance: int = cfg.timestamp_tolerance_seconds

    def serve(self, request: Request) -> Response:
        """GET answers WeChat's URL check with ``echostr``; POST handles one message (403 for a bad signature,
        400 for a body that cannot be read, both before anything is stored)."""
        try:
            if request.method == "GET":
                self.check_query(request)
                return Response(request.args.get("echostr", ""), mimetype="text/plain")
            timestamp, nonce, signature = self.check_query(request)
            fields, transport = self.read_message(request, self.read_body(request), timestamp, nonce)
            msg = to_message(fields)
        except Forbidden as e:
            log.warning("refused /wechat request from %s: %s", request.remote_addr, e)
            return Response("forbidden", status=403, mimetype="text/plain")
        except BadRequest as e:
            log.warning("bad /wechat request from %s: %s", request.remote_addr, e)
            return Response("bad request", status=400, mimetype="text/plain")
        return self.answer(request, msg, fields, transport, (timestamp, nonce, signature))

    def answer(
        self, request: Request, msg: Any, fields: dict[str, str], transport: str, signed: tuple[str, str, str]
    ) -> Response:
        """Hand the message to the dispatcher under its signed query (one query, one message) and turn the reply
        into reply XML (encrypted in safe mode); "success" when there is nothing to say."""
        timestamp, nonce, signature = signed
        query = wechat_edge.QueryClaim(
            query=wechat_edge.query_hash(timestamp, nonce, signature),
            body=wechat_edge.body_hash(fields),
            expires_at=datetime.fromtimestamp(int(timestamp) + self.tolerance, tz=UTC),
        )
        try:
            text = dispatch.handle(self.lx, msg, transport=transport, query=query)
        except wechat_edge.QueryReused:
            log.warning(
                "refused /wechat request from %s: a signed query reused for another message",
                request.remote_addr,
            )
            return Response("forbidden", status=403, mimetype="text/plain")
        if not text:
            return Response("success", mimetype="text/plain")
        xml = reply_xml(msg, fields.get("ToUserName", ""), text, self.lx.now())
        if transport == "aes":
            assert self.safe is not None
            xml = self.safe.encrypt(xml, str(int(self.lx.now().timestamp())))
        return Response(xml, mimetype="application/xml")

    def check_query(self, request: Request) -> tuple[str, str, str]:
        """(timestamp, nonce, signature) of a query signed with our token, at a time within the tolerance."""
        args = request.args
        timestamp, nonce, signature = (
            args.get("timestamp", ""),
            args.get("nonce", ""),
            args.get("signature", ""),
        )
        if not (timestamp and nonce and signature) or not hmac.compare_digest(
            sign(self.token, timestamp, nonce).encode(), signature.encode("utf-8", "surrogateescape")
        ):
            raise Forbidden("bad signature")
        try:
            ts = int(timestamp)
        except ValueError as e:
            raise Forbidden("bad timestamp") from e
        # WeChat's server clock and ours must agree within the tolerance (300 s): keep NTP running (docs/deploy.md).
        if abs(self.lx.now().timestamp() - ts) > self.tolerance:
            raise Forbidden("timestamp outside the tolerance (replay, or this server's clock is off)")
        return timestamp, nonce, signature

    def read_body(self, request: Request) -> bytes:
        """The body, at most [wechat] max_body_bytes (400 beyond, announced or not)."""
        length = request.content_length
        if length is not None and length > self.max_body:
            raise BadRequest("body too large")
        body = request.stream.read(self.max_body + 1)
        if len(body) > self.max_body:
            raise BadRequest("body too large")
        return body

    def fault(self, kind: str) -> None:
        """A signed request we could not read: kept for `lianxin wechat check` (its own short transaction)."""
        try:
            with self.lx.session() as s:
                wechat_edge.record_fault(s, kind, self.lx.now())
        except Exception:  # noqa: BLE001 - a diagnostic must never turn a 400 into a 500
            log.exception("could not record a /wechat fault (%s)", kind)

    def read_message(
        self, request: Request, body: bytes, timestamp: str, nonce: str
    ) -> tuple[dict[str, str], str]:
        """(the message's fields, transport). encrypt_type=aes: the body holds an Encrypt element (safe mode) or
        both (兼容模式); absent or "raw": plain (WeChat's FAQ on message encryption, docs/wechat-rules.md §7b).
        With a key, plain messages are read too (a key set before the account switches modes loses nothing)."""
        encrypted = request.args.get("encrypt_type", "").lower() == "aes"
        if encrypted and self.safe is not None:
            outer = parse_xml(body)
            encrypt = outer.get("Encrypt", "").strip()
            if not encrypt:
                raise BadRequest("encrypt_type=aes without an Encrypt element")
            try:
                inner = self.safe.decrypt(encrypt, request.args.get("msg_signature", ""), timestamp, nonce)
            except CannotDecrypt:
                self.fault(wechat_edge.DECRYPT_FAILED)  # signed by WeChat, yet our key does not open it
                # 兼容模式 sends the plain fields beside Encrypt: a mistyped key then loses nothing (the query's
                # plain signature was checked); `wechat check` reports the key. Safe mode has no plain fields.
                outer.pop("Encrypt", None)
                if not (outer.get("FromUserName") or "").strip():
                    raise
                return outer, "compat"
            return parse_xml(inner), "aes"
        fields = parse_xml(body)
        if not encrypted:
            return fields, "plain"
        # Encrypted, and no key configured: 兼容模式 carries the plain fields as well; safe mode does not.
        fields.pop("Encrypt", None)
        if not (fields.get("FromUserName") or "").strip():
            self.fault(wechat_edge.NO_KEY)
            raise BadRequest("an encrypted message, and [wechat] encoding_aes_key is empty")
        return fields, "compat"


def post_signed(app: Flask, lx: Lianxin, openid: str, kind: str, **fields: Any) -> tuple[int, str | None]:
    """POST one signed (and in safe mode encrypted) message to /wechat; (status, reply text or None)."""
    cfg = lx.config.wechat
    token = cfg.token
    ts = int(lx.now().timestamp())
    msg_id = secrets.randbits(62) if kind != "event" else None
    xml = message_xml(openid, kind, create_time=ts, msg_id=msg_id, **fields)
    query = signed_query(token, ts)
    safe = None
    if cfg.encoding_aes_key:
        safe = SafeMode(token, cfg.encoding_aes_key, cfg.app_id)
        encrypted = safe.prp.encrypt(xml, cfg.app_id).decode()
        query["encrypt_type"] = "aes"
        query["msg_signature"] = sign(token, query["timestamp"], query["nonce"], encrypted)
        xml = f"<xml><ToUserName><![CDATA[gh_lianxin]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    client = app.test_client()
    resp = client.post("/wechat?" + urlencode(query), data=xml.encode("utf-8"), content_type="text/xml")
    body = resp.get_data()
    if resp.status_code != 200:
        return resp.status_code, None
    if body.strip() in (b"", b"success"):
        return 200, None
    fields_out = parse_xml(body)
    if safe is not None:
        outer = fields_out
        fields_out = parse_xml(
            safe.decrypt(
                outer["Encrypt"],
                outer.get("MsgSignature", ""),
                outer.get("TimeStamp", ""),
                outer.get("Nonce", ""),
            )
        )
    return 200, fields_out.get("Content")
