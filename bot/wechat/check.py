"""``lianxin wechat check``: the account against the WeChat API, one line per check with what to do.

Checks, in order (each names the errcode and the fix when it fails):
- token: ``stable_token`` answers with a token — 40125/40013 wrong AppSecret/AppID, 40164 the server's IP
  is not in the API IP whitelist, 40243 the secret is frozen (docs/wechat-rules.md §1a);
- account: a verified 服务号 (a call only such an account may make answers something other than 48001);
- templates: each configured kind's template id is among the account's templates
  (``template/get_all_private_template``) and every ``{{key.DATA}}`` of its content is mapped in ``fields``
  (``first`` and ``remark`` are not shown since 2023 and need no mapping) to a value name of that kind;
- menu: ``menu/get`` has the menu that ``lianxin wechat menu`` would create;
Server-side checks (bot/wechat/check_server.py):
- public_url: set (else every template link points at 127.0.0.1), https, and ``/healthz`` answers there;
- port: a warning when public_url's port is not 80 or 443, the only ones WeChat accepts in a server URL;
- server: the server URL answers WeChat's URL check (``GET /wechat`` signed with ``[wechat] token``, the
  echostr back) — the same check WeChat makes when the server configuration is saved (docs/wechat-rules.md §7a);
- callback: WeChat's own 网络检测 (``callback/check``): a server URL is saved (40201 when none), it resolves, and
  to the host of public_url; an account that may not call it is told "cannot check" (SKIP), not a failure;
- messages: how WeChat sent messages in the last 24 hours (plain / encrypted, from ``inbound_message.transport``)
  and whether our EncodingAESKey opened them (``wechat_edge_fault``): a key set while the account still sends
  plain is a warning, a key that does not decrypt what WeChat signed (or no key for encrypted messages) fails.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from bot.wechat import check_server
from bot.wechat.api import WechatClient
from bot.wechat.check_result import FAIL, OK, SKIP, WARN, Check
from bot.wechat.menu import MenuError, build_menu, same_menu
from reminders.wechat_port import WechatError
from storage.config import TEMPLATE_VALUE_NAMES, template_value_known
from storage.runtime import Lianxin

__all__ = ["FAIL", "OK", "SKIP", "WARN", "Check", "failed", "run_checks", "summary"]


VALUE_NAMES = (
    TEMPLATE_VALUE_NAMES  # the value names each kind of push offers a template (PRODUCT.md "Pushes")
)
UNSHOWN_KEYS = {"first", "remark"}  # not displayed since 2023-05-04 (docs/wechat-rules.md §4c)
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\.DATA\s*\}\}")

TOKEN_FIXES = {
    40125: "AppSecret 不对：到 公众号后台 › 设置与开发 › 基本配置 重置 AppSecret，填入 [wechat] app_secret",
    40001: "AppSecret 不对：到 公众号后台 › 设置与开发 › 基本配置 重置 AppSecret，填入 [wechat] app_secret",
    40013: "AppID 不对：从 公众号后台 › 设置与开发 › 基本配置 复制 AppID（wx 开头 18 位）到 [wechat] app_id",
    40164: "本服务器的出口 IP 不在 IP 白名单：到 基本配置 › IP白名单 加入本机出口 IP（错误信息里给出了该 IP）",
    40243: "AppSecret 已被冻结：到 基本配置 解冻或重置",
    89503: "新 IP 调用需要管理员确认：用管理员微信确认后再试",
}


def configured_templates(lx: Lianxin) -> dict[str, tuple[str, dict[str, str]]]:
    """kind -> (template id, fields) for each configured kind (``[wechat.templates.KIND] id, fields``)."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for kind in VALUE_NAMES:
        section = lx.config.templates[kind]
        tid, fields = section.id, dict(section.fields or {})
        if tid:
            out[kind] = (str(tid), {str(k): str(v) for k, v in fields.items()})
    return out


def _token(client: WechatClient) -> tuple[Check, bool]:
    if not client.app_id or not client.secret:
        return Check(
            "token",
            FAIL,
            "[wechat] app_id / app_secret 未填写",
            "从 公众号后台 › 设置与开发 › 基本配置 复制 AppID 和 AppSecret",
        ), False
    try:
        expires_in = client.check_credentials()
    except WechatError as e:
        return Check(
            "token",
            FAIL,
            f"errcode {e.errcode} {e.errmsg}".strip(),
            TOKEN_FIXES.get(e.errcode, f"{client.base} 不可用或答复异常，稍后再试"),
        ), False
    return Check("token", OK, f"access_token 已取得（{expires_in} 秒内有效）"), True


def _account(client: WechatClient) -> Check:
    try:
        client.private_templates()
    except WechatError as e:
        if e.errcode == 48001:
            return Check(
                "account",
                FAIL,
                "48001 api unauthorized：不是已认证的服务号",
                "模板消息、带参数二维码、客服消息需要已认证的服务号：完成微信认证后再试",
            )
        return Check("account", FAIL, f"errcode {e.errcode} {e.errmsg}", "见 docs/deploy.md“开始之前”")
    return Check("account", OK, "已认证服务号（模板消息接口可用）")


def _templates(lx: Lianxin, client: WechatClient) -> list[Check]:
    wanted = configured_templates(lx)
    try:
        listing = {t.get("template_id"): t for t in client.private_templates()}
    except WechatError as e:
        return [
            Check(
                "templates",
                FAIL,
                f"get_all_private_template: errcode {e.errcode} {e.errmsg}",
                "见 account 一行",
            )
        ]
    checks = []
    for kind in VALUE_NAMES:
        name = f"template {kind}"
        if kind not in wanted:
            checks.append(
                Check(
                    name,
                    WARN,
                    "未配置：48 小时窗口之外这类推送发不出去",
                    f"在 模板消息 › 从模板库中添加 选一个模板，把 ID 和字段填入 [wechat.templates.{kind}]",
                )
            )
            continue
        tid, fields = wanted[kind]
        tpl = listing.get(tid)
        if tpl is None:
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"模板 ID {tid} 不在本账号的“我的模板”里（发送会得到 40037）",
                    f"从 模板消息 › 我的模板 复制模板 ID，填入 [wechat.templates.{kind}] id",
                )
            )
            continue
        keys = [k for k in PLACEHOLDER.findall(tpl.get("content", "")) if k not in UNSHOWN_KEYS]
        unmapped = [k for k in keys if k not in fields]
        extra = [k for k in fields if k not in keys]
        unknown = [f"{k}={v}" for k, v in fields.items() if not template_value_known(kind, v)]
        problems = []
        if unmapped:
            problems.append("模板的字段未映射：" + "、".join(unmapped))
        if extra:
            problems.append("fields 里有模板没有的字段（发送会得到 47003）：" + "、".join(extra))
        if unknown:
            problems.append(
                "未知的取值名：" + "、".join(unknown) + f"（可用：{', '.join(VALUE_NAMES[kind])}）"
            )
        title = tpl.get("title", "")
        if problems:
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"{tid}「{title}」" + "；".join(problems),
                    f"在 [wechat.templates.{kind}] fields 为模板的每个字段 {', '.join(keys)} 指定取值名",
                )
            )
        else:
            checks.append(Check(name, OK, f"{tid}「{title}」字段 {', '.join(keys)} 均已映射"))
    return checks


def _menu(lx: Lianxin, client: WechatClient) -> Check:
    try:
        wanted = build_menu(lx.config.menu.buttons, lx.config.public_url).body
    except MenuError as e:
        return Check("menu", FAIL, f"[wechat.menu] 有误：{e}", "按 docs/deploy.md 改正 [wechat.menu]")
    try:
        current = client.get_menu()
    except WechatError as e:
        return Check("menu", FAIL, f"menu/get: errcode {e.errcode} {e.errmsg}", "见 token / account 两行")
    if current is None:
        return Check("menu", FAIL, "公众号还没有自定义菜单", "运行 `lianxin wechat menu`")
    if not same_menu(wanted, current):
        return Check("menu", WARN, "公众号的菜单与 [wechat.menu] 不同", "运行 `lianxin wechat menu` 重新发布")
    return Check("menu", OK, f"菜单已发布（{len(current.get('button') or [])} 个一级菜单）")


def run_checks(lx: Lianxin, client: WechatClient, *, http: requests.Session | None = None) -> list[Check]:
    http = http or requests.Session()
    checks: list[Check] = []
    token_check, have_token = _token(client)
    checks.append(token_check)
    if have_token:
        account = _account(client)
        checks.append(account)
        checks.extend(
            _templates(lx, client)
            if account.status == OK
            else [Check("templates", SKIP, "未检查（账号无模板消息权限）")]
        )
        checks.append(_menu(lx, client))
    else:
        checks.extend(
            Check(name, SKIP, "未检查（没有 access_token）") for name in ("account", "templates", "menu")
        )
    url_checks, reachable = check_server.public_url(lx, http)
    checks.extend(url_checks)
    checks.append(check_server.server(lx, http, reachable))
    checks.append(
        check_server.callback(lx, client)
        if have_token
        else Check("callback", SKIP, "未检查（没有 access_token）")
    )
    checks.append(check_server.messages(lx))
    return checks


def failed(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)


def summary(checks: list[Check]) -> dict[str, Any]:
    return {s: sum(1 for c in checks if c.status == s) for s in (OK, WARN, FAIL, SKIP)}
