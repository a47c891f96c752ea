"""Builds signed WeChat requests for Flask's test client (or any HTTP client), the way WeChat sends them.

Safe-mode bodies are encrypted with wechatpy's crypto, an implementation independent of the werobot code
the endpoint uses, so the endpoint's decryption is checked against someone else's encryption.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

_ids = itertools.count(880_000_000_001)

# The token every test app is configured with (conftest.make_lx), which the client signs with.
TEST_TOKEN = "lianxin-test-token"


def wechat_app(lx: Any) -> Any:
    """A Flask app with only /wechat, registered exactly as bot.app.create_app does (the console is
    another feature; its state must not decide whether the bot's tests run)."""
    from flask import Flask

    from bot.wechat import endpoint as wechat

    app = Flask("lianxin-test")
    wechat.register(app, lx)
    return app


def wechat_signature(token: str, *parts: str) -> str:
    """Written out here rather than imported from bot.wechat, so the tests do not check the code with itself."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def xml(
    openid: str, kind: str, *, create_time: int, msg_id: int | None = None, to: str = "gh_test", **fields: Any
) -> str:
    def cdata(v: Any) -> str:
        return "<![CDATA[" + str(v).replace("]]>", "]]]]><![CDATA[>") + "]]>"

    parts = [
        f"<ToUserName>{cdata(to)}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{cdata(kind)}</MsgType>",
    ]
    for k, v in fields.items():
        parts.append(f"<{k}>{cdata(v)}</{k}>")
    if msg_id is not None:
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


class WechatClient:
    """``wc.text(openid, "日记 ……")`` posts a signed message and returns the reply text (decrypted, parsed).

    ``now`` is a callable giving the current time (the FakeClock), used for timestamp and CreateTime.
    """

    def __init__(
        self,
        client: Any,
        token: str,
        now: Callable[[], datetime],
        *,
        aes_key: str = "",
        app_id: str = "wxtestappid",
    ) -> None:
        self.client = client
        self.token = token
        self.now = now
        self.aes_key = aes_key
        self.app_id = app_id
        self.crypto = None
        if aes_key:
            from wechatpy.crypto import WeChatCrypto

            self.crypto = WeChatCrypto(token, aes_key, app_id)
        self.last: Any = None

    def ts(self) -> int:
        return int(self.now().timestamp())

    def query(self, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp = self.ts() if timestamp is None else timestamp
        nonce = nonce or secrets.token_hex(4)
        return {
            "timestamp": str(timestamp),
            "nonce": nonce,
            "signature": wechat_signature(self.token, str(timestamp), nonce),
        }

    def post_raw(self, body: str | bytes, *, query: dict[str, str] | None = None) -> Any:
        q = query or self.query()
        if self.crypto is not None and (query is None or "encrypt_type" not in query):
            enc = self.crypto.encrypt_message(
                body if isinstance(body, str) else body.decode(), q["nonce"], q["timestamp"]
            )
            from xml.etree.ElementTree import fromstring

            root = fromstring(enc)
            encrypt = root.findtext("Encrypt")
            q = {**q, "encrypt_type": "aes", "msg_signature": root.findtext("MsgSignature")}
            body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        self.last = self.client.post("/wechat", query_string=q, data=body, content_type="text/xml")
        return self.last

    def post(
        self,
        openid: str,
        kind: str,
        *,
        msg_id: int | None = None,
        create_time: int | None = None,
        **fields: Any,
    ) -> str | None:
        if msg_id is None and kind != "event":
            msg_id = next(_ids)
        body = xml(openid, kind, create_time=create_time or self.ts(), msg_id=msg_id, **fields)
        resp = self.post_raw(body)
        assert resp.status_code == 200, (resp.status_code, resp.data[:200])
        return self.reply_text(resp)

    def reply_text(self, resp: Any) -> str | None:
        data = resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text
        if data in ("success", ""):
            return None
        from xml.etree.ElementTree import fromstring

        if self.crypto is not None:
            root = fromstring(data)
            data = self.crypto.decrypt_message(
                data, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce")
            )
            if isinstance(data, bytes):
                data = data.decode()
        root = fromstring(data)
        assert root.findtext("MsgType") == "text"
        return root.findtext("Content")

    def text(self, openid: str, content: str, **kw: Any) -> str | None:
        return self.post(openid, "text", Content=content, **kw)

    def voice(self, openid: str, recognition: str, media_id: str = "voice-media-1", **kw: Any) -> str | None:
        return self.post(openid, "voice", MediaId=media_id, Format="amr", Recognition=recognition, **kw)

    def image(self, openid: str, media_id: str = "img-media-1", **kw: Any) -> str | None:
        return self.post(openid, "image", MediaId=media_id, PicUrl="http://127.0.0.1/pic.jpg", **kw)

    def location(
        self, openid: str, lat: float = 26.5, lon: float = 106.7, label: str = "新桥村口", **kw: Any
    ) -> str | None:
        return self.post(openid, "location", Location_X=lat, Location_Y=lon, Scale=15, Label=label, **kw)

    def event(self, openid: str, event: str, key: str | None = None, **kw: Any) -> str | None:
        fields: dict[str, Any] = {"Event": event}
        if key is not None:
            fields["EventKey"] = key
        return self.post(openid, "event", **fields, **kw)
