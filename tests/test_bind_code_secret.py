"""Binding codes are kept as HMACs under the deployment's secret (storage/accounts.py ``code_hash``): the
configured ``[console] secret_key`` when there is one — outside the database, so a copy of the database gives no
code back — else the key kept in the database. The issuing door and the chat agree on the key."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from storage.accounts import code_hash
from storage.models import BindCode, WechatIdentity
from storage.secrets import stored_secret_key
from tests.support.chat_env import PHONE, cadre_world

SECRET = "s" * 40


def test_a_code_is_keyed_with_the_configured_secret_and_binds_through_the_chat(
    make_lx: Any, clock: Any
) -> None:
    chat = cadre_world(lambda **kw: make_lx(**{"console.secret_key": SECRET, **kw}), clock)
    code = chat.code(PHONE)
    with chat.lx.session() as s:
        stored = s.scalar(select(BindCode.code_hash))
        kept = stored_secret_key(s)
    assert stored == code_hash(SECRET, code)
    assert stored != hashlib.sha256(code.encode()).hexdigest()
    assert kept is None or stored != code_hash(kept, code)  # the database alone does not give the code back
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {code}")
    assert chat.one(select(WechatIdentity.kind).where(WechatIdentity.openid == "o-li")) == "cadre"


def test_without_a_configured_secret_the_key_kept_in_the_database_is_used(make_lx: Any, clock: Any) -> None:
    chat = cadre_world(make_lx, clock)
    code = chat.code(PHONE)
    with chat.lx.session() as s:
        kept = stored_secret_key(s)
        assert kept is not None and s.scalar(select(BindCode.code_hash)) == code_hash(kept, code)
    assert "绑定成功" in chat.wc.text("o-li", f"绑定 {code}")
