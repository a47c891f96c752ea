"""Hostile input to the chat: the command parser (handlers/keywords.py) under hypothesis, and a fuzzer that
sends invalid commands through the dispatcher as an unknown account, a villager and a cadre.

Checked: the parser never raises and only ever names a known command; a message never makes the dispatcher
raise or a handler crash (no InboundMessage ``failed``); an invalid command changes no domain row. What an
invalid message may legitimately write is listed in ``BOOKKEEPING``: the inbound log itself, the sender's
identity (first seen, 48-hour window), failed-attempt counters (rate limits) and reply paging state.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select, text

from bot import dispatch
from handlers import keywords
from handlers.base import Message
from storage.models import InboundMessage
from tests.support.factories import Factory

HYPO = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BOOKKEEPING = {"inbound_message", "wechat_identity", "rate_limit", "conversation_state", "alembic_version"}
_ids = itertools.count(7_000_000_001)

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
# What the dispatcher can receive: the /wechat parser (XML 1.0) never yields NUL, which PostgreSQL text cannot
# store (tests/test_hostile_wechat.py::test_nul_and_invalid_characters_are_refused_at_the_edge checks that edge).
chat_texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300
)


# ------------------------------------------------------------------------------------ the parser


@HYPO
@given(t=st.one_of(st.none(), texts))
def test_parse_never_raises_and_names_only_known_commands(t: str | None) -> None:
    p = keywords.parse(t)
    if p is not None:
        assert p.name in keywords.KEYWORDS
        assert isinstance(p.rest, str) and p.rest == p.rest.strip()
        assert len(p.rest) <= len(t or "")


@HYPO
@given(t=texts)
def test_fold_is_idempotent(t: str) -> None:
    once = keywords.fold(t)
    assert keywords.fold(once) == once


def _widen(s: str) -> str:
    """Half-width → full-width (what a Chinese input method types)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


@HYPO
@given(
    name=st.sampled_from(sorted(keywords.KEYWORDS)),
    number=st.integers(min_value=0, max_value=10**9),
    rest=texts.filter(lambda r: r.strip() != ""),
)
def test_full_width_and_half_width_commands_parse_alike(name: str, number: int, rest: str) -> None:
    syn, bare = keywords.KEYWORDS[name][0][0], keywords.KEYWORDS[name][1]
    half = syn if bare else f"{syn} {number} x{rest}"
    p1, p2 = keywords.parse(half), keywords.parse(_widen(half))
    assert p1 is not None and p2 is not None and p1.name == p2.name == name
    if not bare:
        assert keywords.leading_number(p1.rest)[0] == keywords.leading_number(p2.rest)[0] == number


@HYPO
@given(t=texts)
def test_number_and_card_helpers_never_raise(t: str) -> None:
    n, rest = keywords.leading_number(t)
    assert n is None or n >= 0
    card = keywords.looks_like_card_number(t)
    if card is not None:
        assert 4 <= len(card) <= 20 and card.isascii() and card.isalnum()
    keywords.digits_only(t)


# ------------------------------------------------------------------------------------ the dispatcher


class World:
    def __init__(self, lx: Any, clock: Any) -> None:
        self.lx, self.clock = lx, clock
        self.tables = [t for t in inspect(lx.engine).get_table_names() if t not in BOOKKEEPING]
        self.cases = 0

    def domain(self) -> dict[str, int]:
        sql = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{t}")' for t in self.tables)
        with self.lx.engine.connect() as conn:
            return dict(zip(self.tables, conn.execute(text(sql)).one(), strict=True))

    def send(self, openid: str, content: str) -> str | None:
        self.cases += 1
        self.clock.advance(seconds=1)
        msg = Message(
            openid=openid, kind="text", create_time=self.clock(), text=content, msg_id=str(next(_ids))
        )
        return dispatch.handle(self.lx, msg)

    def failed(self) -> int:
        with self.lx.session() as s:
            return (
                s.scalar(
                    select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "failed")
                )
                or 0
            )


@pytest.fixture
def world(lx: Any, clock: Any) -> Iterator[World]:
    clock.set("2026-11-24 20:00")
    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name="李明", phone="13900001111")
        h = f.household(cadre, head_name="张大爷", card="20261124")
        f.identity("o-cadre", cadre=cadre)
        f.identity("o-villager", household=h)
    yield World(lx, clock)


def _forms(word: str) -> st.SearchStrategy[str]:
    trad = {v: k for k, v in reversed(list(keywords._TRAD.items())) if isinstance(v, str)}  # noqa: SLF001
    traditional = "".join(trad.get(c, c) if isinstance(trad.get(c, c), str) else c for c in word)
    return st.sampled_from([word, _widen(word), traditional, f" {word} ", word + "。", word.upper()])


def _cadre_command_text() -> st.SearchStrategy[str]:
    """A cadre command (any form) with garbage after it, or a bare one alone."""
    names = sorted(keywords.CADRE_COMMANDS)
    syn = st.sampled_from(names).flatmap(lambda n: st.sampled_from(keywords.KEYWORDS[n][0])).flatmap(_forms)
    sep = st.sampled_from([" ", ":", "：", "\u3000", "  "])
    return st.one_of(syn, st.tuples(syn, sep, chat_texts).map(lambda t: "".join(t)))


@HYPO
@given(content=_cadre_command_text())
def test_villager_typing_cadre_commands_changes_nothing(world: World, content: str) -> None:
    parsed = keywords.parse(content)
    assume(parsed is not None and parsed.name in keywords.CADRE_COMMANDS)
    before = world.domain()
    reply = world.send("o-villager", content)
    assert reply  # always an answer (help), never silence
    assert world.domain() == before
    assert world.failed() == 0


@HYPO
@given(content=st.one_of(_cadre_command_text(), chat_texts))
def test_unknown_account_changes_nothing(world: World, content: str) -> None:
    assume(keywords.looks_like_card_number(content) != "20261124")
    before = world.domain()
    world.send("o-stranger", content)
    assert world.domain() == before
    assert world.failed() == 0


def _invalid_cadre_command() -> st.SearchStrategy[str]:
    """Commands whose arguments cannot be valid in this world: no cards, no requests, unknown households."""
    num = (
        st.integers(min_value=0, max_value=10**12).map(str).flatmap(lambda n: st.sampled_from([n, _widen(n)]))
    )
    junk = chat_texts.filter(
        lambda t: "张大爷" not in t and "20261124" not in t and "全部" not in t and "所有" not in t
    )
    word = st.sampled_from
    return st.one_of(
        st.tuples(word(["反馈", "完成", "回复", "延期", "反馈 #", "回覆"]), num, junk).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        st.tuples(word(["绑定", "綁定"]), num).map(lambda t: f"{t[0]} {t[1]}"),
        st.tuples(
            word(["发卡", "宣传", "承诺", "登记", "發卡", "宣傳"]), junk.filter(lambda t: t.strip() != "")
        ).map(lambda t: f"{t[0]} {t[1]}"),
        word(
            ["日记", "小结", "撤销", "回复", "反馈", "完成", "改", "改 角色 不存在", "延期", "日記", "小結"]
        ).flatmap(_forms),
    )


@HYPO
@given(content=_invalid_cadre_command())
def test_cadre_invalid_commands_change_nothing(world: World, content: str) -> None:
    parsed = keywords.parse(content)
    assume(parsed is not None)
    before = world.domain()
    reply = world.send("o-cadre", content)
    assert reply, content
    assert world.domain() == before, (content, reply)
    assert world.failed() == 0


def test_cadre_chat_fuzz_loop(world: World) -> None:
    """A few thousand random messages from every kind of sender, valid or not: never a crash."""
    import random

    rng = random.Random(8)
    words = [syn for syns, _ in keywords.KEYWORDS.values() for syn in syns] + ["20261124", "张大爷", "全部"]
    alphabet = (
        "0123456789０１２３ 　:：#＃，。!？ab张大爷新桥村日记反馈完成回复撤销"
        + "\u200b\u202e\U0001f600<>&'\"%_\\"
    )
    n = 1000
    for i in range(n):
        parts = [rng.choice(words) if rng.random() < 0.6 else "" for _ in range(rng.randint(1, 3))]
        parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        content = rng.choice([" ", "", "\u3000"]).join(parts)
        sender = rng.choice(["o-cadre", "o-villager", "o-stranger", f"o-new-{i % 7}"])
        if rng.random() < 0.02:
            world.clock.advance(hours=rng.randint(1, 60))
        world.send(sender, unicodedata.normalize(rng.choice(["NFC", "NFKD"]), content))
    assert world.failed() == 0
    print(f"\nchat fuzz: {n} messages from 4 kinds of sender, 0 failed handlers")


def test_rate_limited_binding_attempts_stop_at_the_lock(world: World) -> None:
    """Guessing binding codes: after 5 wrong codes the account is locked, and a right code does not help."""
    from storage.accounts import issue_bind_code
    from storage.models import RateLimit, WechatIdentity

    with world.lx.session() as s:
        good = issue_bind_code(
            s,
            phone="13900001111",
            actor="test",
            now=world.clock(),
            configured_secret=world.lx.config.console.secret_key,
        )[0]
    wrong = [f"{(int(good) + k) % 10**8:08d}" for k in range(1, 6)]
    for code in wrong:
        world.send("o-guesser", f"绑定 {code}")
    reply = world.send("o-guesser", f"绑定 {good}")
    assert reply and "次数过多" in reply
    with world.lx.session() as s:
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == "o-guesser"))
        assert ident.kind == "unknown"
        assert s.get(RateLimit, "bind:o-guesser").locked_until is not None
    world.clock.advance(hours=1, minutes=1)
    assert "绑定成功" in (world.send("o-guesser", f"绑定 {good}") or "")


def test_card_number_guessing_is_rate_limited(world: World) -> None:
    """Guessing service-card numbers to find a household: locked after repeated failures."""
    from storage.models import RateLimit, WechatIdentity

    replies = [world.send("o-cardguess", f"{20260000 + k}") for k in range(1, 12)]
    reply = world.send("o-cardguess", "20261124")  # the right card, once locked
    with world.lx.session() as s:
        rows = list(s.scalars(select(RateLimit).where(RateLimit.key.like("%o-cardguess%"))))
        ident = s.scalar(select(WechatIdentity).where(WechatIdentity.openid == "o-cardguess"))
    assert rows and any(r.locked_until is not None for r in rows), replies[-1]
    assert ident.kind == "unknown" and "张大爷" not in (reply or "")
    world.clock.advance(days=2)
    assert "张大爷" in (world.send("o-cardguess", "20261124") or "")


def test_leading_number_handles_huge_numbers(world: World) -> None:
    before = world.domain()
    for content in [
        "反馈 " + "9" * 400 + " 好",
        "回复 " + "１" * 100 + " 好",
        "完成 -1",
        "回复 0 x",
        "延期 1e9 明天",
    ]:
        assert world.send("o-cadre", content)
    assert world.domain() == before and world.failed() == 0
    assert timedelta  # (imported for clock arithmetic in other tests)
