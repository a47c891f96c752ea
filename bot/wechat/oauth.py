"""WeChat's web OAuth (网页授权) with scope ``snsapi_base``: who is looking at a page, silently.

The page behind a template message's link (console/push_links.py) is its recipient's. Inside WeChat the
browser can be sent to WeChat's authorize page, which comes straight back — no prompt for ``snsapi_base`` — with
a ``code``; the server trades the code for the viewer's ``openid``. As documented (官方文档 网页授权,
https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html, and
https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken.md; wechatpy's
``WeChatOAuth``, WxJava's ``WxOAuth2Service``):

- ``https://open.weixin.qq.com/connect/oauth2/authorize?appid=APPID&redirect_uri=URLENCODED&response_type=code
  &scope=snsapi_base&state=STATE#wechat_redirect`` — the parameters in exactly this order (WeChat matches the
  link strictly), ``#wechat_redirect`` always, ``state`` only ``[a-zA-Z0-9]`` and at most 128 bytes, and the
  ``redirect_uri``'s host must be the account's 网页授权域名 (设置与开发 → 公众号设置 → 功能设置);
- WeChat sends the browser to ``redirect_uri?code=CODE&state=STATE``; the code is good once, for 5 minutes;
- ``GET https://api.weixin.qq.com/sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``
  answers ``{access_token, expires_in, refresh_token, openid, scope}`` or an ``errcode`` (40029 invalid code,
  40163 code been used — WxJava issue 372). This access_token is the user's, not the account's: we keep nothing
  but the openid.

``page_oauth(lx)`` is None when the deployment cannot use it (no app_id/app_secret, or ``[wechat] page_oauth``
off): the page is then opened by its link alone, with its other protections (console/push_links.py).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

import requests

from storage.runtime import Lianxin

log = logging.getLogger("lianxin.wechat_oauth")
STATE = re.compile(r"[A-Za-z0-9]{1,128}")


class PageOAuth:
    """Reads ``[wechat]`` at each call (as the API client is made per use), so one app follows its config."""

    def __init__(self, lx: Lianxin) -> None:
        self.lx = lx

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the browser; it comes back to ``redirect_uri`` with ``code`` and ``state``."""
        if not STATE.fullmatch(state):
            raise ValueError("state: [A-Za-z0-9], 1-128 characters")
        cfg = self.lx.config.wechat
        return (
            f"{cfg.oauth_base.rstrip('/')}/connect/oauth2/authorize?appid={cfg.app_id}"
            f"&redirect_uri={quote(redirect_uri, safe='')}&response_type=code&scope=snsapi_base"
            f"&state={state}#wechat_redirect"
        )

    def openid(self, code: str) -> str | None:
        """The openid of whoever WeChat gave ``code`` to; None when WeChat refuses the code (used, expired, made
        for another account) or does not answer."""
        cfg = self.lx.config.wechat
        try:
            resp = requests.get(
                cfg.api_base.rstrip("/") + "/sns/oauth2/access_token",
                params={
                    "appid": cfg.app_id,
                    "secret": cfg.app_secret,
                    "code": code,
                    "grant_type": "authorization_code",
                },
                timeout=cfg.request_timeout_seconds,
            )
            data = resp.json()
        except (requests.RequestException, ValueError) as e:
            log.warning("web OAuth: no answer from WeChat (%s)", e.__class__.__name__)
            return None
        errcode = int(data.get("errcode", 0) or 0)
        if errcode or not data.get("openid"):
            log.info("web OAuth: code refused (%s %s)", errcode, data.get("errmsg", ""))
            return None
        return str(data["openid"])


def page_oauth(lx: Lianxin) -> PageOAuth | None:
    cfg = lx.config.wechat
    if not cfg.page_oauth or not cfg.app_id or not cfg.app_secret:
        return None
    return PageOAuth(lx)
