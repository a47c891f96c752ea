"""账号: the office keeps its console accounts (issue 24 item 5) — list (role, township, village, active, last
login), add, disable (its sessions end at once), enable, reset the password, change role and scope — and 修改密码,
where every user changes their own password (the old one required; their other sessions end).

Who manages whom: a county admin every account; a township's admin the accounts of their own township (its
admins, viewers and village accounts), never a county account; another township's account is 404. The guard
rails (not oneself, not the last active admin) are storage/console_users.py's, as for ``lianxin user …``.
Every change is audited (storage/console_sessions.py, storage/console_users.py, storage/accounts.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, render_template, request
from sqlalchemy import select

from console.access import admin_only, db, done, lx, now, user
from storage import console_sessions, console_users
from storage.accounts import AccountError, create_console_user, verify_password
from storage.models import ConsoleUser, Township, Village

bp = Blueprint("accounts", __name__)

TOWNSHIP_ROLES = ("admin", "viewer", "village")


def _roles() -> tuple[str, ...]:
    """The roles the signed-in admin may give: the county's admin every role, a township's its own three."""
    return tuple(console_users.ROLE_NAMES) if user().account_role == "county-admin" else TOWNSHIP_ROLES


def _target(s: Any, user_id: int) -> ConsoleUser:
    """The account, or 404 when there is none or it is not the signed-in admin's to manage."""
    u = s.get(ConsoleUser, user_id)
    if u is None:
        abort(404)
    mine = user().township_id
    if mine is not None and console_users.township_of(u) != mine:
        abort(404)
    if u.role.startswith("county-") and user().account_role != "county-admin":
        abort(404)
    return u


def _refused(e: AccountError) -> Any:
    abort(400, description=str(e))


@bp.get("/accounts")
@admin_only
def accounts() -> Any:
    with db() as s:
        rows = console_users.list_accounts(s, township_id=user().township_id)
        if user().account_role != "county-admin":
            rows = [a for a in rows if not a.role.startswith("county-")]
        townships = (
            []
            if user().township_id is not None
            else list(s.scalars(select(Township.name).order_by(Township.name)))
        )
        villages = select(Village.name).order_by(Village.name)
        if user().township_id is not None:
            villages = villages.where(Village.township_id == user().township_id)
        return render_template(
            "accounts.html",
            rows=rows,
            roles=_roles(),
            role_names=console_users.ROLE_NAMES,
            townships=townships,
            villages=list(s.scalars(villages)),
        )


def _scope_from_form() -> tuple[str, str | None, str | None]:
    """(role, township, village) from the form, within what the signed-in admin may give."""
    f = request.form
    role = f.get("role", "")
    if role not in _roles():
        abort(400, description="请选择角色")
    township = user().township_name or (f.get("township") or "").strip() or None
    village = ((f.get("village") or "").strip() or None) if role == "village" else None
    if role.startswith("county-"):
        township = None
    return role, township, village


@bp.post("/accounts")
@admin_only
def account_add() -> Any:
    f = request.form
    role, township, village = _scope_from_form()
    with db() as s:
        try:
            create_console_user(
                s,
                username=f.get("username", ""),
                password=f.get("password", ""),
                role=role,
                village=village,
                actor=user().actor,
                township=township,
                default_township=lx().config.general.township,
            )
        except AccountError as e:
            _refused(e)
    return done(f"已添加账号 {f.get('username', '').strip()}。", "console.accounts.accounts")


@bp.post("/accounts/<int:user_id>/disable")
@admin_only
def account_disable(user_id: int) -> Any:
    with db() as s:
        u = _target(s, user_id)
        try:
            console_sessions.disable_user(
                s, username=u.username, actor=user().actor, now=now(), by=user().username
            )
        except AccountError as e:
            _refused(e)
        name = u.username
    return done(f"已停用账号 {name}，其登录已全部结束。", "console.accounts.accounts")


@bp.post("/accounts/<int:user_id>/enable")
@admin_only
def account_enable(user_id: int) -> Any:
    with db() as s:
        u = _target(s, user_id)
        console_sessions.enable_user(s, username=u.username, actor=user().actor)
        name = u.username
    return done(f"已启用账号 {name}。", "console.accounts.accounts")


@bp.post("/accounts/<int:user_id>/password")
@admin_only
def account_password(user_id: int) -> Any:
    """The office sets a new password for an account (a forgotten one): its sessions end."""
    with db() as s:
        u = _target(s, user_id)
        try:
            console_sessions.change_password(
                s,
                username=u.username,
                password=request.form.get("password", ""),
                actor=user().actor,
                now=now(),
                keep_sid=g.sid if u.id == user().id else None,
            )
        except AccountError as e:
            _refused(e)
        name = u.username
    return done(f"已为账号 {name} 设置新密码，其已有的登录已结束。", "console.accounts.accounts")


@bp.post("/accounts/<int:user_id>/role")
@admin_only
def account_role(user_id: int) -> Any:
    role, township, village = _scope_from_form()
    with db() as s:
        u = _target(s, user_id)
        try:
            console_users.set_role(
                s,
                username=u.username,
                role=role,
                township=township,
                village=village,
                actor=user().actor,
                by=user().username,
                default_township=lx().config.general.township,
            )
        except AccountError as e:
            _refused(e)
        name = u.username
    return done(f"账号 {name} 的角色改为 {console_users.ROLE_NAMES[role]}。", "console.accounts.accounts")


@bp.get("/password")
def own_password() -> Any:
    return render_template("password.html")


@bp.post("/password")
def own_password_save() -> Any:
    """Every user, read-only ones too (console/access.py lets this one POST through): the old password, then the
    new one twice; the user's other sessions end, this one goes on."""
    f = request.form
    new = f.get("new_password", "")
    if new != f.get("new_password2", ""):
        abort(400, description="两次输入的新密码不一致，未作修改。")
    with db() as s:
        u = s.get(ConsoleUser, user().id)
        if u is None or not verify_password(u.password_hash, f.get("old_password", "")):
            abort(400, description="原密码不正确，未作修改。")
        try:
            console_sessions.change_password(
                s, username=u.username, password=new, actor=user().actor, now=now(), keep_sid=g.sid
            )
        except AccountError as e:
            _refused(e)
    return done("密码已修改；您在其他设备上的登录已结束。", "console.accounts.own_password")
