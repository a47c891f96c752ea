"""Who did something, and what it was done to, as people say it: the one place that turns the ids written down
(an audit row's actor and target, a reply's author, who entered a paper diary, who decided a leave …) into names.

What is written where something is done (kept as it is: it is what the audit log and the tests match):
``console:NAME`` (a console account; ``office:NAME`` is the same, written by older pages and the demo),
``cadre:PHONE`` (a cadre, by the phone they had then; ``cadre:PHONE 撤销`` for their 撤销), ``wechat:OPENID``
(an account of the Official Account), and the fixed words ``cli``, ``demo``, ``villager``, ``scheduler``,
``import``. ``Names`` shows them as "办公室 张三（控制台）", "干部 李明", "村民 张大山户", "命令行" …: it looks the
people up in bulk (``load`` every actor and target a page shows, then ``actor(a)`` / ``target(t)`` for each),
so a page of 50 audit rows costs a handful of queries. Who cannot be found any more (a phone that changed, an
account that was deleted) is shown by role with the number masked, never as the raw id.

The console's templates use it through the ``actor_zh`` / ``target_zh_audit`` filters (console/filters.py), the
CLI through ``actor_name``; a new page that shows who did something uses the same filter, a new kind of actor or
target is added here (tests/test_actor_names.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.cards import mask_openid
from storage.models import (
    Cadre,
    ConsoleUser,
    Household,
    Township,
    Village,
    WechatIdentity,
)
from storage.redact import mask_personal_numbers, mask_phone
from storage.words import REPORT_KIND_ZH

# console account roles, as the person is introduced ("办公室 张三（控制台）")
CONSOLE_ROLE = {
    "admin": "办公室",
    "county-admin": "县里",
    "viewer": "领导",
    "county-viewer": "县里领导",
    "village": "村(居)",
}
# actors that are no person
FIXED = {
    "cli": "命令行",
    "demo": "演示数据",
    "villager": "村民",
    "scheduler": "定时任务",
    "import": "导入名单",
    "system": "系统",
}
KIND_ZH = REPORT_KIND_ZH  # storage/words.py
_PERIOD = re.compile(r"^\d{4}(-\d{2}|Q[1-4])?$")


@dataclass(frozen=True)
class Actor:
    """An actor string taken apart: ``kind`` console | cadre | wechat | fixed | other, its ``key`` (the user
    name, phone, openid or fixed word) and a ``note`` written after it (``撤销``)."""

    kind: str
    key: str
    note: str = ""


def parse(actor: str | None) -> Actor:
    raw = str(actor or "").strip()
    head, _, note = raw.partition(" ")
    kind, sep, key = head.partition(":")
    if sep and kind in ("console", "office"):
        return Actor("console", key, note)
    if sep and kind in ("cadre", "wechat"):
        return Actor(kind, key, note)
    if raw in FIXED:
        return Actor("fixed", raw)
    return Actor("other", raw)


class Names:
    """Display names for actors and audit targets, looked up in bulk (see the module)."""

    def __init__(self, session: Session | Callable[[], AbstractContextManager[Session]]) -> None:
        """``session``: a session, or a factory of read sessions opened only when something must be looked up
        (the console's filters keep one ``Names`` per request)."""
        self._session = session
        self.s: Any = None
        self.users: dict[str, tuple[str, str | None]] = {}  # username → (role, village name)
        self.cadres: dict[str, str] = {}  # phone → name
        self.cadre_ids: dict[int, str] = {}
        self.idents: dict[str, WechatIdentity] = {}
        self.households: dict[int, str] = {}
        self.villages: dict[int, str] = {}
        self.townships: dict[int, str] = {}
        self._asked: set[tuple[str, Any]] = set()

    # -- loading ------------------------------------------------------------------------------------------

    def load(self, actors: Iterable[str | None] = (), targets: Iterable[str | None] = ()) -> Names:
        users: set[str] = set()
        phones: set[str] = set()
        openids: set[str] = set()
        cadre_ids: set[int] = set()
        households: set[int] = set()
        villages: set[int] = set()
        townships: set[int] = set()
        by_kind = {"console": users, "cadre": phones, "wechat": openids}
        for a in actors:
            p = parse(a)
            if p.kind in by_kind:
                by_kind[p.kind].add(p.key)
        for t in targets:
            parts = str(t or "").split(":")
            for name, value in zip(parts, parts[1:], strict=False):
                if name == "user":
                    users.add(value)
                elif name == "cadre":
                    if _is_id(value):
                        cadre_ids.add(int(value))
                    else:
                        phones.add(value)
                elif name == "household" and value.isdigit():
                    households.add(int(value))
                elif name == "openid":
                    openids.add(value)
                elif name == "village" and value.isdigit():
                    villages.add(int(value))
                elif name == "township" and value.isdigit():
                    townships.add(int(value))
        fresh = [
            self._new("user", users),
            self._new("phone", phones),
            self._new("cadre", cadre_ids),
            self._new("openid", openids),
            self._new("household", households),
            self._new("village", villages),
            self._new("township", townships),
        ]
        if any(fresh):
            opened = nullcontext(self._session) if isinstance(self._session, Session) else self._session()
            with opened as s:
                self.s = s
                self._load_users(fresh[0])
                self._load_cadres(fresh[1], fresh[2])
                self._load_identities(fresh[3])
                self._load_places(fresh[4], fresh[5], fresh[6])
        return self

    def _new(self, kind: str, keys: set[Any]) -> set[Any]:
        """The keys not asked for before (found or not: a missing one is not looked up again)."""
        fresh = {k for k in keys if (kind, k) not in self._asked}
        self._asked.update((kind, k) for k in fresh)
        return fresh

    def _load_users(self, names: set[str]) -> None:
        if names:
            rows = self.s.execute(
                select(ConsoleUser.username, ConsoleUser.role, Village.name)
                .outerjoin(Village, Village.id == ConsoleUser.village_id)
                .where(ConsoleUser.username.in_(names))
            )
            for username, role, village in rows:
                self.users[username] = (role, village)

    def _load_cadres(self, phones: set[str], ids: set[int]) -> None:
        if phones:
            for phone, name in self.s.execute(select(Cadre.phone, Cadre.name).where(Cadre.phone.in_(phones))):
                self.cadres[phone] = name
        if ids:
            for cid, name in self.s.execute(select(Cadre.id, Cadre.name).where(Cadre.id.in_(ids))):
                self.cadre_ids[cid] = name

    def _load_identities(self, openids: set[str]) -> None:
        if not openids:
            return
        for ident in self.s.scalars(select(WechatIdentity).where(WechatIdentity.openid.in_(openids))):
            self.idents[ident.openid] = ident
            if ident.cadre_id is not None and ident.cadre is not None:
                self.cadre_ids[ident.cadre_id] = ident.cadre.name
            if ident.household_id is not None and ident.household is not None:
                self.households[ident.household_id] = ident.household.head_name

    def _load_places(self, households: set[int], villages: set[int], townships: set[int]) -> None:
        if households:
            q = select(Household.id, Household.head_name).where(Household.id.in_(households))
            self.households.update(dict(self.s.execute(q).tuples().all()))
        if villages:
            q2 = select(Village.id, Village.name).where(Village.id.in_(villages))
            self.villages.update(dict(self.s.execute(q2).tuples().all()))
        if townships:
            q3 = select(Township.id, Township.name).where(Township.id.in_(townships))
            self.townships.update(dict(self.s.execute(q3).tuples().all()))

    # -- showing ------------------------------------------------------------------------------------------

    def actor(self, actor: str | None) -> str:
        """ "办公室 张三（控制台）", "干部 李明", "村民 张大山户", "命令行" … (see the module)."""
        p = parse(actor)
        if p.kind not in ("other", "fixed"):
            self.load(actors=[actor])
        shown = self._actor(p)
        return f"{shown}（{p.note}）" if p.note else shown

    def _actor(self, p: Actor) -> str:
        if p.kind == "console":
            found = self.users.get(p.key)
            if found is None:
                return f"控制台账号 {p.key}"
            role, village = found
            label = village if role == "village" and village else CONSOLE_ROLE.get(role, "控制台账号")
            return f"{label} {p.key}（控制台）"
        if p.kind == "cadre":
            name = self.cadres.get(p.key)
            return f"干部 {name}" if name else f"干部 {mask_phone(p.key)}"
        if p.kind == "wechat":
            return self._wechat(p.key)
        if p.kind == "fixed":
            return FIXED[p.key]
        return mask_personal_numbers(p.key)

    def _wechat(self, openid: str) -> str:
        ident = self.idents.get(openid)
        if ident is not None and ident.kind == "cadre" and ident.cadre_id in self.cadre_ids:
            return f"干部 {self.cadre_ids[ident.cadre_id]}（微信）"
        if ident is not None and ident.kind == "villager" and ident.household_id in self.households:
            return f"村民 {self.households[ident.household_id]}户"
        if ident is not None and ident.kind == "office":
            return "办公室（微信）"
        return f"微信用户 {mask_openid(openid)}"

    def target(self, target: str | None) -> str:
        """What an audit row names, as words: "第3号诉求", "农户 张大山户", "2026-11 月通报 · 龙伏镇" …
        Segments it does not know (a file name, a village's group) are shown as written."""
        raw = str(target or "")
        if not raw:
            return ""
        self.load(targets=[raw])
        parts, out, i = raw.split(":"), [], 0
        while i < len(parts):
            shown, used = self._segment(parts, i)
            out.append(shown)
            i += used
        return " · ".join(x for x in out if x)

    def _segment(self, parts: list[str], i: int) -> tuple[str, int]:
        """The words for the segment at ``parts[i]`` (with its value), and how many parts it used."""
        name, value = parts[i], parts[i + 1] if i + 1 < len(parts) else None
        if value is None:
            return self._lone(name), 1
        shown = self._named(name, value)
        if shown is not None:
            return shown, 2
        by_id = _ID_WORDS.get(name)
        if by_id is not None and value.isdigit():
            return by_id.format(value), 2
        return self._lone(name), 1

    def _named(self, name: str, value: str) -> str | None:
        if name == "user":
            return self._actor(Actor("console", value))
        if name == "cadre":
            if _is_id(value):
                return f"干部 {self.cadre_ids.get(int(value), '#' + value)}"
            return self._actor(Actor("cadre", value))
        if name == "household":
            return (
                f"农户 {self.households[int(value)]}户"
                if value.isdigit() and int(value) in self.households
                else None
            )
        if name == "openid":
            return self._wechat(value)
        if name == "village":
            if value == "*":
                return "全部村(居)"
            return self.villages.get(int(value), value) if value.isdigit() else value
        if name == "township":
            return self.townships.get(int(value), "") if value.isdigit() else value
        if name in KIND_ZH and _PERIOD.match(value):
            return f"{value} {KIND_ZH[name]}"
        if name in ("file", "ledger"):
            return f"{'文件' if name == 'file' else '五个一台账'} {'全部村(居)' if value == '*' else value}"
        return None

    @staticmethod
    def _lone(word: str) -> str:
        return _LONE_WORDS.get(word, word)


# ``name:ID`` segments shown by number alone
_ID_WORDS = {
    "request": "第{}号诉求",
    "task": "第{}号督办卡",
    "leave": "请假记录 #{}",
    "diary": "日记 #{}",
    "policy": "政策条目 #{}",
    "outbox": "推送 #{}",
    "household": "农户 #{}",
}
# words that stand alone in a target
_LONE_WORDS = {
    "report": "",
    "county": "全县",
    "commendations": "表彰名单",
    "stdout": "屏幕输出",
    "*": "全部",
    "all": "全体干部",
    "comment": "点评",
    "commend": "表彰",
    "demo": "演示数据",
}


def _is_id(value: str) -> bool:
    """A row id rather than a phone: short and all digits (phones have 11)."""
    return value.isdigit() and len(value) < 8


def actor_name(session: Session, actor: str | None) -> str:
    """One actor's name (the CLI, a single line): ``Names(session).actor(actor)``."""
    return Names(session).actor(actor)
