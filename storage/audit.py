"""The audit log: every change and every export by the office (console or CLI), and how the log reads to people.

``record`` writes a row: who (an actor string, storage/actors.py), the action (a dotted id), what it was done to
(a target string) and details (a small dict). The ids stay as written (they are what filters and tests match);
the log is shown in words: ``ACTIONS`` says each action as a short Chinese sentence, ``FIELDS`` names each detail,
``describe`` turns a row's details into (name, value) pairs, the people in them named by storage/actors.py.

Every action written anywhere in the code has its sentence here: tests/test_audit_words.py reads the source for
the actions passed to ``record`` (and console/access.py ``record``/``record_export``) and fails on one without.
A new action is added to ``ACTIONS`` in the same change that writes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.actors import Names
from storage.cards import mask_openid
from storage.models import AuditLog
from storage.timestamps import now_of

ACTIONS: dict[str, str] = {
    # signing in and accounts
    "login": "登录控制台",
    "login.failed": "登录失败（密码不对或无此账号）",
    "login.locked": "登录失败次数过多，账号暂时锁定",
    "logout": "退出控制台",
    "user.add": "新建控制台账号",
    "user.disable": "停用控制台账号",
    "user.enable": "重新启用控制台账号",
    "user.passwd": "修改控制台账号密码",
    # cadres and their WeChat
    "bind_code.issue": "生成干部绑定码",
    "wechat.bind": "干部用绑定码绑定了微信",
    # the link list, households, cards
    "import": "导入联户名单",
    "import.console": "在控制台确认导入联户名单",
    "group_link.set": "设置村民小组的包组干部",
    "household.edit": "修改农户的民情信息",
    "household.purge": "按本人要求清除农户个人信息",
    "household.unlink": "解除农户的微信关联",
    "link.change": "更换农户的联户干部",
    "commitment.set": "登记承诺书签订日期",
    "card.number": "修改服务卡号",
    "cards.renumber": "重新编排服务卡号",
    "cards.qr_create": "向微信申请服务卡二维码",
    "cards.print": "打印便民服务卡",
    "listing.print": "打印联户名单公示",
    # the office's month
    "leave.add": "登记干部请假",
    "leave.approve": "批准干部请假",
    "leave.refuse": "不批准干部请假",
    "diary.paper": "补录纸质民情日记",
    "request.offline": "登记线下收到的群众诉求",
    "request.reply": "以办公室名义答复诉求",
    "request.reassign": "把诉求改派给另一名干部",
    "request.close": "办结诉求",
    # supervision cards
    "task.create": "发布督办卡",
    "task.return": "退回干部的反馈",
    "task.extension_grant": "同意延期",
    "task.extension_refuse": "不同意延期",
    "task.cancel": "撤销督办卡",
    # reports
    "report.store": "保存报表（定时任务）",
    "report.export": "导出考核报表",
    "report.publish": "发布通报",
    "report.export_published": "下载已发布的通报",
    "remark.comment": "填写季度点评",
    "remark.comment_remove": "删除季度点评",
    "remark.commend": "表彰干部",
    "remark.commend_remove": "取消表彰",
    "ledger.export": "导出五个一台账",
    "diary_book.export": "导出民情日记本",
    # the office's tools and the deployment
    "policy.add": "新增惠农政策条目",
    "policy.edit": "修改惠农政策条目",
    "policy.delete": "删除惠农政策条目",
    "outbox.retry": "重发失败的推送",
    "outbox.resume": "恢复暂停的推送",
    "simulator.send": "在模拟聊天中发送消息",
    # people change over a year (issue 24)
    "cadre.add": "新增干部",
    "cadre.edit": "更正干部姓名或岗位",
    "cadre.handover": "把联系户交接给另一名干部",
    "cadre.phone": "更改干部电话",
    "cadre.retire": "办理干部退出",
    "household.add": "新增农户",
    "household.close": "农户销户",
    "household.tags": "修改农户的重点人群标记",
    "import.archive.download": "下载存档的联户名单",
    "user.role": "更改控制台账号的角色或范围",
    # the station (issue 26)
    "request.transfer": "把诉求转给站办所办理",
    "request.extension_request": "站办所申请延长办理时限",
    "request.hand_back": "站办所把诉求退回干部",
    "request.extension_grant": "批准站办所延长办理时限",
    "request.extension_refuse": "不批准站办所延长办理时限",
    "request.department_answer": "站办所答复转办的诉求",
    "department.add": "新增站办所",
    "department.update": "修改站办所",
    "dispute.mark": "把诉求标为矛盾调解",
    "dispute.unmark": "取消矛盾调解标记",
    "dispute.party": "记录调解当事人",
    "dispute.step": "记录调解经过",
    "dispute.outcome": "记录调解结果",
    "insights.export": "导出民情分析",
    "meeting.add": "登记动员会",
    "meeting.notify": "通知动员会",
    "practice.add": "收录好经验好做法",
    "village.station_unit": "设置驻村单位（单位办点）",
    "commitments.print": "打印联户工作承诺书",
}

# Each detail's name; a nested dict (an import's counts) is shown field by field with the same names.
FIELDS: dict[str, str] = {
    "account": "微信账号",
    "address": "登录地址",
    "answer_to": "答复方式",
    "at": "收到时间",
    "by": "操作途径",
    "cadre": "干部",
    "cadres": "干部数",
    "cards": "服务卡张数",
    "channel": "收到方式",
    "code": "绑定码编号",
    "count": "份数",
    "counts": "导入结果",
    "created": "新申请二维码",
    "date": "日期",
    "day": "日期",
    "deadline": "截止时间",
    "entries": "条数",
    "expires_at": "有效期至",
    "fields": "涉及字段",
    "format": "格式",
    "formats": "文件格式",
    "from": "开始",
    "holds": "恢复的暂停项",
    "household": "农户",
    "households": "农户数",
    "kind": "类型",
    "link_no": "关联号",
    "missing": "缺项",
    "month": "月份",
    "name": "姓名",
    "new": "新值",
    "new_cadre": "新干部",
    "old": "原值",
    "old_cadre": "原干部",
    "openid": "微信账号",
    "out": "输出文件",
    "previous_cadre_id": "原绑定干部",
    "previous_household_id": "原关联农户",
    "previous_kind": "此前身份",
    "publish_at": "定时发布",
    "pushes_withdrawn": "撤回的推送",
    "qr": "带二维码",
    "reason": "原因",
    "relayed": "已转给村民",
    "released_openids": "解除的微信账号",
    "reply_id": "答复编号",
    "role": "角色",
    "rows": "行数",
    "sessions": "结束的登录",
    "targets": "发送对象",
    "text": "内容",
    "title": "标题",
    "to": "结束",
    "to_cadre": "同时告知干部",
    "topic": "主题",
    "township": "乡镇",
    "township_id": "乡镇",
    "townships": "乡镇数",
    "via": "方式",
    "village": "村(居)",
    "voided": "作废旧码",
    "warnings": "提醒",
    "was": "原内容",
    # an import's counts (storage/importer/changes.py COUNT_KEYS)
    "villages": "村(居)",
    "villages_new": "新增村(居)",
    "groups_new": "新增村民小组",
    "cadres_new": "新增干部",
    "cadres_updated": "更新干部",
    "cadres_unchanged": "未变干部",
    "households_new": "新增农户",
    "households_updated": "更新农户",
    "households_unchanged": "未变农户",
    "links_changed": "联户关系变更",
    "cards_assigned": "新编服务卡号",
    "not_in_file": "不在文件中的农户",
    "group_links": "包组村民小组",
    "group_links_changed": "包组变更",
    # a purge's counts (storage/purge.py)
    "history": "清除的修改记录",
    "duty_previous": "清除的台账旧值",
    "accounts_unlinked": "解除的微信关联",
    "inbound": "清除的收到消息",
    "conversations": "清除的对话状态",
    "requests": "涉及的诉求",
    "request_replies": "清除的答复",
    "attachments": "清除的照片语音",
    "push_links": "清除的消息链接",
    "diary_entries": "清除的日记内容",
    "feedback": "清除的反馈内容",
    "cadre_messages": "清除的干部推送",
    "pushes": "清除的推送",
    "digests": "清除的摘要",
    "digest_pages": "清除的摘要分页",
    "uploads": "清除的上传文件",
}

# Coded values, per detail: what the code means to people.
VALUES: dict[str, dict[str, str]] = {
    "by": {"console": "控制台", "chat": "干部在微信中", "cli": "命令行"},
    "via": {
        "number": "输入卡号",
        "qr": "扫码",
        "phone": "电话",
        "visit": "来访",
        "letter": "来信",
        "demo": "演示数据",
        "console": "控制台",
        "cli": "命令行",
    },
    "channel": {"phone": "电话", "visit": "来访", "letter": "来信", "wechat": "微信"},
    "answer_to": {"wechat": "微信", "phone": "电话", "none": "不回复"},
    "previous_kind": {"unknown": "未绑定", "cadre": "干部", "villager": "村民", "office": "办公室"},
    "role": {
        "admin": "办公室管理员",
        "village": "村(居)账号",
        "viewer": "只读（领导）",
        "county-admin": "县级管理员",
        "county-viewer": "县级只读（领导）",
    },
    "kind": {
        "text": "文字",
        "voice": "语音",
        "image": "图片",
        "subscribe": "关注",
        "scan": "扫码",
        "click": "菜单",
    },
}
# details that name a cadre by id, or by phone
_CADRE_IDS = {"old_cadre", "new_cadre", "previous_cadre_id"}
_CADRE_PHONES = {"cadre"}
_OPENIDS = {"openid", "released_openids"}


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(AuditLog(at=now_of(session), actor=actor, action=action, target=target, detail=detail))


def action_label(action: str) -> str:
    """The action as a sentence; an action without one (a bug: tests/test_audit_words.py) shows its id."""
    return ACTIONS.get(action, action)


def describe(detail: dict[str, Any] | None, names: Names) -> list[tuple[str, str]]:
    """A row's details as (name, value) pairs for people: named fields, 是/否, lists joined, cadres by name,
    WeChat accounts masked; empty values left out."""
    out: list[tuple[str, str]] = []
    for key, value in (detail or {}).items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, dict):
            out.extend(describe(value, names))
            continue
        out.append((FIELDS.get(key, key), _value(key, value, names)))
    return out


def _value(key: str, value: Any, names: Names) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_value(key, v, names) for v in value)
    if key in _OPENIDS:
        return mask_openid(str(value))
    if key in _CADRE_IDS and str(value).isdigit():
        return names.target(f"cadre:{value}").removeprefix("干部 ")
    if key in _CADRE_PHONES or (key in _CADRE_IDS and value):
        return names.actor(f"cadre:{value}").removeprefix("干部 ")
    if key == "targets":
        return names.target(str(value))
    return VALUES.get(key, {}).get(str(value), str(value))
