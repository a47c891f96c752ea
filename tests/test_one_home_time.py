"""WeChat's customer-service window, the programme's default time zone and a message's local day each have one
home (storage/service_window.py, storage/config.py ``DEFAULT_TZ``, ``Context.message_day``), and every caller
uses it: the dispatcher and the seeds open the same window, no module names the zone itself, and every handler
takes a message's day from its WeChat CreateTime the same way."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from bot.dispatch import window_opened_by
from handlers.base import Message
from storage import service_window
from storage.config import DEFAULT_TZ, load_config
from storage.models import DiaryEntry
from storage.outbox import open_user_window, user_window_columns
from storage.tasks import DEFAULT_TZ as TASKS_DEFAULT_TZ
from tests.support.chat_env import Chat, bound, cadre_world

ROOT = Path(__file__).resolve().parent.parent


NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _msg(kind: str, event: str | None = None) -> Message:
    return Message(openid="o", kind=kind, create_time=NOW, event=event)


def test_the_dispatcher_and_the_seeds_open_the_same_window() -> None:
    assert (
        window_opened_by(_msg("text"))
        == service_window.USER_MESSAGE
        == (5, service_window.USER_MESSAGE.length)
    )
    assert window_opened_by(_msg("event", "CLICK")) == service_window.ACTION
    assert window_opened_by(_msg("event", "LOCATION")) is None
    at = NOW
    ident = SimpleNamespace()
    open_user_window(ident, at)
    cols = user_window_columns(at)
    opened = (service_window.USER_MESSAGE.quota, at + service_window.USER_MESSAGE.length)
    assert (ident.window_quota, ident.window_until) == (cols["window_quota"], cols["window_until"]) == opened


def test_the_default_time_zone_is_declared_once() -> None:
    assert load_config(env={}).tz == DEFAULT_TZ == TASKS_DEFAULT_TZ
    named = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("storage", "handlers", "reminders", "console", "bot")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "Asia/Shanghai" in line
    ]
    assert [n.split(":")[0] for n in named] == ["storage/config.py"]


def test_no_handler_works_out_a_messages_day_by_itself() -> None:
    """``ctx.message_day(msg)`` is the one way: no handler converts a CreateTime or the inbound row's time."""
    own = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "handlers").rglob("*.py"))
        if path.name != "base.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"create_time\.astimezone|inbound\.create_time", line)
    ]
    assert own == []


def test_a_diary_message_written_before_midnight_and_handled_after_counts_for_its_own_day(
    make_lx: Any, clock: Any
) -> None:
    chat: Chat = cadre_world(make_lx, clock)
    bound(chat)
    written = int(clock.set("2026-11-24 23:59").timestamp())
    clock.set("2026-11-25 00:03")  # WeChat's retry, or a slow queue: handled on the next day
    chat.wc.text("o-li", "走访张大爷家", create_time=written)
    assert chat.one(select(DiaryEntry.day)) == date(2026, 11, 24)
