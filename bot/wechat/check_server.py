"""``lianxin wechat check``, the server's side: public_url (set, https, a port WeChat accepts, /healthz), the URL
check WeChat makes, WeChat's own 网络检测 (``callback/check``) and how WeChat has been sending messages (plain or
encrypted, and whether our EncodingAESKey opens them). The account's side (token, templates, menu) and the order
of all checks are in bot/wechat/check.py.
"""

from __future__ import annotations

import re
import secrets
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import requests

from bot.wechat.api import WechatClient
from bot.wechat.check_result import FAIL, OK, SKIP, WARN, Check
from bot.wechat.inbound import sign
from reminders.wechat_port import WechatError
from storage import wechat_edge
from storage.runtime import Lianxin

RECENT = timedelta(hours=24)

ALLOWED_PORTS = (80, 443)  # the only ports WeChat accepts in a server URL (docs/wechat-rules.md §7a)


def public_url(lx: Lianxin, http: requests.Session) -> tuple[list[Check], bool]:
    """public_url set, https, on a port WeChat accepts, and /healthz answering there; (checks, reachable)."""
    configured = lx.config.wechat.public_url or lx.config.general.public_url
    url = lx.config.public_url
    if not configured:
        return [
            Check(
                "public_url",
                FAIL,
                f"[wechat] public_url 未设置：模板消息的详情链接和菜单网页都会指向 {url}，微信用户打不开",
                "把本系统的 https 地址（如 https://lianxin.example.gov.cn）填入 [wechat] public_url",
            )
        ], False
    parts = urlparse(url)
    if parts.scheme != "https" or not parts.hostname:
        return [
            Check(
                "public_url",
                FAIL,
                f"{url} 不是 https 地址",
                "微信只打开 https 链接：配置证书（docs/deploy.md 第 4 节）后把 https 地址填入 [wechat] public_url",
            )
        ], False
    checks = []
    try:
        port = parts.port or 443
    except ValueError:
        port = -1
    if port not in ALLOWED_PORTS:
        checks.append(
            Check(
                "port",
                WARN,
                f"{url} 的端口是 {port}：公众号后台的服务器地址（URL）只接受 80 和 443 端口",
                "让 nginx 在 443 端口提供服务，public_url 不写端口",
            )
        )
    try:
        resp = http.get(url + "/healthz", timeout=10)
    except requests.RequestException as e:
        checks.append(
            Check(
                "public_url",
                FAIL,
                f"{url}/healthz 无法访问：{e.__class__.__name__}",
                "确认 `lianxin serve` 在运行、证书有效，且反向代理把该地址转到它",
            )
        )
        return checks, False
    if resp.status_code != 200:
        checks.append(
            Check(
                "public_url",
                FAIL,
                f"{url}/healthz 答复 HTTP {resp.status_code}",
                "确认反向代理把该地址转到 `lianxin serve`",
            )
        )
        return checks, False
    checks.insert(0, Check("public_url", OK, f"{url}/healthz 正常"))
    return checks, True


def server(lx: Lianxin, http: requests.Session, reachable: bool) -> Check:
    token = lx.config.wechat.token
    if not token:
        return Check(
            "server",
            FAIL,
            "[wechat] token 为空",
            "在 基本配置 › 服务器配置 设一个令牌 Token，填入 [wechat] token",
        )
    if not re.fullmatch(r"[A-Za-z0-9]{3,32}", token):
        return Check(
            "server",
            FAIL,
            f"[wechat] token 须为 3–32 位英文字母或数字（现为 {len(token)} 位）",
            "在 服务器配置 重设令牌并填入 [wechat] token",
        )
    url = lx.config.public_url + "/wechat"
    if not reachable:
        return Check("server", SKIP, f"{url} 的 URL 校验未做（public_url 不可达）")
    timestamp, nonce, echostr = str(int(lx.now().timestamp())), secrets.token_hex(5), secrets.token_hex(8)
    query = {
        "signature": sign(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echostr,
    }
    try:
        resp = http.get(url, params=query, timeout=10)
    except requests.RequestException as e:
        return Check(
            "server",
            FAIL,
            f"{url} 无法访问：{e.__class__.__name__}",
            "确认反向代理把 /wechat 转到 `lianxin serve`",
        )
    if resp.status_code == 200 and resp.text == echostr:
        mode = "安全模式" if lx.config.wechat.encoding_aes_key else "明文模式"
        return Check("server", OK, f"{url} 通过 URL 校验（令牌一致，{mode}）")
    return Check(
        "server",
        FAIL,
        f"{url} 未通过 URL 校验（HTTP {resp.status_code}）",
        "服务器上运行的配置与这里的 [wechat] token 不同：两边改成与 服务器配置 中的令牌一致",
    )


# Answers of callback/check that mean "this account may not use the API", not "the server is wrong".
NO_PERMISSION = {48001, 48004, 50001}


def callback(lx: Lianxin, client: WechatClient) -> Check:
    """WeChat's own view (网络检测, callback/check): is a server URL saved, and does it resolve and answer ping."""
    try:
        answer = client.callback_check()
    except WechatError as e:
        if e.errcode == 40201:
            return Check(
                "callback",
                FAIL,
                "40201：公众号后台没有保存服务器地址（URL），微信不会把消息推给本系统",
                f"在 设置与开发 › 基本配置 › 服务器配置 填入 {lx.config.public_url}/wechat、令牌和 EncodingAESKey，"
                "提交并启用",
            )
        if e.errcode in NO_PERMISSION:
            return Check(
                "callback",
                SKIP,
                f"无法检测：本账号不能调用网络检测接口（errcode {e.errcode}），服务器地址是否保存以 server 一行和真实消息为准",
            )
        return Check(
            "callback",
            WARN,
            f"网络检测未完成：errcode {e.errcode} {e.errmsg}".strip(),
            "稍后再运行 `lianxin wechat check`",
        )
    ips = [str(d.get("ip", "")) for d in answer.get("dns") or [] if d.get("ip")]
    pings = {str(p.get("ip", "")): str(p.get("package_loss", "")) for p in answer.get("ping") or []}
    if not ips:
        return Check(
            "callback",
            FAIL,
            "微信解析不出服务器地址（URL）的域名",
            "检查域名解析（A 记录），以及服务器配置里的 URL 是否写对",
        )
    shown = "、".join(f"{ip}（ping 丢包 {pings.get(ip, '?')}）" for ip in ips)
    host = urlparse(lx.config.public_url).hostname or ""
    ours = _resolve(host)
    if ours and not set(ours) & set(ips):
        return Check(
            "callback",
            WARN,
            f"公众号后台保存的服务器地址解析到 {shown}，而 public_url 的 {host} 解析到 {'、'.join(ours)}",
            f"服务器配置里的 URL 应为 {lx.config.public_url}/wechat",
        )
    return Check("callback", OK, f"公众号后台已保存服务器地址，微信解析到 {shown}")


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (OSError, UnicodeError):
        return []


def messages(lx: Lianxin) -> Check:
    """How WeChat has been sending: plain or encrypted, and whether our key opened what it sent (last 24 h)."""
    now = lx.now()
    with lx.session() as s:
        seen = wechat_edge.transports_since(s, now - RECENT)
        faults = wechat_edge.faults(s)
        last_aes = wechat_edge.last_received(s, "aes")
        last_read = max(
            (t for t in (wechat_edge.last_received(s, "plain"), wechat_edge.last_received(s, "compat")) if t),
            default=None,
        )
    plain, aes, compat = seen["plain"], seen["aes"], seen["compat"]
    counted = f"最近 24 小时收到的消息：明文 {plain} 条、密文 {aes + compat} 条"
    keyed = bool(lx.config.wechat.encoding_aes_key)
    key_fix = (
        "从 基本配置 › 服务器配置 复制 EncodingAESKey 填入 [wechat] encoding_aes_key，重启 `lianxin serve`"
    )

    def recent(kind: str) -> Any:
        f = faults.get(kind)
        return f if f is not None and f.last_at >= now - RECENT else None

    failed = recent(wechat_edge.DECRYPT_FAILED) if keyed else None
    if failed is not None and (last_aes is None or last_aes < failed.last_at):
        return Check(
            "messages",
            FAIL,
            f"微信发来的加密消息无法用 [wechat] encoding_aes_key 解密（最近一次 {_local(lx, failed.last_at)}，"
            f"累计 {failed.count} 次），这些消息都没有收到：密钥填错了，或在公众号后台改过",
            key_fix,
        )
    missing = None if keyed else recent(wechat_edge.NO_KEY)
    if missing is not None and (last_read is None or last_read < missing.last_at):  # not since read fine
        return Check(
            "messages",
            FAIL,
            f"公众号后台是安全模式，但 [wechat] encoding_aes_key 为空：加密消息都被拒收（最近一次 "
            f"{_local(lx, missing.last_at)}，累计 {missing.count} 次）",
            key_fix,
        )
    if plain + aes + compat == 0:
        return Check(
            "messages",
            OK,
            "最近 24 小时没有收到消息（用微信给公众号发一条消息后再检查，可确认消息加解密方式）",
        )
    if keyed and aes == 0:
        return Check(
            "messages",
            WARN,
            f"{counted} — 公众号后台仍是明文模式（消息照常处理，但没有加密）",
            "在 基本配置 › 服务器配置 把“消息加解密方式”改为安全模式",
        )
    if compat:
        return Check(
            "messages",
            WARN,
            f"{counted} — 公众号后台是兼容模式，[wechat] encoding_aes_key 为空，按明文处理",
            key_fix + "，再把消息加解密方式改为安全模式",
        )
    mode = "安全模式" if aes and not plain else ("明文模式" if not aes else "明文与密文都有")
    return Check("messages", OK, f"{counted}（{mode}）")


def _local(lx: Lianxin, at: Any) -> str:
    return str(at.astimezone(lx.config.tz).strftime("%m月%d日 %H:%M"))
