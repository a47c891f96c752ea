"""CLI commands by feature; each module defines ``register(main)``. The list is written down here."""

from __future__ import annotations

import importlib

import click

MODULES: list[str] = [
    "bot.commands.importer",   # lianxin import
    "bot.commands.demo",       # lianxin demo
    "bot.commands.ledger",  # lianxin ledger
    "bot.commands.printing",  # lianxin cards / lianxin listing
    "bot.commands.report",  # lianxin report month|quarter|year
    "bot.commands.purge",  # lianxin purge (personal data removed on request)
    "bot.commands.tasks",  # lianxin task / jobs / scheduler / outbox
]


def register_all(main: click.Group) -> None:
    for name in MODULES:
        importlib.import_module(name).register(main)
