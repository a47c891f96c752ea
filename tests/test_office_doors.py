"""The office's doors — the console and the CLI — reach the domain services for cards and villagers' requests
without going through chat handlers: they call storage.tasks / storage.offline themselves, with the push
wording from ``Lianxin.words`` (handlers/wording.py, wired by bot.app.build)."""

from __future__ import annotations

from pathlib import Path

from bot.app import build
from handlers import wording
from storage.config import load_config
from tests.support import import_graph

ROOT = Path(__file__).resolve().parent.parent
CHAT_ONLY = {"handlers.task_notices", "handlers.request_notices", "handlers.wording"}


def test_the_console_and_the_cli_import_no_card_or_request_wording_from_chat_handlers() -> None:
    graph = import_graph.build(ROOT)
    through_chat = [
        f"{graph.where(e)} {e.importer} → {e.target}"
        for e in graph.edges
        if e.target in CHAT_ONLY and (e.importer.startswith("console") or e.importer.startswith("bot.cli"))
    ]
    assert through_chat == []


def test_the_app_factory_wires_the_push_wording() -> None:
    lx = build(load_config(overrides={"database.url": "sqlite://"}, env={}))
    try:
        assert lx.wording() is wording.WORDING
    finally:
        lx.close()
