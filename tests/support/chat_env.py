"""Shared set-up for the chat tests: a Lianxin on the test database, /wechat, a WechatClient, people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from storage.accounts import issue_bind_code
from tests.support.factories import Factory
from tests.support.wechat_client import TEST_TOKEN, WechatClient, wechat_app


@dataclass
class Chat:
    lx: Any
    clock: Any
    wc: WechatClient

    def code(self, phone: str) -> str:
        with self.lx.session() as s:
            return issue_bind_code(s, phone=phone, actor="test", now=self.clock())[0]

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
    return Chat(lx, clock, WechatClient(app.test_client(), TEST_TOKEN, clock,
                                         aes_key=overrides.get("wechat.encoding_aes_key", "")))
