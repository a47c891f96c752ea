"""THE order of routers: the first route whose predicate matches handles the message.

Each feature module exports its router(s) (handlers.base.Router: an audience guard and ordered routes);
this file only says in which order whole routers are asked, and asks each router's guard once. A route's
own predicate says what the message must look like, never who may send it.
"""

from __future__ import annotations

from handlers import (
    account_events,
    binding,
    circular_notices,
    diary,
    disputes,
    events,
    guide,
    leave,
    me,
    menu,
    paging,
    policy,
    replies,
    station,
    tasks,
    unlink,
    villager,
)
from handlers.base import Context, Message, Router
from handlers.ledger import form, marks, role_change, undo

ROUTERS: tuple[Router, ...] = (
    # ---- anyone ---------------------------------------------------------------------------------------
    villager.scan_router,  # card QR scans (subscribe with qrscene_<token> / SCAN <token>) before the plain follow events
    menu.router,  # menu CLICK: answered like its chat command, by who taps (before events.other)
    account_events.router,  # 微信认证 events (年审, expired) from WeChat's system account: told to the office
    events.router,
    paging.router,  # 更多
    guide.router,  # 帮助
    binding.router,  # 绑定
    villager.card_router,  # not yet bound (or a household's account): a card number links to a household
    # ---- cadres -------------------------------------------------------------------------------------
    form.router,  # the open 登记 form sees the cadre's text before any other cadre route
    marks.router,  # 发卡 宣传 承诺
    role_change.router,  # 改
    unlink.router,  # 解绑 卡号
    undo.router,  # the ledger's 撤销 before the diary's: the most recent action wins
    tasks.router,
    diary.router,
    replies.router,
    disputes.router,  # 调解 M (a number must follow: `调解 …` without one stays a diary entry)
    station.router,  # 转办 M 部门 说明
    leave.router,  # 请假
    circular_notices.router,  # 排名
    me.router,
    policy.router,  # 政策 WORD, for everyone (no villager or unbound route before it takes that keyword)
    diary.plain_router,  # after every other cadre command: plain text and voice are diary entries
    # ---- villagers and unbound accounts ----------------------------------------------------------------
    policy.question_router,  # a plain policy question (never a command, so never 满意 or a cadre keyword)
    villager.router,
    guide.fallback_router,  # unbound accounts get the welcome; other kinds of message get help
)


def route(ctx: Context, msg: Message) -> tuple[str, str | None]:
    """The name of the route that handled ``msg`` and its reply (``"none"`` when nothing matched)."""
    for router in ROUTERS:
        if not router.guard(ctx):
            continue
        for r in router.routes:
            args = r.match(ctx, msg)
            if args is not None:
                return r.name, r.handle(ctx, msg, **args)
    return "none", None
