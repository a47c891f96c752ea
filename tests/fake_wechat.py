"""A local fake of the WeChat Official Account API, speaking the documented behaviour, for tests and benches.

    with FakeWechat() as fake:          # threaded HTTP server on 127.0.0.1, random port
        lx = make_lx(**{"wechat.api_base": fake.url})
        fake.interact(openid)           # the user wrote to us: 48-hour window open, quota 5
        fake.fail("custom", 500, times=2)
        ...
        fake.delivered                  # every message WeChat accepted, in order

Rules kept: ``stable_token`` gives a token valid 7200 s (``force_refresh`` makes a new one and revokes the
old ones, as WeChat does); a call with an unknown or revoked token gets 40001; ``message/custom/send``
needs an open window (else 45015) and has a quota per window (``quota``, else 45047); users in
``unsubscribed`` get 43004; ``message/template/send`` needs a known template id (``templates``, empty =
any); ``media/get`` serves ``media`` by id (else 40007).

Programmable failures: ``fail(endpoint, what, times=1)`` where endpoint is custom | template | media |
token | any and ``what`` is an HTTP status (500), an errcode (-1, 40001, 42001, 45009, 45015, 45047,
43004, ...) or "timeout" (the answer comes after ``timeout_seconds``).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Delivered:
    channel: str  # custom | template
    openid: str
    text: str
    template_id: str | None = None
    data: dict[str, Any] | None = None
    at: float = field(default_factory=time.time)


class FakeWechat:
    def __init__(self, *, app_id: str = "wxtestappid", secret: str = "testsecret", quota: int = 5,
                 timeout_seconds: float = 2.0, templates: set[str] | None = None) -> None:
        self.app_id, self.secret, self.quota = app_id, secret, quota
        self.timeout_seconds = timeout_seconds
        self.templates = templates or set()
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.token_fetches = 0
        self.windows: dict[str, int] = {}  # openid -> customer-service messages sent in the open window
        self.unsubscribed: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.failures: dict[str, list[Any]] = defaultdict(list)
        self.delivered: list[Delivered] = []
        self.calls: list[tuple[str, int]] = []  # (endpoint, errcode or HTTP status answered)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._init_account_setup()

    # ---------------------------------------------------------------- control

    def start(self) -> FakeWechat:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (40 ms a call)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWechat:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def interact(self, openid: str) -> None:
        """The user sent us a message: the 48-hour window opens and its quota starts again."""
        with self.lock:
            self.windows[openid] = 0
            self.unsubscribed.discard(openid)

    def close_window(self, openid: str) -> None:
        with self.lock:
            self.windows.pop(openid, None)

    def unsubscribe(self, openid: str) -> None:
        with self.lock:
            self.unsubscribed.add(openid)

    def fail(self, endpoint: str, what: int | str, times: int = 1) -> None:
        with self.lock:
            self.failures[endpoint].extend([what] * times)

    def add_media(self, media_id: str, content: bytes, content_type: str = "image/jpeg") -> None:
        self.media[media_id] = (content, content_type)
        self.media_at[media_id] = self.now()  # expires MEDIA_LIFETIME later on the fake's clock

    def texts_to(self, openid: str) -> list[str]:
        with self.lock:
            return [d.text for d in self.delivered if d.openid == openid]

    def revoke_tokens(self) -> None:
        """Tokens expire early (WeChat may do that): the next call gets 42001."""
        with self.lock:
            self.tokens.clear()

    # ---------------------------------------------------------------- protocol

    def _take_failure(self, endpoint: str) -> Any:
        with self.lock:
            for key in (endpoint, "any"):
                if self.failures[key]:
                    return self.failures[key].pop(0)
        return None

    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(req.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        if url.path in SETUP_ENDPOINTS:  # account set-up section below (menu, templates, media upload, scenarios)
            return self._setup_handle(req, method, url.path, query, raw)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            return self._json(req, {"errcode": 47001, "errmsg": "data format error"}, "parse")
        endpoint = {
            "/cgi-bin/stable_token": "token", "/cgi-bin/message/custom/send": "custom",
            "/cgi-bin/message/template/send": "template", "/cgi-bin/media/get": "media",
        }.get(url.path)
        if endpoint is None:
            return self._json(req, {"errcode": 40066, "errmsg": "invalid url"}, "unknown", status=404)
        failure = self._take_failure(endpoint)
        if failure == "timeout":
            time.sleep(self.timeout_seconds)
            return self._json(req, {"errcode": -1, "errmsg": "late"}, endpoint)
        if isinstance(failure, int) and 500 <= failure < 600:  # an HTTP status, not an errcode
            return self._json(req, {"errcode": -1, "errmsg": "server error"}, endpoint, status=failure)
        if isinstance(failure, int):
            if failure in (40001, 42001, 40014):
                with self.lock:
                    self.tokens.discard(query.get("access_token", ""))
            return self._json(req, {"errcode": failure, "errmsg": f"fake failure {failure}"}, endpoint)
        if endpoint == "token":
            scenario = self._scenario_refusal("token", body)
            if scenario is not None:
                return self._json(req, scenario, "token")
            return self._token(req, body)
        token = query.get("access_token", "")
        refusal = self._token_refusal(endpoint, token)
        if refusal is not None:
            return self._json(req, refusal, endpoint)
        with self.lock:
            known = token in self.tokens
        if not known:
            return self._json(req, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"},
                              endpoint)
        if endpoint == "custom":
            return self._custom(req, body)
        if endpoint == "template":
            return self._template(req, body)
        return self._media(req, query)

    def _token(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if body.get("grant_type") != "client_credential" or body.get("appid") != self.app_id:
            return self._json(req, {"errcode": 40013, "errmsg": "invalid appid"}, "token")
        if body.get("secret") != self.secret:
            return self._json(req, {"errcode": 40125, "errmsg": "invalid appsecret"}, "token")
        with self.lock:
            self.token_fetches += 1
            now = self.now()
            live = {t for t in self.tokens if self.token_expires.get(t, now + 1) > now}
            if body.get("force_refresh") or not live:
                token = f"TOKEN_{uuid.uuid4().hex}"
                self.tokens = {token}
                self.token_expires = {token: now + self.token_ttl}
            token = next(iter(self.tokens))
            expires_in = max(1, int(self.token_expires.get(token, now + self.token_ttl) - now))
        return self._json(req, {"access_token": token, "expires_in": expires_in}, "token")

    def _custom(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        openid = body.get("touser", "")
        if body.get("msgtype") in ("image", "voice"):
            return self._custom_media(req, body)
        if body.get("msgtype") != "text" or "content" not in (body.get("text") or {}):
            return self._json(req, {"errcode": 40008, "errmsg": "invalid message type"}, "custom")
        with self.lock:
            if openid in self.unsubscribed:
                code = 43004
            elif openid not in self.windows:
                code = 45015
            elif self.windows[openid] >= self.quota:
                code = 45047
            else:
                self.windows[openid] += 1
                self.delivered.append(Delivered("custom", openid, body["text"]["content"]))
                code = 0
        return self._json(req, {"errcode": code, "errmsg": "ok" if code == 0 else "refused"}, "custom")

    def _template(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        openid, tid, data = body.get("touser", ""), body.get("template_id", ""), body.get("data") or {}
        with self.lock:
            if openid in self.unsubscribed:
                code = 43004
            elif not tid or (self.templates and tid not in self.templates):
                code = 40037
            else:
                text = "\n".join(str(v.get("value", "")) for v in data.values() if isinstance(v, dict))
                self.delivered.append(Delivered("template", openid, text, tid, data))
                code = 0
        answer: dict[str, Any] = {"errcode": code, "errmsg": "ok" if code == 0 else "refused"}
        if code == 0:
            answer["msgid"] = len(self.delivered)
        return self._json(req, answer, "template")

    def _media(self, req: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        item = self.media.get(query.get("media_id", ""))
        if item is not None and self._media_expired(query.get("media_id", "")):
            item = None  # temporary media lives 3 days, then media/get answers 40007 like an unknown id
        if item is None:
            return self._json(req, {"errcode": 40007, "errmsg": "invalid media_id"}, "media")
        content, ctype = item
        with self.lock:
            self.calls.append(("media", 0))
        req.send_response(200)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Disposition", f'attachment; filename="{query["media_id"]}"')
        req.send_header("Content-Length", str(len(content)))
        req.end_headers()
        req.wfile.write(content)

    def _json(self, req: BaseHTTPRequestHandler, data: dict[str, Any], endpoint: str, status: int = 200) -> None:
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        with self.lock:
            self.calls.append((endpoint, status if status != 200 else int(data.get("errcode", 0))))
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(payload)))
        req.end_headers()
        req.wfile.write(payload)

    # =========================================================================================================
    # Account set-up (feat-menu): token expiry, account scenarios, menu/create + menu/get,
    # template/get_all_private_template, media/upload, customer-service image/voice, media that expires.
    # Every rule cites its source; /work/notes/wechat-rules.md §1, §3, §4b, §5a, §6, §8 collects them.
    # =========================================================================================================

    def _init_account_setup(self) -> None:
        self.clock: float | None = None  # None: real time; set (or advance) to move the fake's clock
        # access_token lives 7200 s ("目前是7200秒之内的值"), then calls answer 42001
        # https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken
        self.token_ttl = 7200
        self.token_expires: dict[str, float] = {}
        # scenario: None (set up right) | "wrong_secret" | "wrong_appid" | "ip_not_whitelisted" | "unverified"
        self.scenario: str | None = None
        self.menu: dict[str, Any] | None = None
        self.menu_id = 0
        self.private_templates: list[dict[str, Any]] = []
        self.media_at: dict[str, float] = {}
        self.uploads: list[tuple[str, str, int]] = []  # (type, media_id, size)

    def now(self) -> float:
        return self.clock if self.clock is not None else time.time()

    def advance(self, seconds: float) -> None:
        """Move the fake's clock (token expiry, media expiry) without waiting."""
        with self.lock:
            self.clock = self.now() + seconds

    def add_private_template(self, template_id: str, title: str, keys: list[str]) -> None:
        """A template the account picked from the library; content as get_all_private_template shows it:
        ``标签:{{key.DATA}}`` lines (https://developers.weixin.qq.com/doc/service/api/notify/template/
        api_getalltemplates.md; typed 类目模板 keys such as thing1, time2 — notes §4b)."""
        content = "".join(f"{k}:{{{{{k}.DATA}}}}\n" for k in keys)
        with self.lock:
            self.private_templates.append({"template_id": template_id, "title": title, "primary_industry": "政府与公共事业",
                                           "deputy_industry": "政府|公共事业", "content": content, "example": ""})
            self.templates.add(template_id)

    # ---------------------------------------------------------------- scenarios and token life

    def _scenario_refusal(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """What cgi-bin/token and stable_token answer for a badly set-up account (notes §1a, global errcode
        table mirrored in WxJava WxMpErrorMsgEnum.java): 40164 caller IP not in the whitelist (every API call,
        the token first), 40125 wrong AppSecret, 40013 wrong AppID."""
        if self.scenario == "ip_not_whitelisted":
            return {"errcode": 40164, "errmsg": "invalid ip 203.0.113.9 ipv6 ::ffff:203.0.113.9, not in whitelist"}
        if endpoint == "token" and self.scenario == "wrong_secret":
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if endpoint == "token" and self.scenario == "wrong_appid":
            return {"errcode": 40013, "errmsg": "invalid appid"}
        return None

    # The capabilities an UNVERIFIED 服务号 lacks: 客服接口, 模板消息, 带参数二维码, 素材管理 — menu/* it has
    # (notes §8: doc/offiaccount/Getting_Started/Explanation_of_interface_privileges.html). Without → 48001.
    UNVERIFIED_REFUSED = {"custom", "template", "media", "private_templates", "upload", "qrcode"}

    def _token_refusal(self, endpoint: str, token: str) -> dict[str, Any] | None:
        refusal = self._scenario_refusal(endpoint, {})
        if refusal is not None:
            return refusal
        with self.lock:
            expires = self.token_expires.get(token)
            if expires is not None and expires <= self.now():
                # an expired token: 42001 "access_token expired" (global errcode table; wechatpy client/base.py
                # treats 40001/40014/42001 as "refetch the token")
                return {"errcode": 42001, "errmsg": "access_token expired"}
        if self.scenario == "unverified" and endpoint in self.UNVERIFIED_REFUSED and token in self.tokens:
            return {"errcode": 48001, "errmsg": "api unauthorized"}
        return None

    def _media_expired(self, media_id: str) -> bool:
        # "临时素材 … 在微信后台保存时间为3天，即3天后media_id失效" → 40007 invalid media_id
        # https://developers.weixin.qq.com/doc/service/api/material/temporary/api_getmedia (notes §6a)
        at = self.media_at.get(media_id)
        return at is not None and self.now() - at > MEDIA_LIFETIME

    # ---------------------------------------------------------------- endpoints

    def _setup_handle(self, req: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str],
                      raw: bytes) -> None:
        endpoint = SETUP_ENDPOINTS[path]
        failure = self._take_failure(endpoint)
        if isinstance(failure, int):
            return self._json(req, {"errcode": failure, "errmsg": f"fake failure {failure}"}, endpoint)
        token = query.get("access_token", "")
        refusal = self._token_refusal(endpoint, token)
        if refusal is not None:
            return self._json(req, refusal, endpoint)
        with self.lock:
            known = token in self.tokens
        if not known:
            return self._json(req, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"},
                              endpoint)
        if endpoint == "upload":
            return self._upload(req, query, raw)
        if endpoint == "menu_get":
            with self.lock:
                menu = self.menu
            if menu is None:  # no API-created menu: 46003 "menu no exist" (notes §3b)
                return self._json(req, {"errcode": 46003, "errmsg": "menu no exist"}, endpoint)
            return self._json(req, {"menu": {**menu, "menuid": self.menu_id}}, endpoint)
        if endpoint == "private_templates":
            with self.lock:
                listing = [dict(t) for t in self.private_templates]
            return self._json(req, {"template_list": listing}, endpoint)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            return self._json(req, {"errcode": 47001, "errmsg": "data format error"}, endpoint)
        code = _menu_errcode(body)
        if code:
            return self._json(req, {"errcode": code, "errmsg": MENU_ERRMSG.get(code, "invalid menu")}, endpoint)
        with self.lock:
            # what menu/get gives back: every button carries "sub_button": [] (notes §3b)
            self.menu = {"button": [{**b, "sub_button": [{**s, "sub_button": []} for s in b.get("sub_button", [])]}
                                    for b in body["button"]]}
            self.menu_id += 1
        return self._json(req, {"errcode": 0, "errmsg": "ok"}, endpoint)

    def _upload(self, req: BaseHTTPRequestHandler, query: dict[str, str], raw: bytes) -> None:
        """media/upload, multipart field ``media``: image ≤ 10 MB (png/jpeg/jpg/gif), voice ≤ 2 MB (amr/mp3)
        https://developers.weixin.qq.com/doc/service/api/material/temporary/api_uploadtempmedia (notes §6b)."""
        kind = query.get("type", "")
        if kind not in ("image", "voice", "video", "thumb"):
            return self._json(req, {"errcode": 40004, "errmsg": "invalid media type"}, "upload")
        ctype = req.headers.get("Content-Type", "")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        part = next((p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "media"),
                    None) if msg.is_multipart() else None
        if part is None:
            return self._json(req, {"errcode": 41005, "errmsg": "media data missing"}, "upload")
        content = part.get_payload(decode=True) or b""
        filename = (part.get_filename() or "").lower()
        if not content:
            return self._json(req, {"errcode": 44001, "errmsg": "empty media data"}, "upload")
        allowed = {"image": ((".png", ".jpeg", ".jpg", ".gif"), 10 << 20), "voice": ((".amr", ".mp3"), 2 << 20),
                   "video": ((".mp4",), 10 << 20), "thumb": ((".jpg",), 64 << 10)}[kind]
        if not filename.endswith(allowed[0]):
            return self._json(req, {"errcode": 40005, "errmsg": "invalid file type"}, "upload")
        if len(content) > allowed[1]:
            return self._json(req, {"errcode": 45001, "errmsg": "media size out of limit"}, "upload")
        media_id = f"UP_{kind}_{uuid.uuid4().hex}"
        with self.lock:
            self.media[media_id] = (content, part.get_content_type())
            self.media_at[media_id] = self.now()
            self.uploads.append((kind, media_id, len(content)))
        return self._json(req, {"type": kind, "media_id": media_id, "created_at": int(self.now())}, "upload")

    def _custom_media(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        """Customer-service image/voice: ``{"msgtype":"voice","voice":{"media_id":…}}`` (notes §5a), the same
        window and quota as text; an unknown or expired media id → 40007."""
        openid, kind = body.get("touser", ""), body["msgtype"]
        media_id = (body.get(kind) or {}).get("media_id", "")
        with self.lock:
            if media_id not in self.media or self._media_expired(media_id):
                code = 40007
            elif openid in self.unsubscribed:
                code = 43004
            elif openid not in self.windows:
                code = 45015
            elif self.windows[openid] >= self.quota:
                code = 45047
            else:
                self.windows[openid] += 1
                self.delivered.append(Delivered("custom", openid, f"[{kind}:{media_id}]", data={kind: media_id}))
                code = 0
        return self._json(req, {"errcode": code, "errmsg": "ok" if code == 0 else "refused"}, "custom")


MEDIA_LIFETIME = 3 * 24 * 3600  # temporary media: 3 days (notes §6a)

SETUP_ENDPOINTS = {
    "/cgi-bin/menu/create": "menu_create", "/cgi-bin/menu/get": "menu_get",
    "/cgi-bin/template/get_all_private_template": "private_templates", "/cgi-bin/media/upload": "upload",
}

# menu/create's limits and errcodes: https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu
# (1–3 buttons, 1–5 sub buttons, name ≤ 16 bytes top / ≤ 60 bytes sub, key ≤ 128 bytes, url ≤ 1024 bytes);
# errcode meanings from the global return-code table (WxJava WxMpErrorMsgEnum.java; notes §3a).
MENU_ERRMSG = {40015: "invalid button type", 40016: "invalid button size", 40017: "invalid button type",
               40018: "invalid button name size", 40019: "invalid button key size", 40020: "invalid button url size",
               40023: "invalid sub button size", 40024: "invalid sub button type",
               40025: "invalid sub button name size", 40026: "invalid sub button key size",
               40027: "invalid sub button url size", 41007: "missing submenu data"}
MENU_TYPES = {"click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
              "pic_weixin", "location_select", "media_id", "view_limited", "article_id", "article_view_limited",
              "miniprogram"}


def _menu_errcode(body: dict[str, Any]) -> int:
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 40016
    for b in buttons:
        subs = b.get("sub_button")
        if subs:  # a button with sub buttons has no type
            if not 1 <= len(subs) <= 5:
                return 40023
            if len(b.get("name", "").encode()) > 16 or not b.get("name"):
                return 40018
            for sb in subs:
                code = _leaf_errcode(sb, sub=True)
                if code:
                    return code
        else:
            code = _leaf_errcode(b, sub=False)
            if code:
                return code
    return 0


def _leaf_errcode(b: dict[str, Any], *, sub: bool) -> int:
    if b.get("sub_button"):
        return 40022 if sub else 0  # only two levels
    if b.get("type") not in MENU_TYPES:
        return 40024 if sub else 40017
    name = str(b.get("name", "")).encode()
    if not name or len(name) > (60 if sub else 16):
        return 40025 if sub else 40018
    if b["type"] not in ("view", "miniprogram", "media_id", "view_limited", "article_id", "article_view_limited"):
        key = str(b.get("key", "")).encode()
        if not key or len(key) > 128:
            return 40026 if sub else 40019
    if b["type"] in ("view", "miniprogram"):
        url = str(b.get("url", "")).encode()
        if not url or len(url) > 1024:
            return 40027 if sub else 40020
    return 0
