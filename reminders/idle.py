"""Why nothing is sent, and what to do about it, for the office: the console's delivery page and dashboard and
``lianxin outbox`` ask the same function. (Holds after a WeChat error are reminders/holds.py ``describe``; a
45009 pause is ``paused_until``: both are shown beside these.)"""

from __future__ import annotations

from dataclasses import dataclass

from reminders import delivery, scheduler
from storage.runtime import Lianxin


@dataclass(frozen=True)
class Idle:
    """One reason the outbox does not move: ``key`` (for tests and templates), ``why`` and ``todo``."""

    key: str
    why: str
    todo: str


NO_APP_ID = Idle(
    "no_app_id",
    "配置中没有填写公众号的 AppID 和 AppSecret，所有推送都留在队列里，一条也不会发出（不会丢失）。",
    "在配置文件 [wechat] 中填写 app_id 和 app_secret（公众号后台“设置与开发 → 基本配置”），重启 lianxin serve，"
    "再运行 lianxin wechat check 检查公众号设置。",
)
NO_SCHEDULER = Idle(
    "no_scheduler",
    "当前没有运行中的调度进程：定时提醒不会生成，排队的推送也不会自动发出。",
    "启动 lianxin serve（它同时运行调度），或单独运行 lianxin scheduler；临时可运行 lianxin dispatch --once 手动发一轮。",
)


def why_idle(lx: Lianxin) -> list[Idle]:
    """What stops delivery as a whole right now (empty: nothing does)."""
    out = []
    if not delivery.configured(lx):
        out.append(NO_APP_ID)
    if scheduler.lease_holder(lx) is None:
        out.append(NO_SCHEDULER)
    return out
