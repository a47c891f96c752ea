"""A small client for the WeChat Official Account API at ``[wechat] api_base``.

Request and response shapes follow the documentation (and wechatpy's client): JSON bodies, ``errcode``/
``errmsg`` in every answer, ``access_token`` as a query parameter.

The access token is one per app and a new one invalidates the old: so it lives in the ``access_token``
table, shared by every process, and is fetched from ``/cgi-bin/stable_token`` by one process at a time
under a lease. A call answered with 40001/40014/42001 refreshes it once (force_refresh) and retries.

Errors are sorted for delivery: ``TransientError`` (5xx, timeouts, -1: try again later with back-off) and
``WechatError`` with the code (the caller decides: fall back to a template, mark unreachable, pause, fail).
Both, and the ``WechatApi`` protocol this client implements, are defined in ``reminders.wechat_port``:
delivery sits below the transport and gets this client injected.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select

from reminders import lease
from reminders.wechat_port import Media, TransientError, WechatError
from storage.models import AccessToken
from storage.redact import redact
from storage.runtime import Lianxin
from storage.timestamps import utcnow

log = logging.getLogger("lianxin.wechat_api")


def _wechat_now() -> datetime:
    """A token expires at WeChat in real time, and the lease on refreshing it is held between processes."""
    return utcnow()  # real time: WeChat's token expiry, and a lease between processes


TOKEN_ERRORS = {40001, 40014, 42001}
FORCE_GAP = timedelta(seconds=30)  # stable_token force_refresh: at least 30 s apart …
FORCE_PER_DAY = 20  # … and 20 a day (docs/wechat-rules.md §1b)
TRANSIENT_CODES = {-1}  # system busy
TOKEN_MARGIN = timedelta(minutes=5)


def _session_for(base: str) -> requests.Session:
    """A session that reads the environment's proxy and CA settings once, for ``base``, instead of on every call:
    requests' ``trust_env`` scans every environment variable twice per request (about 0.3 ms, a tenth of a
    template push's CPU in bench/broadcast.py). HTTPS_PROXY / NO_PROXY / REQUESTS_CA_BUNDLE still apply; they are
    read when the client is made (one per process or dispatcher run)."""
    http = requests.Session()
    http.proxies.update(requests.utils.get_environ_proxies(base))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        http.verify = bundle
    http.trust_env = False
    return http


class WechatClient:
    """One per process (or per dispatcher); thread-safe as long as ``http`` is not shared oddly."""

    def __init__(
        self, lx: Lianxin, *, http: requests.Session | None = None, holder: str | None = None
    ) -> None:
        self.lx = lx
        cfg = lx.config.wechat
        self.base = cfg.api_base.rstrip("/")
        self.app_id = cfg.app_id
        self.secret = cfg.app_secret
        self.timeout = cfg.request_timeout_seconds
        self.http = http or _session_for(self.base)
        self._cached: tuple[str, datetime] | None = None
        self.holder = holder or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def close(self) -> None:
        self.http.close()

    # ---------------------------------------------------------------- token

    def _stored_token(self) -> AccessToken | None:
        with self.lx.read_session() as s:
            return s.scalar(select(AccessToken).where(AccessToken.app_id == self.app_id))

    def token(self) -> str:
        """The shared token. Kept in memory between calls: if another process replaced it meanwhile, WeChat
        answers 40001 and ``call`` picks the new one up from the database."""
        cached = self._cached
        if cached is not None and cached[1] - TOKEN_MARGIN > _wechat_now():
            return cached[0]
        row = self._stored_token()
        if row is not None and row.expires_at - TOKEN_MARGIN > _wechat_now():
            self._cached = (row.token, row.expires_at)
            return row.token
        return self.refresh_token(stale=row.token if row else None)

    def refresh_token(self, *, stale: str | None, force: bool = False, wait_seconds: float = 15.0) -> str:
        """Fetch a new token unless another process already replaced ``stale``; one refresher at a time."""
        name = f"wechat-token:{self.app_id}"
        deadline = time.monotonic() + wait_seconds  # real time: how long we wait for another process
        while True:
            row = self._stored_token()
            if row is not None and row.token != stale and row.expires_at - TOKEN_MARGIN > _wechat_now():
                self._cached = (row.token, row.expires_at)
                return row.token
            now = _wechat_now()
            if lease.acquire(self.lx.engine, name, self.holder, ttl=timedelta(seconds=30), now=now):
                try:
                    row = self._stored_token()
                    if (
                        row is not None
                        and row.token != stale
                        and row.expires_at - TOKEN_MARGIN > _wechat_now()
                    ):
                        return row.token
                    force = force and self._may_force(row, now)
                    token, expires_in = self._fetch_stable_token(force=force)
                    self._store_token(token, expires_in, forced=force)
                    self._cached = (token, _wechat_now() + timedelta(seconds=expires_in))
                    return token
                finally:
                    lease.release(self.lx.engine, name, self.holder)
            if time.monotonic() > deadline:  # real time: see deadline
                raise TransientError(-1, "access token refresh held by another process too long")
            time.sleep(0.05)

    def _fetch_stable_token(self, *, force: bool) -> tuple[str, int]:
        body = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self.secret,
            "force_refresh": force,
        }
        data = self._request("POST", "/cgi-bin/stable_token", json=body, with_token=False)
        if "access_token" not in data:
            raise WechatError(int(data.get("errcode", -1)), str(data.get("errmsg", "no access_token")))
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    @staticmethod
    def _may_force(row: AccessToken | None, now: datetime) -> bool:
        """stable_token's force_refresh is allowed 20 times a day, 30 s apart (docs/wechat-rules.md §1b); past
        that, ask without forcing (WeChat hands back the current token)."""
        if row is None or row.forced_at is None:
            return True
        if now - row.forced_at < FORCE_GAP:
            return False
        today = now.date().isoformat()
        if row.forced_day == today and (row.forced_count or 0) >= FORCE_PER_DAY:
            log.warning("token: %s forced refreshes today already; not forcing another", FORCE_PER_DAY)
            return False
        return True

    def _store_token(self, token: str, expires_in: int, *, forced: bool = False) -> None:
        now = _wechat_now()
        with self.lx.session() as s:
            row = s.get(AccessToken, self.app_id)
            if row is None:
                row = AccessToken(
                    app_id=self.app_id,
                    token=token,
                    refreshed_at=now,
                    expires_at=now + timedelta(seconds=expires_in),
                    forced_count=0,
                )
                s.add(row)
            else:
                row.token, row.refreshed_at = token, now
                row.expires_at = now + timedelta(seconds=expires_in)
            if forced:
                today = now.date().isoformat()
                row.forced_count = (row.forced_count or 0) + 1 if row.forced_day == today else 1
                row.forced_day, row.forced_at = today, now

    # ---------------------------------------------------------------- transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        with_token: bool = True,
        token: str | None = None,
        raw: bool = False,
    ) -> Any:
        params = dict(params or {})
        if with_token:
            params["access_token"] = token or self.token()
        try:
            resp = self.http.request(
                method,
                self.base + path,
                params=params,
                timeout=self.timeout,
                data=None if json is None else _dumps(json),
                headers={"Content-Type": "application/json; charset=utf-8"} if json is not None else None,
            )
        except (requests.Timeout, requests.ConnectionError) as e:
            # requests' message holds the URL with its access_token: kept and logged, it must not hold that
            raise TransientError(-1, redact(f"{e.__class__.__name__}: {e}")) from None
        if resp.status_code >= 500:
            raise TransientError(-1, f"HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise WechatError(resp.status_code, f"HTTP {resp.status_code}")
        ctype = resp.headers.get("Content-Type", "")
        if raw and "json" not in ctype and "text/plain" not in ctype:
            return resp
        try:
            data = resp.json()
        except ValueError:
            if raw:
                return resp
            raise TransientError(-1, "answer is not JSON") from None
        code = int(data.get("errcode", 0) or 0)
        if code in TRANSIENT_CODES:
            raise TransientError(code, str(data.get("errmsg", "system busy")))
        if code:
            raise WechatError(code, str(data.get("errmsg", "")))
        return resp if raw else data

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """An API call with the shared token; on a token error refresh it once and try again."""
        token = self.token()
        try:
            return self._request(method, path, token=token, **kw)
        except WechatError as e:
            if e.errcode not in TOKEN_ERRORS:
                raise
            log.info("token rejected (%s); refreshing once", e.errcode)
            fresh = self.refresh_token(stale=token, force=True)
            try:
                return self._request(method, path, token=fresh, **kw)
            except WechatError as again:
                if again.errcode in TOKEN_ERRORS and not isinstance(again, TransientError):
                    # Rejected again at once (another process forced a newer token in between): a token
                    # problem says nothing about the message — try it later instead of failing it for good.
                    raise TransientError(again.errcode, f"token rejected twice: {again.errmsg}") from None
                raise

    # ---------------------------------------------------------------- API

    def send_text(self, openid: str, text: str) -> dict[str, Any]:
        """Customer-service text (message/custom/send): only within 48 h of the user's last message."""
        return self.call(
            "POST",
            "/cgi-bin/message/custom/send",
            json={"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> dict[str, Any]:
        """A template message (message/template/send): any time, to a subscribed user.

        ``client_msg_id`` is WeChat's 防重入 id: for one openid + client_msg_id it sends one message, within 10
        minutes (https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
        , 发送模板消息, parameter client_msg_id). A retry after a crash between WeChat's answer and our record of it
        is then not a second message on the phone."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self.call("POST", "/cgi-bin/message/template/send", json=body)

    def create_qrcode(self, scene_str: str) -> dict[str, Any]:
        """A permanent parametric QR code (qrcode/create, QR_LIMIT_STR_SCENE): ``{"ticket", "url", ...}``.

        Scanning it makes WeChat push ``subscribe`` with EventKey ``qrscene_<scene_str>`` (not yet following)
        or ``SCAN`` with ``<scene_str>``. Verified 服务号 only (else 48001); at most 100,000 per account.
        https://developers.weixin.qq.com/doc/service/api/qrcode/qrcodes/api_createqrcode
        """
        data = self.call(
            "POST",
            "/cgi-bin/qrcode/create",
            json={"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene_str}}},
        )
        if not data.get("ticket") or not data.get("url"):
            raise WechatError(-2, "qrcode/create answered without ticket/url")
        return dict(data)

    def get_media(self, media_id: str) -> Media:
        """A temporary media file (media/get): kept by WeChat for 3 days."""
        resp = self.call("GET", "/cgi-bin/media/get", params={"media_id": media_id}, raw=True)
        disp = resp.headers.get("Content-Disposition", "")
        filename = None
        if "filename=" in disp:
            filename = disp.split("filename=", 1)[1].strip().strip('"')
        return Media(resp.content, resp.headers.get("Content-Type", "application/octet-stream"), filename)

    # ---------------------------------------------------------------- account set-up (menu, check)

    def check_credentials(self) -> int:
        """Ask stable_token (not forced: nothing is invalidated) whether app_id/secret work from this IP;
        keeps the token it gets. Returns its expires_in; raises WechatError (40125, 40013, 40164, …)."""
        token, expires_in = self._fetch_stable_token(force=False)
        self._store_token(token, expires_in)
        self._cached = (token, _wechat_now() + timedelta(seconds=expires_in))
        return expires_in

    def create_menu(self, body: dict[str, Any]) -> dict[str, Any]:
        """menu/create: replaces the account's custom menu (check it with bot.wechat.menu first)."""
        return self.call("POST", "/cgi-bin/menu/create", json=body)

    def get_menu(self) -> dict[str, Any] | None:
        """menu/get: the API-created menu (``{"button": [...]}``), or None when there is none (46003)."""
        try:
            data = self.call("GET", "/cgi-bin/menu/get")
        except WechatError as e:
            if e.errcode == 46003:
                return None
            raise
        return dict(data.get("menu") or {})

    def callback_check(self) -> dict[str, Any]:
        """网络检测 (callback/check): WeChat resolves the server URL saved in the account's 服务器配置 and pings
        each address. ``{"dns": [{"ip", "real_operator"}], "ping": [{"ip", "from_operator", "package_loss",
        "time"}]}``; 40201 when no URL is saved. docs/wechat-rules.md §7c,
        https://developers.weixin.qq.com/doc/service/api/base/api_callbackcheck"""
        return dict(
            self.call("POST", "/cgi-bin/callback/check", json={"action": "all", "check_operator": "DEFAULT"})
        )

    def private_templates(self) -> list[dict[str, Any]]:
        """template/get_all_private_template: the account's chosen templates (id, title, content, example)."""
        data = self.call("GET", "/cgi-bin/template/get_all_private_template")
        return list(data.get("template_list") or [])

    def upload_media(self, kind: str, content: bytes, filename: str, content_type: str) -> str:
        """media/upload (multipart field ``media``): a temporary media id, valid 3 days."""
        token = self.token()
        for attempt in (1, 2):
            try:
                resp = self.http.post(
                    self.base + "/cgi-bin/media/upload",
                    params={"access_token": token, "type": kind},
                    timeout=self.timeout,
                    files={"media": (filename, content, content_type)},
                )
            except (requests.Timeout, requests.ConnectionError) as e:
                raise TransientError(-1, redact(f"{e.__class__.__name__}: {e}")) from None
            if resp.status_code >= 500:
                raise TransientError(-1, f"HTTP {resp.status_code}")
            try:
                data = resp.json()
            except ValueError:
                raise TransientError(-1, "answer is not JSON") from None
            code = int(data.get("errcode", 0) or 0)
            if code in TOKEN_ERRORS and attempt == 1:
                token = self.refresh_token(stale=token, force=True)
                continue
            if code in TRANSIENT_CODES:
                raise TransientError(code, str(data.get("errmsg", "")))
            if code:
                raise WechatError(code, str(data.get("errmsg", "")))
            return str(data["media_id"])
        raise TransientError(-1, "token rejected twice")

    def send_media(self, openid: str, kind: str, media_id: str) -> dict[str, Any]:
        """Customer-service ``image`` / ``voice`` message (message/custom/send), inside the window only."""
        return self.call(
            "POST",
            "/cgi-bin/message/custom/send",
            json={"touser": openid, "msgtype": kind, kind: {"media_id": media_id}},
        )


def _dumps(data: Any) -> bytes:
    # WeChat wants real UTF-8, not \\u escapes (escaped Chinese shows as escapes in some clients).
    return json.dumps(data, ensure_ascii=False).encode("utf-8")
