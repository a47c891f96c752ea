"""The words people read for the codes the product stores: statuses, kinds of push, console roles, scheduled
jobs and what they report. One place for the console's templates (console/filters.py) and the command line
(bot/cli), so neither prints ``pending``, ``notice`` or ``not_configured=True``; ``shorten`` cuts a text for a
one-line listing without splitting a number ("排第 10 名" never becomes "排第 1")."""

from __future__ import annotations

import re
from typing import Any

STATUS_ZH = {
    # task assignments
    "pending": "待发送",
    "delivered": "已送达",
    "acknowledged": "已查看",
    "fed_back": "已反馈",
    "done": "已完成",
    "returned": "已退回",
    # requests
    "open": "待答复",
    "answered": "已答复",
    "closed": "已办结",
    "transferred": "已转办",  # with a township department (storage/station/)
    # outbox
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "merged": "已合并",
    "expired": "已过期未发",
    "refused": "对方拒收",
    # lights
    "green": "正常",
    "yellow": "临期",
    "red": "逾期",
    "late": "逾期完成",
    "grey": "已完成",
}
ROLE_ZH = {
    "admin": "办公室管理员",
    "village": "村(居)账号",
    "viewer": "只读（领导）",
    "county-admin": "县级管理员",
    "county-viewer": "县级只读（领导）",
    "department": "站办所",
}
# report kinds (storage/assessment): what a circular is called
REPORT_KIND_ZH = {"month": "月通报", "quarter": "季点评", "year": "年考核"}
# a supervision card's extension request (storage/models.py TaskAssignment.extension_status)
EXTENSION_ZH = {"requested": "已申请延期", "granted": "已同意延期", "refused": "未同意延期"}
# what the outbox carries (storage/models.py OutboxMessage.kind, reminders' outbox kinds)
PUSH_KIND_ZH = {
    "task": "督办卡",
    "reminder": "提醒",
    "request": "群众诉求",
    "reply": "诉求答复",
    "notice": "通知",
    "sla_remind": "诉求催办",
    "duty_due": "台账提醒",
}
# the scheduled jobs (reminders/jobs.py JOBS), as ``lianxin jobs`` says them
JOB_ZH = {
    "publish_tasks": "发布到时的督办卡",
    "deadline_reminders": "督办卡截止提醒",
    "diary_reminders": "民情日记提醒",
    "month_end_reminders": "月底提醒",
    "monthly_circular": "月通报",
    "villager_sla": "诉求超时提醒",
    "dispatch_outbox": "投递推送",
    "duty_reminders": "台账到期提醒",
    "housekeeping": "清理过期上传",
}
# what a job reports (reminders/reminding.py JobResult.detail)
JOB_DETAIL_ZH = {
    "cards": "督办卡",
    "overdue": "逾期",
    "workday": "工作日",
    "in_window": "在提醒时段内",
    "period": "期间",
    "stored": "保存",
    "custom": "客服消息",
    "template": "模板消息",
    "merged": "合并",
    "retried": "将重试",
    "failed": "失败",
    "expired": "过期未发",
    "paused": "暂停",
    "busy": "被其他进程占用",
    "media": "下载媒体",
    "not_configured": "未配置公众号（app_id 为空，消息保留未发）",
    "uploads_removed": "清理上传文件",
    "reminder_day": "提醒日",
    "duties": "到期台账",
    "behind": "未完成",
}
_STORED_ZH = {"True": "已保存", "stored": "已保存", "already": "此前已保存", "empty": "无数据"}


def status_zh(status: str | None) -> str:
    return STATUS_ZH.get(str(status), str(status or ""))


def job_line(name: str, sent: int, skipped: int, detail: dict[str, Any]) -> str:
    """A job's result in words: "投递推送：发出 3 条，跳过 0 条；失败 1；未配置公众号（…）"."""
    parts = []
    for key, value in detail.items():
        label = JOB_DETAIL_ZH.get(key, key)
        if value is True:
            parts.append(label)
        elif value is False:
            parts.append(f"非{label}" if key != "in_window" else "不在提醒时段内")
        elif isinstance(value, dict):
            parts.append(
                f"{label} " + "，".join(f"{k} {_STORED_ZH.get(str(v), v)}" for k, v in value.items())
            )
        elif isinstance(value, list):
            parts.append(f"{label} " + "、".join(str(v) for v in value) if value else f"{label} 无")
        else:
            parts.append(f"{label} {_STORED_ZH.get(str(value), value)}")
    head = f"{JOB_ZH.get(name, name)}：发出 {sent} 条，跳过 {skipped} 条"
    return head + ("；" + "；".join(parts) if parts else "")


_TAIL_RUN = re.compile(r"[0-9A-Za-z.,:%]+$")


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters and an ellipsis; a number or word the cut would split
    is left out whole rather than shown wrong."""
    flat = " ".join(str(text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if flat[limit].isascii() and flat[limit].isalnum():
        cut = _TAIL_RUN.sub("", cut)
    return cut.rstrip() + "…"


_INTERVAL = re.compile(r"^interval\[(\d+):(\d\d):(\d\d)\]$")
_CRON = re.compile(r"^cron\[(.*)\]$")


def trigger_zh(trigger: str) -> str:
    """A scheduled job's trigger as APScheduler writes it (``interval[0:01:00]``, ``cron[hour='19', minute='30']``)
    in words ("每 1 分钟", "每天 19:30"); one this does not know is shown as written."""
    m = _INTERVAL.match(trigger)
    if m:
        h, mi, sec = (int(x) for x in m.groups())
        if h:
            return f"每 {h} 小时" if not mi else f"每 {h} 小时 {mi} 分"
        return f"每 {mi} 分钟" if mi and not sec else f"每 {mi * 60 + sec} 秒"
    m = _CRON.match(trigger)
    if not m:
        return trigger
    fields = dict(re.findall(r"(\w+)='([^']*)'", m.group(1)))
    minute, hour, day = fields.pop("minute", None), fields.pop("hour", None), fields.pop("day", None)
    if fields or minute is None:
        return trigger
    if minute.startswith("*/") and hour is None and day is None:
        return f"每 {minute[2:]} 分钟"
    if not minute.isdigit():
        return trigger
    if hour is None and day is None:
        return f"每小时第 {int(minute)} 分"
    if hour is not None and hour.isdigit():
        at = f"{int(hour):02d}:{int(minute):02d}"
        if day is None:
            return f"每天 {at}"
        if day.isdigit():
            return f"每月 {int(day)} 日 {at}"
    return trigger
