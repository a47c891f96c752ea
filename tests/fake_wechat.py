"""A local fake of the WeChat Official Account API, speaking the documented behaviour, for tests and benches.

    with FakeWechat() as fake:          # threaded HTTP server on 127.0.0.1, random port
        lx = make_lx(**{"wechat.api_base": fake.url})
        fake.interact(openid)           # the user wrote to us: 48-hour window open, quota 5
        fake.fail("custom", 500, times=2)
        ...
        fake.delivered                  # every message WeChat accepted, in order

Rules kept (each with its source where it is implemented; the reference is docs/wechat-rules.md):
``stable_token`` gives a token valid 7200 s; ``force_refresh`` makes a new one and revokes the old ones, but
only once per 30 s and 20 times a day (§1b); a call with an unknown or revoked token gets 40001;
``message/custom/send`` needs an open window (else 45015) and has its quota (else 45047): ``interact`` (a
user's message) opens 5 / 48 h, ``action`` (follow, scan, menu click) 3 / 1 min (§5b), measured on
``clock`` (seconds, default the real time); users in ``unsubscribed`` get 43004;
``message/template/send`` needs a template of the ``templates`` registry (id → content with
``{{key.DATA}}`` placeholders, else 40037), every sent key must be one of its placeholders and every value
within its key type's rule (else 47003); ``first``/``remark`` are not displayed (§4c): ``Delivered.displayed``
is what the phone shows, ``(label, value)`` per line of the content; ``refuse(endpoint, errcode)`` answers
that errcode to every call until ``cure()`` (48001 unverified account, 40164 IP not whitelisted, …);
``media/get`` serves ``media`` by id (else 40007); ``template/get_all_private_template`` lists the registry.
The platform's edges (section "Push edges" at the end of the class): ``block(openid)`` (a user who switched off
messages: 48002 on customer-service messages, template messages accepted and then a ``failed:user block``
TEMPLATESENDJOBFINISH event, or 43101 at once), ``job_events`` / ``take_job_events()``, ``job_outcome``,
``banned_templates`` (43116), customer-service texts over 2048 bytes (45002), empty or ill-typed template values
(47003), 40164 from the token endpoints only, ``cgi-bin/token``, subscribe notifications without a subscription
(43101). ``qrcode/create`` makes permanent string-scene codes (1–64 characters, ``qr_limit`` of them, 48001 when
``qr_permission`` is off) and ``showqrcode`` shows them — their rules and sources are in the section at the
end of the class. Web OAuth (网页授权): ``connect/oauth2/authorize`` gives a code to the WeChat user named by the
``X-Fake-Wechat-User`` header and ``sns/oauth2/access_token`` trades it for that user's openid, once, within
5 minutes (40163 when used, 40029 when unknown or stale) — its own section, with sources, at the end too.

Programmable failures: ``fail(endpoint, what, times=1)`` where endpoint is custom | template | media |
token | qrcode | any and ``what`` is an HTTP status (500), an errcode (-1, 40001, 42001, 45009, 45015, 45047,
43004, ...) or "timeout" (the answer comes after ``timeout_seconds``).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlparse


@dataclass
class Delivered:
    channel: str  # custom | template
    openid: str
    text: str  # what the phone shows: the message, or a template's displayed values one per line
    template_id: str | None = None
    data: dict[str, Any] | None = None
    at: float = field(default_factory=time.time)
    displayed: list[tuple[str, str]] = field(default_factory=list)  # template: (label, value) as shown
    url: str | None = None


# The templates of config.example.toml's mapping, as WeChat's category library words them (content format:
# template/get_all_private_template, docs/wechat-rules.md §4b). Ids TPL_<KIND> (and TPL_<kind>) are what tests use.
LIBRARY_TEMPLATES: dict[str, tuple[str, str]] = {
    "task": (
        "任务处理提醒",
        "任务编号:{{character_string1.DATA}}\n任务名称:{{thing2.DATA}}\n"
        "截止时间:{{time3.DATA}}\n发布单位:{{thing4.DATA}}",
    ),
    "reminder": ("待办事项提醒", "待办事项:{{thing1.DATA}}\n截止时间:{{time2.DATA}}"),
    "request": (
        "工单受理通知",
        "工单编号:{{character_string1.DATA}}\n反馈人:{{thing2.DATA}}\n"
        "问题类型:{{thing3.DATA}}\n问题描述:{{thing4.DATA}}\n提交时间:{{time5.DATA}}",
    ),
    "reply": (
        "留言回复通知",
        "留言编号:{{character_string1.DATA}}\n回复人:{{thing2.DATA}}\n"
        "回复内容:{{thing3.DATA}}\n回复时间:{{time4.DATA}}",
    ),
    "notice": ("系统通知", "通知标题:{{thing1.DATA}}\n通知内容:{{thing2.DATA}}\n通知时间:{{time3.DATA}}"),
}


def default_templates() -> dict[str, str]:
    out: dict[str, str] = {}
    for kind, (_, content) in LIBRARY_TEMPLATES.items():
        out[f"TPL_{kind.upper()}"] = content
        out[f"TPL_{kind}"] = content
    return out


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]+\d*)\.DATA\s*\}\}")
# Per-type value rules of category-library templates (docs/wechat-rules.md §4d; official table at
# https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html#类目模板消息,
# captured via mirrors, M — the same table as the subscription messages' 参数值内容限制说明, mirrored at
# https://blog.csdn.net/wwwwrrrrwr/article/details/128147589): a value breaking its type's rule is refused with
# 47003 (官方 community answers), and so is an empty one: 47003 "模板参数不准确，可能为空或者不满足规则" (WxJava
# WxMpErrorMsgEnum CODE_47003). short_thing, const and enum lengths are not in the table (L: 5, 20, 20).
_TYPE_LIMITS = {
    "thing": 20,
    "short_thing": 5,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "phrase": 5,
    "name": 10,
    "car_number": 8,
    "phone_number": 17,
    "amount": 11,
    "time": 32,
    "date": 32,
    "const": 20,
    "enum": 20,
}
# The table's notes: "时间格式支持HH:MM:SS或者HH:MM。日期包含年月日，为y年m月d日,y年m月、m月d日格式，或者用‘-’、‘/’、
# ‘.’符号连接，如2018-01-01,2018/01/01,2018.01.01,2018-01,01-01"; a time may follow a date, a period is two of them
# joined by "~".
_DATE = r"(?:\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2})"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
_TIME_VALUE = re.compile(rf"^(?:{_DATE}\s*)?{_CLOCK}$")
_DATE_VALUE = re.compile(rf"^{_DATE}(?:\s*{_CLOCK})?$")
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def _period(value: str, pattern: re.Pattern[str]) -> bool:
    return all(pattern.match(part.strip()) for part in value.split("~"))


def value_breaks_rule(key: str, value: str) -> bool:
    m = re.match(r"^([a-z_]+?)\d+$", key)
    kind = m.group(1) if m else ""
    if not value.strip():
        return True  # 47003: "可能为空"
    if "\n" in value or "\r" in value:
        return True  # §4c: no line breaks
    limit = _TYPE_LIMITS.get(kind, 20)
    if kind == "name" and value.isascii():
        limit = 20
    if len(value) > limit:
        return True
    if kind == "character_string":
        return not value.isascii()  # no 汉字 (官方 answer, §4d)
    if kind == "number":
        return not all(ch.isdigit() or ch == "." for ch in value)
    if kind == "letter":
        return not all(ch.isascii() and ch.isalpha() for ch in value)
    if kind == "phrase":
        return not _HAN.match(value)  # "5个以内纯汉字"
    if kind == "time":
        return not _period(value, _TIME_VALUE)
    if kind == "date":
        return not _period(value, _DATE_VALUE)
    return False


class FakeWechat:
    def __init__(
        self,
        *,
        app_id: str = "wxtestappid",
        secret: str = "testsecret",
        quota: int = 5,
        timeout_seconds: float = 2.0,
        templates: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id, self.secret, self.quota = app_id, secret, quota
        self.timeout_seconds = timeout_seconds
        self.templates = default_templates() if templates is None else templates  # id -> content
        self.clock = clock
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.token_fetches = 0
        self.forced_refreshes: list[float] = []  # clock() of each force_refresh that refreshed
        self.refused: dict[str, int] = {}  # endpoint -> errcode answered to every call until cure()
        # openid -> [sent, quota, open until (clock seconds)]: WeChat's customer-service window (§5b)
        self.windows: dict[str, list[float]] = {}
        self.unsubscribed: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.failures: dict[str, list[Any]] = defaultdict(list)
        self.delivered: list[Delivered] = []
        # message/template/send's client_msg_id (防重入 id): one message per openid + id within 10 minutes
        # (https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html)
        self.template_once: dict[tuple[str, str], tuple[int, float]] = {}
        self.calls: list[tuple[str, int]] = []  # (endpoint, errcode or HTTP status answered)
        self._qr_init()
        self._golive_init()
        self._oauth_init()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._init_account_setup()
        self._init_push_edges()

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
        """The user sent us a message: 5 customer-service messages within 48 hours (docs/wechat-rules.md §5b,
        https://developers.weixin.qq.com/doc/offiaccount/Customer_Service/Customer_Service_Messages.html)."""
        with self.lock:
            self.windows[openid] = [0, self.quota, self.now() + 48 * 3600]
            self.unsubscribed.discard(openid)

    def action(self, openid: str) -> None:
        """The user followed, scanned a parametric QR code or clicked a CLICK/scancode menu item: 3 messages
        within 1 minute (same source). Quotas do not add up: it replaces the window only when it gives more."""
        with self.lock:
            w = self.windows.get(openid)
            now = self.now()
            if w is None or w[2] <= now or w[1] - w[0] < 3:
                self.windows[openid] = [0, 3, now + 60]
            self.unsubscribed.discard(openid)

    def refuse(self, endpoint: str, errcode: int) -> None:
        """An account-level fault: every call to ``endpoint`` (or "any") gets ``errcode`` until ``cure()``."""
        with self.lock:
            self.refused[endpoint] = errcode

    def cure(self) -> None:
        with self.lock:
            self.refused.clear()

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
        if url.path in OAUTH_PATHS:  # web OAuth (网页授权): its own section at the end of the class
            return self._oauth_handle(req, url.path, url.query)
        if (
            url.path in SETUP_ENDPOINTS
        ):  # account set-up section below (menu, templates, media upload, scenarios)
            return self._setup_handle(req, method, url.path, query, raw)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            return self._json(req, {"errcode": 47001, "errmsg": "data format error"}, "parse")
        if url.path in QR_PATHS:  # parametric QR codes: their own section below
            return self._qr_handle(req, url.path, query, body)
        if url.path in GOLIVE_PATHS:  # go-live: callback/check, its own section below
            return self._golive_handle(req, url.path, query, body)
        if url.path in EDGE_PATHS:  # push edges section below (cgi-bin/token; subscribe notifications' 43101)
            if self._edge_handle(req, url.path, query, body):
                return None
        endpoint = {
            "/cgi-bin/stable_token": "token",
            "/cgi-bin/message/custom/send": "custom",
            "/cgi-bin/message/template/send": "template",
            "/cgi-bin/media/get": "media",
            "/cgi-bin/template/get_all_private_template": "templates",
            "/cgi-bin/message/subscribe/bizsend": "template",  # §4e: same data rules as typed templates
        }.get(url.path)
        if endpoint is None:
            return self._json(req, {"errcode": 40066, "errmsg": "invalid url"}, "unknown", status=404)
        with self.lock:
            refused = self.refused.get(endpoint, self.refused.get("any"))
        if refused is not None:
            return self._json(req, {"errcode": refused, "errmsg": f"refused {refused}"}, endpoint)
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
        if self._refuse_token(req, endpoint, query):
            return None
        if endpoint == "custom":
            return self._custom(req, body)
        if endpoint == "template":
            return self._template(req, body)
        if endpoint == "templates":
            return self._all_templates(req)
        return self._media(req, query)

    def _refuse_token(self, req: BaseHTTPRequestHandler, endpoint: str, query: dict[str, str]) -> bool:
        """Answer (and return True) when the call's access_token is refused: an account scenario, an expired
        token (42001), or a token WeChat never issued (40001); every authenticated endpoint checks it alike."""
        token = query.get("access_token", "")
        refusal = self._token_refusal(endpoint, token)
        if refusal is None:
            with self.lock:
                known = token in self.tokens
            if known:
                return False
            refusal = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        self._json(req, refusal, endpoint)
        return True

    def _token(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if body.get("grant_type") != "client_credential" or body.get("appid") != self.app_id:
            return self._json(req, {"errcode": 40013, "errmsg": "invalid appid"}, "token")
        if body.get("secret") != self.secret:
            return self._json(req, {"errcode": 40125, "errmsg": "invalid appsecret"}, "token")
        with self.lock:
            self.token_fetches += 1
            now = self.now()
            live = {t for t in self.tokens if self.token_expires.get(t, now + 1) > now}
            refresh = not live
            code = 0
            if body.get("force_refresh"):
                # §1b (https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken):
                # force_refresh at most 20 a day (the excess code is undocumented: 45009, L) and at least 30 s
                # apart — a call sooner "does not refresh" (the current token comes back).
                day = [t for t in self.forced_refreshes if now - t < 86400]
                if len(day) >= 20:
                    code = 45009
                elif not day or now - day[-1] >= 30:
                    self.forced_refreshes.append(now)
                    refresh = True
            if code == 0 and refresh:
                token = f"TOKEN_{uuid.uuid4().hex}"
                self.tokens = {token}
                self.token_expires = {token: now + self.token_ttl}
            token = next(iter(self.tokens)) if self.tokens else ""
            expires_in = max(1, int(self.token_expires.get(token, now + self.token_ttl) - now))
        if code:
            return self._json(req, {"errcode": code, "errmsg": "reach max api daily quota limit"}, "token")
        return self._json(req, {"access_token": token, "expires_in": expires_in}, "token")

    def _custom(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        openid = body.get("touser", "")
        if body.get("msgtype") in ("image", "voice"):
            return self._custom_media(req, body)
        if body.get("msgtype") != "text" or "content" not in (body.get("text") or {}):
            return self._json(req, {"errcode": 40008, "errmsg": "invalid message type"}, "custom")
        with self.lock:
            w = self.windows.get(openid)
            if openid in self.unsubscribed:
                code = 43004
            elif (edge := self._custom_edge(openid, body["text"]["content"])) is not None:
                code = edge  # 48002 refuses messages, 45002 too long (push edges section)
            elif w is None or w[2] <= self.now():
                code = 45015  # window closed (docs/wechat-rules.md §5b)
            elif w[0] >= w[1]:
                code = 45047  # the window's quota is used up
            else:
                w[0] += 1
                self.delivered.append(Delivered("custom", openid, body["text"]["content"]))
                code = 0
        return self._json(req, {"errcode": code, "errmsg": "ok" if code == 0 else "refused"}, "custom")

    def _template(self, req: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        # docs/wechat-rules.md §4a (https://developers.weixin.qq.com/doc/service/api/notify/template/
        # api_sendtemplatemessage): 43004 not following, 40037 unknown template id; §4c-4d: first/remark are not
        # shown, each keyword shown on one line, a typed value breaking its rule is refused with 47003.
        openid, tid, data = body.get("touser", ""), body.get("template_id", ""), body.get("data") or {}
        errmsg = "refused"
        once = (openid, str(body.get("client_msg_id") or ""))
        with self.lock:
            seen = self.template_once.get(once) if once[1] else None
        if seen is not None and self.now() - seen[1] < 600:
            return self._json(req, {"errcode": 0, "errmsg": "ok", "msgid": seen[0]}, "template")
        job_status = "success"
        with self.lock:
            content = self.templates.get(tid)
            if openid in self.unsubscribed:
                code = 43004
            elif content is None:
                code = 40037
            elif (edge := self._template_edge(openid, tid)) is not None:
                code, errmsg = edge  # 43116 banned template, 43101 refused (push edges section)
            else:
                keys = _PLACEHOLDER.findall(content)
                code = 0
                for key, item in data.items():
                    value = str((item or {}).get("value", "")) if isinstance(item, dict) else ""
                    if key in ("first", "remark"):
                        continue  # accepted and not displayed since 2023-05-04 (§4c)
                    # A key the template does not have (inferred: WeChat documents no code; 47003 names the
                    # field like a bad value, L) or a value breaking its type's rule.
                    if key not in keys or value_breaks_rule(key, value):
                        code, errmsg = 47003, f"argument invalid! data.{key}.value invalid"
                        break
                if code == 0:
                    shown = []
                    for line in content.split("\n"):
                        m = _PLACEHOLDER.search(line)
                        if m is None:
                            continue
                        label = line[: m.start()].strip().rstrip(":：").strip()
                        item = data.get(m.group(1))
                        shown.append((label, str(item.get("value", "")) if isinstance(item, dict) else ""))
                    text = "\n".join(v for _, v in shown)
                    job_status = self._job_status(openid)  # WeChat takes it; the event says how it ended
                    if job_status == "success":
                        self.delivered.append(
                            Delivered(
                                "template",
                                openid,
                                text,
                                tid,
                                data,
                                displayed=shown,
                                url=body.get("url") or body.get("page") or None,
                            )
                        )
        answer: dict[str, Any] = {"errcode": code, "errmsg": "ok" if code == 0 else errmsg}
        if code == 0:
            answer["msgid"] = self._job_finished(openid, job_status)
            if once[1]:
                with self.lock:
                    self.template_once[once] = (answer["msgid"], self.now())
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

    # ------------------------------------------------ template/get_all_private_template (wechat check too)
    # docs/wechat-rules.md §4b, https://developers.weixin.qq.com/doc/service/api/notify/template/api_getalltemplates.md

    def _all_templates(self, req: BaseHTTPRequestHandler) -> None:
        titles = {content: title for title, content in LIBRARY_TEMPLATES.values()}
        with self.lock:
            listing = [
                {
                    "template_id": tid,
                    "title": titles.get(content, "模板"),
                    "primary_industry": "政府",
                    "deputy_industry": "政务",
                    "content": content,
                    "example": "",
                }
                for tid, content in self.templates.items()
            ]
        return self._json(req, {"template_list": listing}, "templates")

    # ---------------------------------------------------------------- answers

    def _json(
        self, req: BaseHTTPRequestHandler, data: dict[str, Any], endpoint: str, status: int = 200
    ) -> None:
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        with self.lock:
            self.calls.append((endpoint, status if status != 200 else int(data.get("errcode", 0))))
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(payload)))
        req.end_headers()
        req.wfile.write(payload)

    # =========================================================================================
    # Parametric QR codes (issue 13): qrcode/create and showqrcode. Kept apart from the other endpoints.
    # ================================================================================================
    # Sources (see docs/wechat-rules.md §2 and §8):
    # - https://developers.weixin.qq.com/doc/service/api/qrcode/qrcodes/api_createqrcode : body shapes,
    #   QR_LIMIT_STR_SCENE with action_info.scene.scene_str of 1..64 characters, answer {ticket, url,
    #   expire_seconds}; at most 100,000 permanent codes per account.
    # - over-long scene_str / limit reached: errcode 40053 "invalid action info" — the limit's errcode is not
    #   documented; wechatpy constants.py (L178-180) comments 40053 as "该公众号已经申请完了十万个二维码" (L).
    # - 48001 api unauthorized for an account without the permission (verified 服务号 only):
    #   https://developers.weixin.qq.com/doc/oplatform/developers/troubleshooting and the interface-privilege
    #   table https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Explanation_of_interface_privileges.html
    # - showqrcode (GET, ticket, no access_token; bad ticket -> HTTP 404): WxJava SHOW_QRCODE_WITH_TICKET and the
    #   old doc text. The real one lives on mp.weixin.qq.com and answers a JPEG; this fake answers a PNG (made with
    #   segno from the code's url) on its own host: tests never decode it as a JPEG.
    # - asking twice for the same permanent scene_str: undocumented; this fake answers the same ticket and url
    #   and does not count it again (an assumption, L).

    def _qr_init(self) -> None:
        self.qr_limit = 100_000
        self.qr_permission = True  # False: the account is not a verified 服务号 (48001)
        self.qr_codes: dict[str, dict[str, str]] = {}  # scene_str -> {"ticket", "url"} (permanent codes)
        self.qr_requests = 0

    def qr_scene_for_url(self, url: str) -> str | None:
        """What WeChat knows when someone scans the code printed from ``url``: its scene (None: not ours)."""
        with self.lock:
            return next((scene for scene, code in self.qr_codes.items() if code["url"] == url), None)

    def _qr_handle(
        self, req: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> None:
        if path == "/cgi-bin/showqrcode":
            return self._qr_show(req, query)
        failure = self._take_failure("qrcode")
        if failure == "timeout":
            time.sleep(self.timeout_seconds)
            return self._json(req, {"errcode": -1, "errmsg": "late"}, "qrcode")
        if isinstance(failure, int) and 500 <= failure < 600:
            return self._json(req, {"errcode": -1, "errmsg": "server error"}, "qrcode", status=failure)
        if isinstance(failure, int):
            return self._json(req, {"errcode": failure, "errmsg": f"fake failure {failure}"}, "qrcode")
        with self.lock:
            known = query.get("access_token", "") in self.tokens
            self.qr_requests += 1
        if not known:
            return self._json(
                req, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}, "qrcode"
            )
        if not self.qr_permission:
            return self._json(req, {"errcode": 48001, "errmsg": "api unauthorized"}, "qrcode")
        action = body.get("action_name")
        scene = (body.get("action_info") or {}).get("scene") or {}
        if action != "QR_LIMIT_STR_SCENE":
            # Only what lianxin asks for is modelled; temporary and numeric scenes are refused, not faked.
            return self._json(
                req,
                {"errcode": 40053, "errmsg": "invalid action info, fake knows QR_LIMIT_STR_SCENE only"},
                "qrcode",
            )
        scene_str = scene.get("scene_str")
        if not isinstance(scene_str, str) or not 1 <= len(scene_str) <= 64:
            return self._json(
                req, {"errcode": 40053, "errmsg": "invalid action info, please check document"}, "qrcode"
            )
        with self.lock:
            code = self.qr_codes.get(scene_str)
            if code is None:
                if len(self.qr_codes) >= self.qr_limit:
                    code = None
                else:
                    ticket = "gQ" + uuid.uuid4().hex + uuid.uuid4().hex
                    code = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{uuid.uuid4().hex[:22]}"}
                    self.qr_codes[scene_str] = code
        if code is None:
            return self._json(
                req, {"errcode": 40053, "errmsg": "invalid action info, qrcode count limit"}, "qrcode"
            )
        return self._json(req, {"ticket": code["ticket"], "url": code["url"]}, "qrcode")

    def _qr_show(self, req: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        import io  # noqa: PLC0415 — only this endpoint draws an image

        import segno  # noqa: PLC0415

        ticket = query.get("ticket", "")
        with self.lock:
            code = next((c for c in self.qr_codes.values() if c["ticket"] == ticket), None)
            self.calls.append(("showqrcode", 0 if code else 404))
        if code is None:
            req.send_response(404)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        buf = io.BytesIO()
        segno.make(code["url"], error="m").save(buf, kind="png", scale=4)
        data = buf.getvalue()
        req.send_response(200)
        req.send_header("Content-Type", "image/png")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    # =========================================================================================================
    # Account set-up (feat-menu): token expiry, account scenarios, menu/create + menu/get,
    # template/get_all_private_template, media/upload, customer-service image/voice, media that expires.
    # Every rule cites its source; docs/wechat-rules.md §1, §3, §4b, §5a, §6, §8 collects them.
    # =========================================================================================================

    def _init_account_setup(self) -> None:
        self._offset = (
            0.0  # seconds added to ``clock`` by ``advance`` (token and media expiry without waiting)
        )
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
        return self.clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock (token expiry, media expiry) without waiting."""
        with self.lock:
            self._offset += seconds

    def add_private_template(self, template_id: str, title: str, keys: list[str]) -> None:
        """A template the account picked from the library; content as get_all_private_template shows it:
        ``标签:{{key.DATA}}`` lines (https://developers.weixin.qq.com/doc/service/api/notify/template/
        api_getalltemplates.md; typed 类目模板 keys such as thing1, time2 — docs/wechat-rules.md §4b)."""
        content = "".join(f"{k}:{{{{{k}.DATA}}}}\n" for k in keys)
        with self.lock:
            self.private_templates.append(
                {
                    "template_id": template_id,
                    "title": title,
                    "primary_industry": "政府与公共事业",
                    "deputy_industry": "政府|公共事业",
                    "content": content,
                    "example": "",
                }
            )
            self.templates[template_id] = content  # the registry template/send checks keys against

    # ---------------------------------------------------------------- scenarios and token life

    def _scenario_refusal(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """What cgi-bin/token and stable_token answer for a badly set-up account (docs/wechat-rules.md §1a, global errcode
        table mirrored in WxJava WxMpErrorMsgEnum.java): 40164 caller IP not in the whitelist (the token
        endpoints only, see below), 40125 wrong AppSecret, 40013 wrong AppID."""
        if self.scenario == "ip_not_whitelisted" and endpoint == "token":
            # 40164 is documented for 获取access_token only: "对调用“获取access_token”接口增加IP白名单校验 …
            # 如非白名单IP调用，将返回错误码：40164" (the IP-whitelist notice, quoted at
            # https://www.cnblogs.com/romanticcrystal/p/14890148.html; the token pages of developers.weixin.qq.com
            # list 40164); cgi-bin/token and stable_token both (push edges section serves cgi-bin/token)
            return {
                "errcode": 40164,
                "errmsg": "invalid ip 203.0.113.9 ipv6 ::ffff:203.0.113.9, not in whitelist",
            }
        if endpoint == "token" and self.scenario == "wrong_secret":
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if endpoint == "token" and self.scenario == "wrong_appid":
            return {"errcode": 40013, "errmsg": "invalid appid"}
        return None

    # The capabilities an UNVERIFIED 服务号 lacks: 客服接口, 模板消息, 带参数二维码, 素材管理 — menu/* it has
    # (docs/wechat-rules.md §8: doc/offiaccount/Getting_Started/Explanation_of_interface_privileges.html). Without → 48001.
    UNVERIFIED_REFUSED = {"custom", "template", "media", "private_templates", "upload", "qrcode"}

    def _token_refusal(self, endpoint: str, token: str) -> dict[str, Any] | None:
        refusal = self._scenario_refusal(endpoint, {})
        if refusal is not None:
            return refusal
        with self.lock:
            expires = self.token_expires.get(token)
            if expires is not None and expires <= self.now():
                # an expired token: 42001 "access_token expired" (global errcode table; wechatpy's wechatpy/client/base.py
                # treats 40001/40014/42001 as "refetch the token")
                return {"errcode": 42001, "errmsg": "access_token expired"}
        if self.scenario == "unverified" and endpoint in self.UNVERIFIED_REFUSED and token in self.tokens:
            return {"errcode": 48001, "errmsg": "api unauthorized"}
        return None

    def _media_expired(self, media_id: str) -> bool:
        # "临时素材 … 在微信后台保存时间为3天，即3天后media_id失效" → 40007 invalid media_id
        # https://developers.weixin.qq.com/doc/service/api/material/temporary/api_getmedia (docs/wechat-rules.md §6a)
        at = self.media_at.get(media_id)
        return at is not None and self.now() - at > MEDIA_LIFETIME

    # ---------------------------------------------------------------- endpoints

    def _setup_handle(
        self, req: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str], raw: bytes
    ) -> None:
        endpoint = SETUP_ENDPOINTS[path]
        failure = self._take_failure(endpoint)
        if isinstance(failure, int):
            return self._json(req, {"errcode": failure, "errmsg": f"fake failure {failure}"}, endpoint)
        if self._refuse_token(req, endpoint, query):
            return None
        if endpoint == "upload":
            return self._upload(req, query, raw)
        if endpoint == "menu_get":
            with self.lock:
                menu = self.menu
            if menu is None:  # no API-created menu: 46003 "menu no exist" (docs/wechat-rules.md §3b)
                return self._json(req, {"errcode": 46003, "errmsg": "menu no exist"}, endpoint)
            return self._json(req, {"menu": {**menu, "menuid": self.menu_id}}, endpoint)
        if endpoint == "private_templates":
            with self.lock:  # the account's templates: those added here, then the rest of the send registry
                listing = [dict(t) for t in self.private_templates]
                listed = {t["template_id"] for t in listing}
                titles = {content: title for title, content in LIBRARY_TEMPLATES.values()}
                listing += [
                    {
                        "template_id": tid,
                        "title": titles.get(content, "模板"),
                        "primary_industry": "政府",
                        "deputy_industry": "政务",
                        "content": content,
                        "example": "",
                    }
                    for tid, content in self.templates.items()
                    if tid not in listed
                ]
            return self._json(req, {"template_list": listing}, endpoint)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            return self._json(req, {"errcode": 47001, "errmsg": "data format error"}, endpoint)
        code = _menu_errcode(body)
        if code:
            return self._json(
                req, {"errcode": code, "errmsg": MENU_ERRMSG.get(code, "invalid menu")}, endpoint
            )
        with self.lock:
            # what menu/get gives back: every button carries "sub_button": [] (docs/wechat-rules.md §3b)
            self.menu = {
                "button": [
                    {**b, "sub_button": [{**s, "sub_button": []} for s in b.get("sub_button", [])]}
                    for b in body["button"]
                ]
            }
            self.menu_id += 1
        return self._json(req, {"errcode": 0, "errmsg": "ok"}, endpoint)

    def _upload(self, req: BaseHTTPRequestHandler, query: dict[str, str], raw: bytes) -> None:
        """media/upload, multipart field ``media``: image ≤ 10 MB (png/jpeg/jpg/gif), voice ≤ 2 MB (amr/mp3)
        https://developers.weixin.qq.com/doc/service/api/material/temporary/api_uploadtempmedia (docs/wechat-rules.md §6b)."""
        kind = query.get("type", "")
        if kind not in ("image", "voice", "video", "thumb"):
            return self._json(req, {"errcode": 40004, "errmsg": "invalid media type"}, "upload")
        ctype = req.headers.get("Content-Type", "")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
        )
        part = (
            next(
                (p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "media"),
                None,
            )
            if msg.is_multipart()
            else None
        )
        if part is None:
            return self._json(req, {"errcode": 41005, "errmsg": "media data missing"}, "upload")
        content = part.get_payload(decode=True) or b""
        filename = (part.get_filename() or "").lower()
        if not content:
            return self._json(req, {"errcode": 44001, "errmsg": "empty media data"}, "upload")
        allowed = {
            "image": ((".png", ".jpeg", ".jpg", ".gif"), 10 << 20),
            "voice": ((".amr", ".mp3"), 2 << 20),
            "video": ((".mp4",), 10 << 20),
            "thumb": ((".jpg",), 64 << 10),
        }[kind]
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
        """Customer-service image/voice: ``{"msgtype":"voice","voice":{"media_id":…}}`` (docs/wechat-rules.md §5a), the same
        window and quota as text; an unknown or expired media id → 40007."""
        openid, kind = body.get("touser", ""), body["msgtype"]
        media_id = (body.get(kind) or {}).get("media_id", "")
        with self.lock:
            w = self.windows.get(openid)
            if media_id not in self.media or self._media_expired(media_id):
                code = 40007
            elif openid in self.unsubscribed:
                code = 43004
            elif openid in self.blocked:
                code = 48002  # refuses messages (push edges section)
            elif w is None or w[2] <= self.now():
                code = 45015  # window closed (docs/wechat-rules.md §5b)
            elif w[0] >= w[1]:
                code = 45047
            else:
                w[0] += 1
                self.delivered.append(
                    Delivered("custom", openid, f"[{kind}:{media_id}]", data={kind: media_id})
                )
                code = 0
        return self._json(req, {"errcode": code, "errmsg": "ok" if code == 0 else "refused"}, "custom")

    # =========================================================================================================
    # Go-live (golive): 网络检测 callback/check — is a server URL saved in the account's 服务器配置, and how does
    # WeChat see it. Sources: https://developers.weixin.qq.com/doc/service/api/base/api_callbackcheck (and the
    # older Basic_Information/Network_Detection.html): POST {"action": "dns"|"ping"|"all", "check_operator":
    # "CHINANET"|"UNICOM"|"CAP"|"DEFAULT"} → {"dns": [{"ip", "real_operator"}], "ping": [{"ip", "from_operator",
    # "package_loss", "time"}]}; errcodes 40201 (不正确的URL，一般是开发者未设置回调URL), 40202 (bad action), 40203
    # (bad check_operator). Clients send the same body: EasyWeChat Base/Client::checkCallbackUrl, WxJava
    # WxMpService.netCheck. Which accounts may call it is not documented: ``refuse("callback_check", 48001)``
    # models an account that may not (docs/wechat-rules.md §7c).
    # =========================================================================================================

    def _golive_init(self) -> None:
        self.server_url: str | None = None  # the URL saved in 服务器配置; None: never saved (40201)
        self.ping_loss = "0%"  # "100%": the host drops ping (one packet, so 0% or 100% only, per the doc)

    def _golive_handle(
        self, req: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> None:
        endpoint = "callback_check"
        with self.lock:
            refused = self.refused.get(endpoint)
        if refused is not None:
            return self._json(req, {"errcode": refused, "errmsg": f"refused {refused}"}, endpoint)
        if self._refuse_token(req, endpoint, query):
            return None
        action, operator = body.get("action"), body.get("check_operator")
        if action not in ("dns", "ping", "all"):
            return self._json(req, {"errcode": 40202, "errmsg": "invalid action"}, endpoint)
        if operator not in ("CHINANET", "UNICOM", "CAP", "DEFAULT"):
            return self._json(req, {"errcode": 40203, "errmsg": "invalid check operator"}, endpoint)
        with self.lock:
            saved = self.server_url
        if not saved:
            return self._json(req, {"errcode": 40201, "errmsg": "invalid url"}, endpoint)
        host = urlparse(saved).hostname or ""
        try:
            ips = sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
        except OSError:
            ips = []
        answer: dict[str, Any] = {}
        source = "UNICOM" if operator == "DEFAULT" else operator  # DEFAULT: chosen by the IP (the doc)
        if action in ("dns", "all"):
            answer["dns"] = [{"ip": ip, "real_operator": "UNICOM"} for ip in ips]
        if action in ("ping", "all"):
            answer["ping"] = [
                {"ip": ip, "from_operator": source, "package_loss": self.ping_loss, "time": "1.000ms"}
                for ip in ips
            ]
        return self._json(req, answer, endpoint)

    # Push edges (#22 items 7-14): people who refuse messages and WeChat's late word on template messages
    # (TEMPLATESENDJOBFINISH), over-long customer-service texts (45002), banned templates (43116, 48004), typed
    # values (47003), subscribe notifications without a subscription (43101), the plain token endpoint (40164).
    # Each rule cites its source; docs/wechat-rules.md "推送的边界" collects them.
    # =========================================================================================================

    def _init_push_edges(self) -> None:
        # openid -> what template/send answers a user who switched off the account's messages: 0 = accepted,
        # then the TEMPLATESENDJOBFINISH event says "failed:user block" (the documented way, 事件推送 of
        # https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html);
        # 43101 = refused at once, as the developers' community reports for template/send
        # (https://developers.weixin.qq.com/community/develop/doc/000a4a980007c0a02513aea3d61400, L).
        # Customer-service messages to them get 48002 "粉丝拒收消息（粉丝在公众号选项中，关闭了“接收消息”）"
        # (global return codes, mirrored in WxJava WxMpErrorMsgEnum CODE_48002).
        self.blocked: dict[str, int] = {}
        # (openid, msgid, Status) of the TEMPLATESENDJOBFINISH event WeChat POSTs after each template message it
        # accepted; tests deliver them to /wechat. Status "success" | "failed:user block" | "failed:system
        # failed" (documented, same page) | "failed:freq limit" (community only: doc/000ecccb7cc1b0060da1f5ee86f400
        # and DOMAIN.md; its meaning is not documented, L).
        self.job_events: list[tuple[str, str, str]] = []
        self.job_outcome: dict[
            str, str
        ] = {}  # openid -> the failed:… Status their next template messages end in
        self._msgids = itertools.count(3_487_542_469_355_618_313)  # 64-bit ids like the community's samples
        # 43116 "该模板因滥用被限制下发" (this template was restricted for abuse; WxJava WeChatApiResultEnumeration
        # CODE_43116): every send of a banned template id is refused; 48004 "api接口被封禁" (API banned; WxJava
        # WxMpErrorMsgEnum CODE_48004) is refuse("template", 48004).
        self.banned_templates: set[str] = set()
        # Customer-service text: WeChat publishes no limit for message/custom/send's text.content and answers
        # 45002 "content size out of limit" (消息内容超过限制, WxJava CODE_45002) past it. The community's figure
        # is 2048 bytes of UTF-8 (2047 for a passive reply, dodgepudding/wechat-php-sdk#363; 2048 documented for
        # WeCom's sibling API and used by JeffreySu/WeiXinMPSDK#2875's splitting): the fake refuses more (L).
        self.custom_text_limit = 2048
        # message/subscribe/bizsend (订阅通知) reaches only users who subscribed through a component (a
        # wx-open-subscribe button) to that template; others get 43101 "user refuse to accept the msg"
        # (https://developers.weixin.qq.com/doc/service/Subscription_Messages/intro.html; WxJava WxMaErrorMsgEnum
        # CODE_43101 "用户拒绝接受消息，如果用户之前曾经订阅过，则表示用户取消了订阅关系").
        self.subscribers: set[tuple[str, str]] = set()  # (openid, template_id) subscribed through a component

    def block(self, openid: str, *, template_errcode: int = 0) -> None:
        """The user switched off 接收消息 in the account's settings (see _init_push_edges)."""
        with self.lock:
            self.blocked[openid] = template_errcode

    def unblock(self, openid: str) -> None:
        with self.lock:
            self.blocked.pop(openid, None)

    def take_job_events(self) -> list[tuple[str, str, str]]:
        """The TEMPLATESENDJOBFINISH events WeChat would have POSTed since the last call."""
        with self.lock:
            out, self.job_events = self.job_events, []
        return out

    def _custom_edge(self, openid: str, content: str) -> int | None:
        """Called with the lock held. A refusing user (48002) or a text over the limit (45002)."""
        if openid in self.blocked:
            return 48002
        if len(content.encode("utf-8")) > self.custom_text_limit:
            return 45002
        return None

    def _template_edge(self, openid: str, template_id: str) -> tuple[int, str] | None:
        """Called with the lock held: a banned template (43116) or a user who refuses and is refused at once."""
        if template_id in self.banned_templates:
            return 43116, "This template has been restricted due to excessive abuse"
        if self.blocked.get(openid):
            return self.blocked[openid], "user refuse to accept the msg"
        return None

    def _job_status(self, openid: str) -> str:
        """Called with the lock held: how a template message WeChat accepted ends for this user."""
        if openid in self.blocked:
            return "failed:user block"
        return self.job_outcome.get(openid, "success")

    def _job_finished(self, openid: str, status: str) -> str:
        msgid = str(next(self._msgids))
        with self.lock:
            self.job_events.append((openid, msgid, status))
        return msgid

    def _edge_handle(
        self, req: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> bool:
        """Answer (True) what this section decides for ``path``; False lets the general endpoint go on."""
        if path == "/cgi-bin/token":
            # GET cgi-bin/token?grant_type=client_credential&appid&secret: the older token endpoint, same account
            # rules as stable_token (40164 from a non-whitelisted IP, 40125, 40013) and, unlike it, a new token
            # on every call that invalidates the one before
            # (https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html).
            scenario = self._scenario_refusal("token", {})
            if scenario is not None:
                self._json(req, scenario, "token")
                return True
            if query.get("grant_type") != "client_credential" or query.get("appid") != self.app_id:
                self._json(req, {"errcode": 40013, "errmsg": "invalid appid"}, "token")
                return True
            if query.get("secret") != self.secret:
                self._json(req, {"errcode": 40125, "errmsg": "invalid appsecret"}, "token")
                return True
            with self.lock:
                self.token_fetches += 1
                token = f"TOKEN_{uuid.uuid4().hex}"
                self.tokens = {token}
                self.token_expires = {token: self.now() + self.token_ttl}
            self._json(req, {"access_token": token, "expires_in": self.token_ttl}, "token")
            return True
        if path == "/cgi-bin/message/subscribe/bizsend":
            with self.lock:
                subscribed = (body.get("touser", ""), body.get("template_id", "")) in self.subscribers
            if not subscribed and not self._refuse_token(req, "template", query):
                self._json(req, {"errcode": 43101, "errmsg": "user refuse to accept the msg"}, "template")
                return True
            return not subscribed
        return False

    # =========================================================================================================
    # Web OAuth (网页授权, issue 21 item 3): who opens a page inside WeChat, with scope snsapi_base.
    # =========================================================================================================
    # Sources:
    # - 官方文档「网页授权」 https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
    #   (quoted in developers' community answers and juejin.cn/post/7498195018692771879): the authorize link
    #   open.weixin.qq.com/connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state#wechat_redirect
    #   is matched strictly — parameters out of order and "授权页面将无法正常访问"; state only a-zA-Z0-9, ≤ 128
    #   bytes; snsapi_base is silent ("静默授权并自动跳转到回调页"); the browser comes back to
    #   redirect_uri?code=CODE&state=STATE; redirect_uri's host must be the 网页授权域名 set in the account (a
    #   domain, not a URL: pages under www.qq.com pass, pay.qq.com does not); "code作为换取access_token的票据，
    #   每次用户授权带上的code将不一样，code只能使用一次，5分钟未被使用自动过期".
    # - sns/oauth2/access_token (GET appid, secret, code, grant_type=authorization_code) →
    #   {access_token, expires_in 7200, refresh_token, openid, scope}:
    #   https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken.md; errors 40029
    #   "invalid code" (open-platform doc, same endpoint), 40163 "code been used" (WxJava issue 372).
    # - Outside WeChat the authorize page shows "请在微信客户端打开链接" and gives no code (wechatpy/WxJava
    #   users' reports; the official page says to open it in the WeChat client).
    # Not documented, assumed here (L): an expired code answers 40029 like an unknown one; a wrong secret answers
    # 40125 and a wrong appid 40013 as on the other token endpoints.
    # The fake stands in for the WeChat client: a request to the authorize page carrying the header
    # ``X-Fake-Wechat-User: <openid>`` comes from that user's WeChat; without it, from an ordinary browser.

    def _oauth_init(self) -> None:
        self.oauth_domain: str | None = (
            None  # the account's 网页授权域名; None: any host (tests that do not care)
        )
        self.oauth_codes: dict[str, tuple[str, float, bool]] = {}  # code -> (openid, issued at, used)
        self.oauth_log: list[tuple[str, str]] = []  # (what, detail): authorize / exchange answers

    def _oauth_handle(self, req: BaseHTTPRequestHandler, path: str, raw_query: str) -> None:
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        query = dict(pairs)
        if path == "/connect/oauth2/authorize":
            return self._oauth_authorize(req, [k for k, _ in pairs], query)
        return self._oauth_exchange(req, query)

    def _oauth_page(self, req: BaseHTTPRequestHandler, text: str) -> None:
        body = f"<!doctype html><meta charset='utf-8'><p>{text}</p>".encode()
        with self.lock:
            self.oauth_log.append(("authorize", text))
        req.send_response(200)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def _oauth_authorize(self, req: BaseHTTPRequestHandler, keys: list[str], q: dict[str, str]) -> None:
        user = req.headers.get("X-Fake-Wechat-User")
        if not user:
            return self._oauth_page(req, "请在微信客户端打开链接")
        if keys != ["appid", "redirect_uri", "response_type", "scope", "state"]:
            return self._oauth_page(req, "该链接无法访问")  # the documented strict match
        redirect = q["redirect_uri"]
        host = urlparse(redirect).hostname or ""
        if q["appid"] != self.app_id:
            return self._oauth_page(req, "appid 参数错误")
        if q["response_type"] != "code" or q["scope"] not in ("snsapi_base", "snsapi_userinfo"):
            return self._oauth_page(req, "scope 参数错误或没有 scope 权限")
        if not re.fullmatch(r"[A-Za-z0-9]{0,128}", q["state"]):
            return self._oauth_page(req, "state 参数错误")
        if self.oauth_domain is not None and host != self.oauth_domain:
            return self._oauth_page(req, "redirect_uri 参数错误")
        code = uuid.uuid4().hex
        with self.lock:
            self.oauth_codes[code] = (user, self.now(), False)
            self.oauth_log.append(("authorize", f"code for {user}"))
        sep = "&" if "?" in redirect else "?"
        req.send_response(302)
        req.send_header("Location", f"{redirect}{sep}code={code}&state={q['state']}")
        req.send_header("Content-Length", "0")
        req.end_headers()

    def _oauth_exchange(self, req: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        if q.get("appid") != self.app_id:
            return self._json(req, {"errcode": 40013, "errmsg": "invalid appid"}, "oauth")
        if q.get("secret") != self.secret:
            return self._json(req, {"errcode": 40125, "errmsg": "invalid appsecret"}, "oauth")
        if q.get("grant_type") != "authorization_code":
            return self._json(req, {"errcode": 40002, "errmsg": "invalid grant_type"}, "oauth")
        code = q.get("code", "")
        with self.lock:
            found = self.oauth_codes.get(code)
            if found is not None and found[2]:
                answer: dict[str, Any] = {"errcode": 40163, "errmsg": "code been used"}
            elif found is None or self.now() - found[1] > OAUTH_CODE_SECONDS:
                answer = {"errcode": 40029, "errmsg": "invalid code"}
            else:
                self.oauth_codes[code] = (found[0], found[1], True)
                answer = {
                    "access_token": uuid.uuid4().hex,
                    "expires_in": 7200,
                    "refresh_token": uuid.uuid4().hex,
                    "openid": found[0],
                    "scope": "snsapi_base",
                }
            self.oauth_log.append(("exchange", str(answer.get("errcode", "ok"))))
        return self._json(req, answer, "oauth")


OAUTH_PATHS = ("/connect/oauth2/authorize", "/sns/oauth2/access_token")
OAUTH_CODE_SECONDS = 300  # "5分钟未被使用自动过期"

QR_PATHS = ("/cgi-bin/qrcode/create", "/cgi-bin/showqrcode")
EDGE_PATHS = ("/cgi-bin/token", "/cgi-bin/message/subscribe/bizsend")
MEDIA_LIFETIME = 3 * 24 * 3600  # temporary media: 3 days (docs/wechat-rules.md §6a)
GOLIVE_PATHS = ("/cgi-bin/callback/check",)

SETUP_ENDPOINTS = {
    "/cgi-bin/menu/create": "menu_create",
    "/cgi-bin/menu/get": "menu_get",
    "/cgi-bin/template/get_all_private_template": "private_templates",
    "/cgi-bin/media/upload": "upload",
}

# menu/create's limits and errcodes: https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu
# (1–3 buttons, 1–5 sub buttons, name ≤ 16 bytes top / ≤ 60 bytes sub, key ≤ 128 bytes, url ≤ 1024 bytes);
# errcode meanings from the global return-code table (WxJava WxMpErrorMsgEnum.java; docs/wechat-rules.md §3a).
MENU_ERRMSG = {
    40015: "invalid button type",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    41007: "missing submenu data",
}
MENU_TYPES = {
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
    "miniprogram",
}


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
    if b["type"] not in (
        "view",
        "miniprogram",
        "media_id",
        "view_limited",
        "article_id",
        "article_view_limited",
    ):
        key = str(b.get("key", "")).encode()
        if not key or len(key) > 128:
            return 40026 if sub else 40019
    if b["type"] in ("view", "miniprogram"):
        url = str(b.get("url", "")).encode()
        if not url or len(url) > 1024:
            return 40027 if sub else 40020
    return 0
