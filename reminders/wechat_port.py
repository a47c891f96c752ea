"""What delivery needs from the outbound WeChat API client, and the errors it interprets.

The client itself (HTTP, the shared access token) is the WeChat transport and lives in ``bot/wechat/api.py``;
reminders sits below bot, so the client is injected (``Lianxin.wechat_api``, set by ``bot.app.build``, or the
``client=`` argument of ``dispatch_outbox`` / ``download_media``) and only this contract is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

FALLBACK_TO_TEMPLATE = {45015, 45047}  # out of the 48-hour window; customer-service quota spent
UNREACHABLE = {43004}  # the user unsubscribed
# The user switched off the account's messages: 48002 "粉丝拒收消息（粉丝在公众号选项中，关闭了“接收消息”）"
# (global return codes; WxJava WxMpErrorMsgEnum CODE_48002), and 43101 "user refuse to accept the msg", which
# template/send answers in the same case though the return-code table does not list it for template messages
# (developers' community doc/000a4a980007c0a02513aea3d61400; WxJava WxMaErrorMsgEnum CODE_43101 for 订阅消息).
REFUSED = {48002, 43101}
DAILY_QUOTA = {45009}  # API calls for today used up
CONTENT_TOO_LONG = 45002  # "content size out of limit": a customer-service text longer than WeChat takes


class WechatError(Exception):
    """An answer from WeChat with its ``errcode``: the caller decides (template, unreachable, pause, fail)."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"{errcode} {errmsg}".strip())
        self.errcode = errcode
        self.errmsg = errmsg


class TransientError(WechatError):
    """Worth trying again later: HTTP 5xx, a timeout, a broken connection, errcode -1."""


@dataclass
class Media:
    content: bytes
    content_type: str
    filename: str | None


class WechatApi(Protocol):
    """The calls delivery makes; they raise ``WechatError`` / ``TransientError``."""

    def send_text(self, openid: str, text: str) -> dict[str, Any]: ...

    def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> dict[str, Any]: ...

    def get_media(self, media_id: str) -> Media: ...

    def create_qrcode(self, scene_str: str) -> dict[str, Any]: ...

    def upload_media(self, kind: str, content: bytes, filename: str, content_type: str) -> str: ...

    def send_media(self, openid: str, kind: str, media_id: str) -> dict[str, Any]: ...

    def close(self) -> None: ...
