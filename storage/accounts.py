"""Binding codes for cadres (kept as HMACs under the deployment's secret) and console accounts (passwords as
argon2 hashes)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from storage import townships
from storage.audit import record
from storage.config import BIND_CODE_MAX_HOURS
from storage.db import rows_changed
from storage.models import BindCode, Cadre, CadreBinding, ConsoleUser, Department, Village, WechatIdentity
from storage.push_links import revoke_links_for
from storage.secrets import ensure_secret_key, stored_secret_key

_hasher = PasswordHasher()


class BindError(Exception):
    pass


class AccountError(Exception):
    pass


def normalize_phone(raw: str) -> str:
    """Digits only; full-width digits, spaces, dashes and a +86 prefix are accepted."""
    s = raw.translate({0xFF10 + i: 0x30 + i for i in range(10)})
    s = re.sub(r"[\s\-—－()（）]", "", s)
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    return s


_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")


def valid_phone(phone: str) -> bool:
    """A mainland mobile (11 digits, 1[3-9]…) or a landline with its area code (0xx/0xxx + 7–8 digits), as
    ``normalize_phone`` gives it: the one rule for a phone the register keeps (link list, ``household add``)."""
    return bool(_MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone))


# Binding codes are keyed with their own key derived from the deployment's secret (storage/secrets.py), so the
# digest of a code is of no use for anything else keyed with that secret.
_BIND_CODE_PURPOSE = b"lianxin/bind-code/v1"


def code_hash(key: str, code: str) -> str:
    """What is kept of binding code ``code``: HMAC-SHA256 under a key derived from the deployment's secret
    ``key``. Why not a plain hash: there are only 10^8 codes, so an unsalted sha256 in a leaked database (a
    backup, an export) gave every unused code back in seconds; without the secret, the HMAC gives nothing."""
    derived = hmac.new(key.encode(), _BIND_CODE_PURPOSE, hashlib.sha256).digest()
    return hmac.new(derived, code.encode(), hashlib.sha256).hexdigest()


def bind_code_secret(session: Session, configured: str, *, now: datetime | None = None) -> str | None:
    """The deployment's secret that binding codes are keyed with (storage.secrets.secret_key, the console's too):
    ``[console] secret_key`` when set — kept outside the database, so a copy of the database gives no code
    back — else the key kept in the database (made at ``now`` when there is none yet; None when there is none
    and ``now`` is not given: then no code was ever issued)."""
    if configured:
        return configured
    return ensure_secret_key(session, now=now)[0] if now is not None else stored_secret_key(session)


def find_bind_code(session: Session, code: str, *, configured_secret: str) -> BindCode | None:
    """The binding code row for the typed ``code`` (used, voided and expired ones too), or None.
    ``configured_secret``: ``[console] secret_key`` (empty: the key kept in the database)."""
    key = bind_code_secret(session, configured_secret)
    if key is None:
        return None
    return session.scalar(select(BindCode).where(BindCode.code_hash == code_hash(key, code)))


def issue_bind_code(
    session: Session,
    *,
    phone: str,
    actor: str,
    now: datetime,
    configured_secret: str,
    hours: int = BIND_CODE_MAX_HOURS,
) -> tuple[str, Cadre, datetime]:
    """A fresh 8-digit single-use code for the cadre with this phone, good for ``hours`` (at most 72).

    Issuing is the office's act (the console allows it to admins only; the CLI is the office). A new code voids
    the cadre's older unused ones, so a slip lost or photographed earlier stops working when it is replaced.
    ``configured_secret``: ``[console] secret_key`` (``bind_code_secret``), which the code's HMAC is keyed with."""
    cadre = session.scalar(select(Cadre).where(Cadre.phone == normalize_phone(phone)))
    if cadre is None:
        raise BindError(f"没有电话为 {phone} 的干部 / no cadre with phone {phone}")
    if not cadre.active:
        raise BindError(f"干部 {cadre.name} 已退出，不能再绑定微信 / {phone} has retired")
    expires = now + timedelta(hours=min(max(hours, 1), BIND_CODE_MAX_HOURS))
    key = bind_code_secret(session, configured_secret, now=now)
    assert key is not None  # made now when there was none
    for _ in range(20):
        code = f"{secrets.randbelow(10**8):08d}"
        if session.scalar(select(BindCode.id).where(BindCode.code_hash == code_hash(key, code))) is None:
            break
    else:  # pragma: no cover - 10^8 codes
        raise BindError("could not draw an unused code")
    voided = void_bind_codes(session, cadre_id=cadre.id, now=now)
    session.add(
        BindCode(
            cadre_id=cadre.id,
            code_hash=code_hash(key, code),
            created_at=now,
            expires_at=expires,
            created_by=actor,
        )
    )
    record(
        session,
        actor=actor,
        action="bind_code.issue",
        target=f"cadre:{cadre.id}",
        detail={"expires_at": expires.isoformat(), "voided": voided},
    )
    return code, cadre, expires


def void_bind_codes(session: Session, *, cadre_id: int, now: datetime) -> int:
    """The cadre's unused, unexpired binding codes stop working now (a newer code was issued, or the cadre
    retired); how many."""
    return (
        rows_changed(
            session.execute(
                update(BindCode)
                .where(
                    BindCode.cadre_id == cadre_id,
                    BindCode.used_at.is_(None),
                    BindCode.revoked_at.is_(None),
                    BindCode.expires_at > now,
                )
                .values(revoked_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        or 0
    )


# ------------------------------------------------------------------------------------ binding history


def record_binding(
    session: Session, *, cadre_id: int, openid: str, code_id: int | None, now: datetime
) -> CadreBinding:
    """A cadre's WeChat account was bound (with code ``code_id``): a new row of the cadre's binding history."""
    row = CadreBinding(cadre_id=cadre_id, openid=openid, bound_at=now, code_id=code_id)
    session.add(row)
    return row


def release_bindings(
    session: Session, *, now: datetime, why: str, cadre_id: int | None = None, openid: str | None = None
) -> int:
    """Close the open bindings of ``cadre_id`` (or of account ``openid``): released at ``now`` because ``why``
    (``rebound``: the cadre bound another account; ``moved``: this account bound another cadre; ``retired``: the
    cadre retired, storage/cadres.py)."""
    stmt = update(CadreBinding).where(CadreBinding.released_at.is_(None))
    if cadre_id is not None:
        stmt = stmt.where(CadreBinding.cadre_id == cadre_id)
    if openid is not None:
        stmt = stmt.where(CadreBinding.openid == openid)
    return (
        rows_changed(
            session.execute(
                stmt.values(released_at=now, released_why=why).execution_options(synchronize_session=False)
            )
        )
        or 0
    )


def release_cadre_accounts(
    session: Session, *, cadre_id: int, now: datetime, keep_identity_id: int | None = None
) -> list[WechatIdentity]:
    """The cadre's bound WeChat accounts (but ``keep_identity_id``, the one binding now) become unknown, so pushes go
    to no account of theirs, and the pages of the pushes they were sent stop opening. Returns them (to be told).
    The binding history is closed separately (``release_bindings``), with the reason."""
    released = list(
        session.scalars(
            select(WechatIdentity).where(
                WechatIdentity.cadre_id == cadre_id,
                WechatIdentity.kind == "cadre",
                WechatIdentity.id != (keep_identity_id or 0),
            )
        )
    )
    for old in released:
        old.kind = "unknown"
        old.cadre_id = None
        old.bound_at = None
        revoke_links_for(old.openid, session=session, now=now)  # its pages of earlier pushes die
    return released


def binding_history(session: Session, cadre_id: int, limit: int = 20) -> list[CadreBinding]:
    """The cadre's bindings, newest first (with the code each used)."""
    return list(
        session.scalars(
            select(CadreBinding)
            .where(CadreBinding.cadre_id == cadre_id)
            .options(joinedload(CadreBinding.code))
            .order_by(CadreBinding.bound_at.desc(), CadreBinding.id.desc())
            .limit(limit)
        )
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


ROLES = ("county-admin", "county-viewer", "admin", "viewer", "village", "department")


def check_password(password: str) -> None:
    """The rule for a console password (a new account's and a changed one's)."""
    if len(password) < 8:
        raise AccountError("密码至少 8 位 / the password needs at least 8 characters")


def create_console_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    village: str | None,
    actor: str,
    township: str | None = None,
    default_township: str = "示范镇",
    department: str | None = None,
) -> ConsoleUser:
    """A console account. County roles see every township; ``admin``/``viewer`` are one township's (``township``,
    or the deployment's only one — made from ``default_township`` before any import); ``village`` one village of
    one township; ``department`` one department (站办所) of one township: its own transferred requests only. In a
    county deployment a township role without ``township`` is refused, naming them."""
    username = username.strip()
    if not re.fullmatch(r"[\w.\-@\u4e00-\u9fff]{2,50}", username):
        raise AccountError("账号名应为 2–50 个字母、数字、汉字或 . - _ @")
    if role not in ROLES:
        raise AccountError("role must be county-admin, county-viewer, admin, village, viewer or department")
    check_password(password)
    village_id = township_id = None
    if role.startswith("county-"):
        if township or village:
            raise AccountError("全县账号不属于某个乡镇或村：不用 --township / --village")
    else:
        try:
            t = townships.resolve(
                session, township, default=default_township, create=role not in ("village", "department")
            )
        except townships.TownshipRefused as e:
            raise AccountError(str(e)) from None
        township_id = t.id
    if role == "village":
        if not village:
            raise AccountError("village 账号需要 --village 村名")
        v = session.scalar(
            select(Village).where(Village.name == village.strip(), Village.township_id == township_id)
        )
        if v is None:
            raise AccountError(f"{t.name}没有名为 {village} 的村(居)")
        village_id = v.id
    elif village:
        raise AccountError("--village 只用于 village 账号")
    department_id = _department_id(session, role, department, township_id)
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username)) is not None:
        raise AccountError(f"账号 {username} 已存在")
    user = ConsoleUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        village_id=village_id,
        township_id=township_id,
        department_id=department_id,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.add",
        target=f"user:{username}",
        detail={"role": role, "village": village, "township": township, "department": department},
    )
    return user


def _department_id(
    session: Session, role: str, department: str | None, township_id: int | None
) -> int | None:
    """The department a ``department`` account belongs to (one of its township's, by name); other roles none."""
    if role != "department":
        if department:
            raise AccountError("--department 只用于 department 账号")
        return None
    if not department:
        raise AccountError("department 账号需要 --department 部门名（先用 lianxin department add 添加部门）")
    dept_id = session.scalar(
        select(Department.id).where(
            Department.township_id == township_id,
            Department.name == re.sub(r"\s+", "", department),
            Department.active.is_(True),
        )
    )
    if dept_id is None:
        raise AccountError(f"本镇没有名为 {department} 的部门，请先用 lianxin department add 添加")
    return int(dept_id)
