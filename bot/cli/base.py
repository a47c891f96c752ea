"""The ``lianxin`` main group and what every command shares: the built ``Lianxin``, ``--config``, errors.

The commands themselves are one module per group in bot/cli/ (listed in bot/cli/__init__.py). Every command takes ``--config FILE`` (also accepted before the command name). The CLI acts with the
office's authority: what it changes and exports goes to the audit log as actor ``cli``.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from datetime import date
from typing import Any, overload

import click
from sqlalchemy import inspect
from sqlalchemy.exc import ArgumentError

from bot import logs
from bot.app import build
from storage import townships
from storage.config import ConfigError, load_config
from storage.db import read_only
from storage.runtime import Lianxin


class CliState:
    def __init__(self) -> None:
        self.config_path: str | None = None
        self._lx: Lianxin | None = None

    def _close(self) -> None:
        if self._lx is not None:
            self._lx.close()
            self._lx = None

    def lx(self) -> Lianxin:
        if self._lx is None:
            try:
                config = load_config(self.config_path)
            except ConfigError as e:
                raise click.ClickException(f"配置错误 / configuration error: {e}") from None
            logs.configure(config.general.log_level)
            try:
                self._lx = build(config)
            except (ArgumentError, ImportError) as e:  # an unparsable URL, or a driver we do not ship
                raise click.ClickException(
                    "配置错误 / configuration error: [database] url 无法使用（应为 sqlite:///文件 或 "
                    f"postgresql://用户:密码@主机/库）：{e}"
                ) from None
            # Release the engine's connections when the command ends (tests run many commands in one process).
            click.get_current_context().call_on_close(self._close)
        return self._lx


def _set_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        ctx.ensure_object(CliState).config_path = value
    return value


config_option = click.option(
    "--config",
    "config_path",
    metavar="FILE",
    expose_value=False,
    is_eager=True,
    callback=_set_config,
    help="配置文件 config file (else $LIANXIN_CONFIG, else ./config.toml)",
)


def _os_reason(e: OSError) -> str:
    reasons = {
        errno.ENOENT: "所在文件夹不存在",
        errno.EACCES: "没有权限",
        errno.EPERM: "没有权限",
        errno.EISDIR: "这是一个文件夹",
        errno.EROFS: "只读文件系统",
        errno.ENOSPC: "磁盘已满",
    }
    return f"{reasons.get(e.errno or 0, '操作失败')} / {e.strerror}"


def command(group: click.Group, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """``@command(main, "name")``: a subcommand with --config, receiving the built ``Lianxin`` as ``lx``."""

    def decorator(fn: Callable[..., Any]) -> click.Command:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            state = click.get_current_context().ensure_object(CliState)
            lx = state.lx()
            try:
                return fn(lx, *a, **kw)
            except OSError as e:
                if (
                    e.filename is None
                ):  # not a file the user named (a socket, the database...): not ours to word
                    raise
                raise click.ClickException(f"无法写入或读取文件 {e.filename}：{_os_reason(e)}") from None

        return group.command(*args, **kwargs)(config_option(wrapper))

    return decorator


def require_schema(lx: Lianxin) -> None:
    """Stop with a clear message when the database has not been initialised."""
    try:
        ok = inspect(read_only(lx.engine)).has_table("cadre")
    except Exception as e:  # noqa: BLE001
        raise click.ClickException(f"无法连接数据库 / cannot reach the database: {e}") from None
    if not ok:
        raise click.ClickException("数据库尚未初始化，请先运行 `lianxin init` / run `lianxin init` first")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.pass_context
def main(ctx: click.Context) -> None:
    """连心 lianxin — 三五连心工程 (WeChat bot, scheduler, office console)."""
    ctx.ensure_object(CliState)


TOWNSHIP_HELP = "乡镇（全县部署时需指明）/ the township, needed where the deployment holds several"


def township_scope(lx: Lianxin, name: str | None) -> tuple[int, str] | None:
    """(id, name) of the township a command acts on: ``--township`` (must exist), or the deployment's only one;
    None before anything was imported. In a county deployment without ``--township`` it stops with the names."""
    with lx.read_session() as s:  # commands ask while their own unit of work is open: it must not wait for it
        if not name and townships.count(s) == 0:
            return None
        try:
            t = townships.resolve(s, name, default=lx.config.general.township)
        except townships.TownshipRefused as e:
            raise click.ClickException(str(e)) from None
        return t.id, t.name


@overload
def cli_date(value: str, flag: str) -> date: ...
@overload
def cli_date(value: None, flag: str) -> None: ...
@overload
def cli_date(value: str | None, flag: str) -> date | None: ...


def cli_date(value: str | None, flag: str) -> date | None:
    """A YYYY-MM-DD option (None when not given); anything else is click's usage error naming ``flag``."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"日期应写作 YYYY-MM-DD，例如 2026-11-28 / expected YYYY-MM-DD: {value!r}", param_hint=flag
        ) from None
