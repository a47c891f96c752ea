"""Jinja2 filters and globals for the console's templates."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import Flask, current_app, g

from handlers.render import mask_phone
from reminders import holds
from reminders import media as media_files
from storage import audit
from storage.actors import Names
from storage.cards import mask_openid
from storage.offline import CHANNELS
from storage.targets import Target, TargetKind
from storage.words import PUSH_KIND_ZH, ROLE_ZH, STATUS_ZH


def _tz() -> Any:
    return current_app.config["LIANXIN"].config.tz


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC datetime shown in the configured time zone."""
    if value is None:
        return ""
    return value.astimezone(_tz()).strftime(fmt)


def md(value: date | None) -> str:
    return f"{value.month}月{value.day}日" if value else ""


def target_zh(target: Target) -> str:
    """A card's target as people say it: everyone → 全体干部, a village → its name, a cadre → 干部 138****5678."""
    if target.kind is TargetKind.ALL:
        return "全体干部"
    if target.kind is TargetKind.VILLAGE:
        return target.label
    if target.kind is TargetKind.CADRE:
        return f"干部 {mask_phone(target.label)}"
    return str(target)


def names() -> Names:
    """This request's ``Names`` (storage/actors.py): people looked up once per request, in a read session of
    their own (a template may render after its view's session closed)."""
    found: Names | None = g.get("actor_names")
    if found is None:
        found = g.actor_names = Names(current_app.config["LIANXIN"].read_session)
    return found


def actor_zh(actor: str | None) -> str:
    """Who did something, as people say it (storage/actors.py): console:NAME → 办公室 NAME（控制台）,
    cadre:PHONE → 干部 李明, wechat:OPENID → 村民 张大山户, cli → 命令行 …"""
    return names().actor(actor) if actor else ""


def audit_target(target: str | None) -> str:
    """What an audit row was done to, in words (storage/actors.py ``Names.target``)."""
    return names().target(target)


def audit_detail(detail: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An audit row's details as (name, value) pairs (storage/audit.py ``describe``), never JSON."""
    return audit.describe(detail, names())


def json_zh(value: Any) -> str:
    """JSON for people: Chinese stays Chinese (tojson writes \\u65b0\\u6865\\u6751); autoescape does the HTML."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def install(app: Flask) -> None:
    app.jinja_env.filters["json_zh"] = json_zh
    app.jinja_env.filters["target_zh"] = target_zh
    app.jinja_env.filters["actor_zh"] = actor_zh
    app.jinja_env.filters["audit_action"] = audit.action_label
    app.jinja_env.filters["audit_target"] = audit_target
    app.jinja_env.filters["audit_detail"] = audit_detail
    app.jinja_env.filters["mask"] = mask_phone
    app.jinja_env.filters["mask_openid"] = mask_openid
    app.jinja_env.filters["local"] = local
    app.jinja_env.filters["md"] = md
    app.jinja_env.filters["push_kind"] = lambda kind: PUSH_KIND_ZH.get(kind, kind)
    app.jinja_env.globals["ffmpeg_missing"] = lambda: (
        media_files.ffmpeg_path() is None
    )  # voice: say so, don't fail silently
    # held delivery, for the banner of every page (base.html; only for accounts that can act on it)
    app.jinja_env.globals["delivery_holds"] = lambda: holds.current(current_app.config["LIANXIN"])
    app.jinja_env.globals["STATUS_ZH"] = STATUS_ZH
    app.jinja_env.globals["ROLE_ZH"] = ROLE_ZH
    app.jinja_env.globals["CHANNEL_ZH"] = CHANNELS
