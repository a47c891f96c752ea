"""Account-level faults hold delivery; they do not fail messages.

Some answers say nothing about one message and no retry of it can cure them: the account lacks the permission
(48001: template and customer-service messages are for verified service accounts, docs/wechat-rules.md §8), the
server's IP is not whitelisted (40164), the AppID/AppSecret is wrong (40013/40125, §1a), the template id is
unknown (40037, §4a) or none is configured, the template's keys do not match the configured fields (47003), the
template is banned (43116) or the template API is (48004). Failing each queued message for them would empty the queue one
message at a time. Instead delivery of that kind (or of all: ``scope``) is held in ``delivery_hold``:
the message that met the fault goes back to ``pending`` untouched, the others are not even claimed, the office
is told once (one notice, queued when the hold begins), the console's delivery page and ``lianxin outbox``
say why and what to do. Every ``[wechat] hold_probe_minutes`` the dispatcher lets one batch through as a probe:
if it still meets the fault the hold stays (nobody is told again); if it goes through, the hold is lifted and
the held messages are delivered, each once. ``lianxin outbox --resume`` probes at once.
45011 (the per-minute limit) holds everything for a minute, doubling while it persists (back-off).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reminders import lease
from reminders.render import render
from storage import offices
from storage.models import DeliveryHold
from storage.outbox import enqueue
from storage.runtime import Lianxin

log = logging.getLogger("lianxin.delivery")


@dataclass(frozen=True)
class Fault:
    scope: str  # "all" | "kind"
    why: str
    todo: str
    # The fault is the kind's template's (its id, its keys, a ban): customer-service messages of that kind, to
    # people whose 48-hour window is open, still go while the template messages wait.
    template_only: bool = False


NO_TEMPLATE = 0  # our own code for "no template id configured"
FAULTS: dict[int, Fault] = {
    48001: Fault(
        "all",
        "公众号没有调用此接口的权限（48001）：模板消息和客服消息只对已认证的服务号开放",
        "完成微信认证并在公众号后台开通“模板消息”，然后执行 lianxin outbox --resume",
    ),
    40164: Fault(
        "all",
        "本服务器的 IP 不在公众号的 IP 白名单中（40164）",
        "在公众号后台“设置与开发 → 基本配置 → IP 白名单”加入本服务器的出口 IP，然后执行 lianxin outbox --resume",
    ),
    40125: Fault(
        "all",
        "AppSecret 不正确（40125）",
        "核对 config.toml 中 [wechat] app_secret（公众号后台可重置），重启后执行 lianxin outbox --resume",
    ),
    40013: Fault(
        "all",
        "AppID 不正确（40013）",
        "核对 config.toml 中 [wechat] app_id，重启后执行 lianxin outbox --resume",
    ),
    40037: Fault(
        "kind",
        "模板 ID 无效（40037）：公众号里没有这个模板",
        "在公众号后台“模板消息 → 我的模板”核对，改正 config.toml 中的 [wechat.templates.{kind}] id",
        template_only=True,
    ),
    NO_TEMPLATE: Fault(
        "kind",
        "没有配置模板 ID",
        "在公众号后台选用模板，填入 config.toml 中的 [wechat.templates.{kind}] id（见 docs/deploy.md）",
        template_only=True,
    ),
    # 47003 "模板参数不准确，可能为空或者不满足规则，errmsg会提示具体是哪个字段出错" (argument invalid; WxJava
    # WxMpErrorMsgEnum CODE_47003): every value is fitted to its key's type (reminders/template_values.py), so
    # what is left is the mapping — a key the template does not have, or of another type than its name says.
    47003: Fault(
        "kind",
        "模板字段与配置不符（47003）：微信拒收了某个字段的取值",
        "执行 lianxin wechat check 核对 [wechat.templates.{kind}] fields 与模板的字段（字段名和类型），"
        "改正后重启并执行 lianxin outbox --resume",
        template_only=True,
    ),
    # 43116 "该模板因滥用被限制下发" (WxJava WeChatApiResultEnumeration CODE_43116): this template may not be sent.
    43116: Fault(
        "kind",
        "该模板因被投诉滥用已被微信限制下发（43116）",
        "在公众号后台“模板消息”选用另一个合适的模板，改 config.toml 中的 [wechat.templates.{kind}] id 和 "
        "fields，重启后执行 lianxin outbox --resume",
        template_only=True,
    ),
    # 48004 "api接口被封禁，请登录mp.weixin.qq.com查看详情" (WxJava WxMpErrorMsgEnum CODE_48004).
    48004: Fault(
        "kind",
        "模板消息接口被微信封禁（48004）",
        "登录 mp.weixin.qq.com 查看封禁原因并申诉；解封后执行 lianxin outbox --resume",
        template_only=True,
    ),
    45011: Fault("all", "接口调用过于频繁（45011，每分钟限额）", "无需处理：一分钟后自动继续"),
}


def fault_for(errcode: int) -> Fault | None:
    return FAULTS.get(errcode)


def scope_of(fault: Fault, kind: str) -> str:
    return kind if fault.scope == "kind" else "all"


def describe(hold: DeliveryHold) -> tuple[str, str]:
    """(why, what to do) for the console and the CLI."""
    fault = FAULTS.get(hold.errcode)
    kind = hold.scope if hold.scope != "all" else ""
    if fault is None:
        return hold.reason, "lianxin outbox --resume"
    if hold.errcode == 47003:  # WeChat's errmsg names the key ("data.thing2.value invalid")
        return f"{fault.why}：{hold.reason}", fault.todo.format(kind=kind)
    return fault.why, fault.todo.format(kind=kind)


@dataclass(frozen=True)
class HoldView:
    """A hold as people are told of it: the console's banner on every page, /healthz, the delivery page."""

    scope: str
    label: str  # 全部推送 | “task”类推送
    errcode: int
    why: str
    todo: str
    since: datetime
    next_probe_at: datetime
    template_only: bool  # customer-service messages of the kind still go to people whose window is open


KIND_LABELS = {
    "task": "督办卡",
    "reminder": "提醒",
    "request": "村民诉求",
    "reply": "诉求答复",
    "notice": "通知",
}


def current(lx: Lianxin) -> list[HoldView]:
    """Every active hold, described: the one function the console's banner, the delivery page and /healthz use."""
    out = []
    for h in active(lx):
        why, todo = describe(h)
        label = "全部推送" if h.scope == "all" else f"{KIND_LABELS.get(h.scope, h.scope)}类推送"
        out.append(
            HoldView(
                h.scope, label, h.errcode, why, todo, h.since, h.next_probe_at, is_template_only(h.errcode)
            )
        )
    return out


def active(lx: Lianxin) -> list[DeliveryHold]:
    with lx.read_session() as s:
        return list(s.scalars(select(DeliveryHold).order_by(DeliveryHold.scope)))


def blocked(holds: list[DeliveryHold], now: datetime) -> tuple[bool, set[str], set[str]]:
    """(everything held, kinds held, kinds whose template messages only are held) at ``now``: a hold whose
    probe time has come lets a batch through. A kind held for its template (``Fault.template_only``) still goes
    as customer-service messages to people whose window is open: the channel that is not held."""
    waiting = [h for h in holds if h.next_probe_at > now]
    kinds = {h.scope for h in waiting if h.scope != "all"}
    template_only = {h.scope for h in waiting if h.scope in kinds and is_template_only(h.errcode)}
    return any(h.scope == "all" for h in waiting), kinds - template_only, template_only


def is_template_only(errcode: int) -> bool:
    fault = FAULTS.get(errcode)
    return fault is not None and fault.template_only


def hold(lx: Lianxin, *, scope: str, errcode: int, detail: str, now: datetime) -> None:
    """Start or prolong the hold of ``scope``; the office is told once, when it starts."""
    try:
        _hold(lx, scope=scope, errcode=errcode, detail=detail, now=now)
    except IntegrityError:
        # Another dispatcher met the same fault at the same moment and started the hold (and told the office):
        # the unique scope keeps it to one; prolong that one.
        _hold(lx, scope=scope, errcode=errcode, detail=detail, now=now)


def _hold(lx: Lianxin, *, scope: str, errcode: int, detail: str, now: datetime) -> None:
    probe = timedelta(minutes=lx.config.wechat.hold_probe_minutes)
    with lx.session() as s:
        row = s.scalar(select(DeliveryHold).where(DeliveryHold.scope == scope))
        if errcode == 45011:  # per-minute limit: back off 1, 2, 4 … minutes, at most the probe interval
            wait = (
                timedelta(minutes=1)
                if row is None or row.errcode != 45011
                else min(
                    probe, (row.next_probe_at - row.since) * 2 if row.next_probe_at > row.since else probe
                )
            )
        else:
            wait = probe
        if row is not None:
            # A new cause is news: a passing 45011 that turns into 48001, or one account fault into another,
            # needs the office (the todo differs); the same cause again does not.
            tell = errcode != 45011 and (not row.notified or row.errcode != errcode)
            row.errcode, row.reason, row.next_probe_at = errcode, detail[:500], now + wait
            if tell:
                row.notified = True
                _tell_office(lx, s, scope=scope, errcode=errcode, now=now)
            return
        s.add(
            DeliveryHold(
                scope=scope,
                errcode=errcode,
                reason=detail[:500],
                since=now,
                next_probe_at=now + wait,
                notified=errcode != 45011,
            )
        )
        if errcode != 45011:  # a passing limit: nobody needs to act
            _tell_office(lx, s, scope=scope, errcode=errcode, now=now)


def _tell_office(lx: Lianxin, s: Session, *, scope: str, errcode: int, now: datetime) -> None:
    fault = FAULTS[errcode]
    text = render(
        "delivery_held",
        scope=scope,
        why=fault.why,
        todo=fault.todo.format(kind=scope),
        since=now.astimezone(lx.config.tz).strftime("%Y-%m-%d %H:%M"),
    )
    for openid in offices.recipients(s, lx.config):
        enqueue(
            s,
            openid=openid,
            kind="notice",
            text=text,
            key=f"hold:{scope}:{errcode}:{int(now.timestamp())}:{openid}",
            template={"title": f"推送暂停：{fault.why[:12]}", "text": fault.todo.format(kind=scope)},
        )


def lift(lx: Lianxin, scopes: set[str]) -> None:
    """The cause is gone (a probe went through): delivery of these scopes resumes."""
    if not scopes:
        return
    with lx.session() as s:
        s.execute(delete(DeliveryHold).where(DeliveryHold.scope.in_(scopes)))


def resume_now(lx: Lianxin, now: datetime) -> int:
    """``lianxin outbox --resume``: every hold is probed at the next dispatch (now). Returns how many."""
    with lx.session() as s:
        rows = list(s.scalars(select(DeliveryHold)))
        for row in rows:
            row.next_probe_at = now
        return len(rows)


# 45009 (the day's API calls spent) pauses all delivery with a lease until local midnight (real time: WeChat's
# day), or [wechat] quota_pause_hours.
PAUSE_LEASE = "delivery-paused"


def paused_until(lx: Lianxin) -> datetime | None:
    held = lease.holder_of(lx.engine, PAUSE_LEASE, now=lease.real_now())
    return held[1] if held else None


def pause_for_quota(lx: Lianxin) -> None:
    """45009: the API's calls for today are spent; nothing goes until local midnight (or quota_pause_hours)."""
    hours = lx.config.wechat.quota_pause_hours
    real = lease.real_now()  # WeChat counts its day in real time
    if hours > 0:
        until = real + timedelta(hours=hours)
    else:
        tz = lx.config.tz
        local = real.astimezone(tz)
        until = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    log.warning("45009: WeChat API daily quota spent; delivery paused until %s", until.isoformat())
    lease.set_until(lx.engine, PAUSE_LEASE, "45009", until)
