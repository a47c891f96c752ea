"""`政策 WORD` and plain policy questions: the 惠农政策宣传 handbook, ranked with jieba word segmentation."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from handlers import keywords
from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import command
from storage.models import PolicyEntry

log = logging.getLogger("lianxin.bot.policy")

MAX_RESULTS = 3
# The handbook's topics from the programme's rules, shown when the handbook is still empty.
DEFAULT_TOPICS = (
    "环境卫生",
    "烤烟生产",
    "全民绿化",
    "计划生育",
    "综治维稳",
    "安全生产",
    "禁毒禁赌",
    "涉农法规",
    "办证须知",
)
_QUESTION = (
    "吗",
    "怎么",
    "如何",
    "什么",
    "哪些",
    "哪里",
    "多少",
    "能不能",
    "可不可以",
    "是否",
    "请问",
    "咨询",
    "?",
    "？",
)
_STOP = set(
    "的 了 吗 呢 啊 吧 是 有 在 和 与 及 我 你 他 她 我们 什么 怎么 如何 怎样 哪些 哪里 多少 请问 一下 "
    "可以 能 能不能 想 要 问 问问 咨询 政策 规定 这个 那个 有没有 没有 给 对 都 也 就 还 吧".split()
)

_jieba_lock = threading.Lock()
_jieba_ready = False


# Words rarer than this in jieba's corpus are left out of the dictionary: the full one (349,000 words) costs
# every web worker about 62 MB and 0.4 s to load; the ~110,000 words kept cost about 18 MB and 0.1 s and
# segment villagers' policy questions the same way (the handbook's topic words are added back explicitly).
MIN_WORD_FREQ = 10


def _trimmed_dictionary() -> str:
    """jieba's dictionary without its rarest words, written once to the temp folder and reused."""
    import jieba

    src = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    stat = os.stat(src)
    path = os.path.join(
        tempfile.gettempdir(), f"lianxin-jieba-{stat.st_size}-{int(stat.st_mtime)}-f{MIN_WORD_FREQ}.txt"
    )
    if not os.path.exists(path):
        with open(src, encoding="utf-8") as f:
            kept = [line for line in f if int(line.split(" ")[1]) >= MIN_WORD_FREQ]
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(kept)
        os.replace(tmp, path)  # atomic: concurrent workers never read half a file
    return path


def warm_up() -> None:
    """Load jieba's dictionary once, at start-up rather than inside WeChat's 5 s budget."""
    global _jieba_ready
    with _jieba_lock:
        if not _jieba_ready:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.set_dictionary(_trimmed_dictionary())
            jieba.initialize()
            for topic in DEFAULT_TOPICS:
                jieba.add_word(topic[:2])
                jieba.add_word(topic[2:])
            _jieba_ready = True


def words(text: str) -> list[str]:
    """Meaningful words of ``text`` (search-mode segmentation, stop words and punctuation dropped)."""
    warm_up()
    import jieba

    folded = keywords.fold(text)
    out = []
    for w in jieba.lcut_for_search(folded):
        w = w.strip()
        if not w or w in _STOP or not re.search(r"[\w]", w):
            continue
        if len(w) == 1 and not w.isdigit():
            continue  # single characters match everything
        out.append(w)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Entry:
    """A handbook entry as the chat reads it (what policy_results shows), with its text folded for matching."""

    id: int
    topic: str
    title: str
    body: str
    keywords: str
    folded: tuple[str, str, str, str]  # title, keywords, topic, body as keywords.fold makes them


@dataclass
class Hit:
    entry: Entry
    score: float


@dataclass(frozen=True)
class Handbook:
    entries: tuple[Entry, ...]
    topics: tuple[str, ...]


# The handbook read once per change, per process: every villager's question (a request ending in 吗 is one) asked
# whether it was a policy question by loading every entry. It is read again when its row count, highest id or
# latest edit or total text length moves (one aggregate SELECT instead of two SELECTs of every row and their ORM
# objects). Only an edit of the same length within the same microsecond as the last one would go unseen.
_VERSION = select(
    func.count(PolicyEntry.id),
    func.max(PolicyEntry.id),
    func.max(PolicyEntry.updated_at),
    func.sum(
        func.length(PolicyEntry.title)
        + func.length(PolicyEntry.body)
        + func.length(PolicyEntry.topic)
        + func.length(func.coalesce(PolicyEntry.keywords, ""))
    ),
)
# engine -> (version, handbook); weak, so a test's or a closed township's engine takes its handbook with it.
_handbooks: weakref.WeakKeyDictionary[Any, tuple[Any, Handbook]] = weakref.WeakKeyDictionary()
_handbooks_lock = threading.Lock()


def handbook(ctx: Context) -> Handbook:
    """The handbook as it stands in the database (cached while it does not change)."""
    version = tuple(ctx.session.execute(_VERSION).one())
    engine = ctx.session.get_bind()
    cached = _handbooks.get(engine)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = ctx.session.scalars(select(PolicyEntry).order_by(PolicyEntry.topic, PolicyEntry.title)).all()
    book = Handbook(
        entries=tuple(
            Entry(
                id=e.id,
                topic=e.topic,
                title=e.title,
                body=e.body,
                keywords=e.keywords or "",
                folded=(
                    keywords.fold(e.title),
                    keywords.fold(e.keywords or ""),
                    keywords.fold(e.topic),
                    keywords.fold(e.body),
                ),
            )
            for e in rows
        ),
        topics=tuple(sorted({e.topic for e in rows})),
    )
    with _handbooks_lock:
        _handbooks[engine] = (version, book)
    return book


def search(book: Handbook, query: str) -> list[Hit]:
    """Entries ranked by weighted word matches: title and keywords count most, then topic, then body."""
    terms = words(query)
    if not terms:
        return []
    hits = []
    for entry in book.entries:
        title, kw, topic, body = entry.folded
        score = 0.0
        for t in terms:
            if t in title:
                score += 3
            if t in kw:
                score += 3
            if t in topic:
                score += 2
            if t in body:
                score += 1 + min(body.count(t), 3) * 0.1
        if score > 0:
            hits.append(Hit(entry, score))
    hits.sort(key=lambda h: (-h.score, h.entry.topic, h.entry.title))
    return hits


def topics(book: Handbook) -> list[str]:
    return list(book.topics) or list(DEFAULT_TOPICS)


def answer(ctx: Context, query: str, *, explicit: bool) -> str:
    book = handbook(ctx)
    hits = search(book, query) if query.strip() else []
    if not hits:
        return ctx.render(
            "policy_topics",
            topics=topics(book),
            query=query.strip(),
            empty=not book.entries,
        )
    return ctx.render(
        "policy_results",
        hits=hits[:MAX_RESULTS],
        more=len(hits) - MAX_RESULTS,
        query=query.strip(),
        explicit=explicit,
    )


def lookup(ctx: Context, msg: Message, rest: str) -> str:
    """`政策 WORD`; `政策` alone lists the topics."""
    return answer(ctx, rest, explicit=True)


def _plain_question(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """A plain text that clearly asks about a policy: a question that names 政策 or a handbook topic and
    finds an entry through its title, keywords or topic (not just a word somewhere in a body)."""
    if msg.kind != "text" or not msg.text:
        return None
    text = keywords.fold(msg.text)
    if keywords.parse(msg.text) is not None or not any(q in text for q in _QUESTION):
        return None
    book = handbook(ctx)
    names_topic = "政策" in text or any(t in text for t in topics(book))
    hits = search(book, text)
    if hits and hits[0].score >= 3 and (names_topic or hits[0].score >= 6):
        return {}
    return None


def question(ctx: Context, msg: Message) -> str:
    return answer(ctx, msg.text, explicit=False)


router = Router("policy", anyone, (Route("policy.lookup", command("政策"), lookup),))
# After every cadre route: a cadre's plain text is a diary entry, whatever it asks.
question_router = Router("policy.question", anyone, (Route("policy.question", _plain_question, question),))
