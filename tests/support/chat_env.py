"""Shared set-up for the chat tests: a Lianxin on the test database, /wechat, a WechatClient, people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from storage.accounts import issue_bind_code
from storage.models import Cadre, OutboxMessage, WechatIdentity
from tests.support.factories import Factory
from tests.support.wechat_client import TEST_TOKEN, WechatClient, wechat_app


@dataclass
class Chat:
    lx: Any
    clock: Any
    wc: WechatClient

    def code(self, phone: str) -> str:
        with self.lx.session() as s:
            return issue_bind_code(
                s,
                phone=phone,
                actor="test",
                now=self.clock(),
                configured_secret=self.lx.config.console.secret_key,
            )[0]

    def count(self, model: Any, *where: Any) -> int:
        with self.lx.session() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def one(self, stmt: Any) -> Any:
        with self.lx.session() as s:
            return s.scalar(stmt)

    def all(self, stmt: Any) -> list[Any]:
        with self.lx.session() as s:
            return list(s.scalars(stmt))

    def factory(self) -> Any:
        return _FactoryScope(self.lx)

    def bound_to(self, openid: str) -> str | None:
        """The phone of the cadre ``openid`` is bound to (None when it is not a bound cadre's)."""
        return self.one(
            select(Cadre.phone)
            .join(WechatIdentity, WechatIdentity.cadre_id == Cadre.id)
            .where(WechatIdentity.openid == openid, WechatIdentity.kind == "cadre")
        )

    def notices(self) -> dict[str, str]:
        """The text of the notice pushed to each account (the last one where there are several)."""
        return {
            m.openid: m.payload["text"]
            for m in self.all(select(OutboxMessage).where(OutboxMessage.kind == "notice"))
        }


class _FactoryScope:
    def __init__(self, lx: Any) -> None:
        self.cm = lx.session()

    def __enter__(self) -> Factory:
        self.s = self.cm.__enter__()
        return Factory(self.s)

    def __exit__(self, *exc: Any) -> None:
        self.cm.__exit__(*exc)


def make_chat(make_lx: Any, clock: Any, **overrides: Any) -> Chat:
    lx = make_lx(**overrides)
    app = wechat_app(lx)
    return Chat(
        lx,
        clock,
        WechatClient(
            app.test_client(), TEST_TOKEN, clock, aes_key=overrides.get("wechat.encoding_aes_key", "")
        ),
    )


# The cadre chat world: 李明 (PHONE) with 张大爷 (card 20261124, phone 13812345678) and 刘婶 (20261125);
# 王芳 (13900002222) with 赵叔 (20261126). Nobody is bound yet: ``bound(chat)`` binds 李明 as o-li.
PHONE = "13900001111"


def cadre_world(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 20:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        cadre = f.cadre(name="李明", phone=PHONE, post="村支书")
        other = f.cadre(name="王芳", phone="13900002222")
        f.household(cadre, head_name="张大爷", card="20261124", head_phone="13812345678")
        f.household(cadre, head_name="刘婶", card="20261125")
        f.household(other, head_name="赵叔", card="20261126")
    return c


def bound(chat: Chat, openid: str = "o-li", phone: str = PHONE) -> str:
    chat.wc.text(openid, f"绑定 {chat.code(phone)}")
    assert chat.bound_to(openid) == phone
    return openid


# A busy cadre: 李明 (BUSY_PHONE, bound as o-li) with forty households, and 王芳 (BUSY_OTHER), unbound.
BUSY_PHONE = "13900003333"
BUSY_OTHER = "13900004444"


def busy_cadre_world(make_lx: Any, clock: Any) -> Chat:
    clock.set("2026-11-24 09:00")
    c = make_chat(make_lx, clock)
    with c.factory() as f:
        li = f.cadre(name="李明", phone=BUSY_PHONE)
        f.cadre(name="王芳", phone=BUSY_OTHER)
        for i in range(40):
            f.household(
                li,
                head_name=f"张{i:02d}号户主" if i % 2 else f"刘{i:02d}号户主某某某某某某",
                card=f"2026{i:04d}",
            )
    c.wc.text("o-li", f"绑定 {c.code(BUSY_PHONE)}")
    assert c.bound_to("o-li") == BUSY_PHONE
    return c
