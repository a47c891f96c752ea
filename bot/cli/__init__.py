"""The ``lianxin`` command line: thin wrappers over functions that the tests call directly.

``main`` (bot/cli/base.py) is the group; each module below adds one group of commands. The list is the
whole command line: a module that fails to import stops ``lianxin`` at once instead of losing its commands.
"""

from __future__ import annotations

from bot.cli import (
    accounts,  # lianxin bind-code / lianxin user add
    cadres,  # lianxin cadre list|handover|retire|phone|edit / lianxin household move
    demo,  # lianxin demo
    diary_book,  # lianxin diary-book (a cadre's or a village's 民情日记 of the month)
    households,  # lianxin household add / close (the register without re-importing)
    importing,  # lianxin import
    ledger,  # lianxin ledger
    office,  # lianxin leave / lianxin record (the office's month)
    printing,  # lianxin cards / lianxin listing
    purge,  # lianxin purge (personal data removed on request)
    remarks,  # lianxin report comment / commend / commended (the office's 点评 and 表彰)
    report,  # lianxin report month|quarter|year
    schema,  # lianxin init
    serving,  # lianxin serve
    station,  # lianxin insights month / lianxin meeting add (the station's work)
    tasks,  # lianxin task / jobs / scheduler / dispatch / outbox
    transfers,  # lianxin department / lianxin request (转办: the station's departments)
    users,  # lianxin user list / disable / enable / passwd / role (after accounts: user add)
    wechat,  # lianxin wechat menu / lianxin wechat check
)
from bot.cli.base import CliState, command, main, require_schema

COMMAND_GROUPS = (
    schema,
    accounts,
    cadres,
    users,
    serving,
    importing,
    demo,
    ledger,
    printing,
    report,
    purge,
    tasks,
    wechat,
    office,
    diary_book,
    remarks,
    station,
    households,
    transfers,
)

for _group in COMMAND_GROUPS:
    _group.register(main)

__all__ = ["CliState", "command", "main", "require_schema"]
