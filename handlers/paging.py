"""Long replies in pages: a reply over WeChat's limit shows its first page, `更多` the next one."""

from __future__ import annotations

from datetime import timedelta

from handlers import conversation
from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import command
from storage.models import ConversationState

# WeChat shows at most 2048 bytes of a passive text reply; we keep a margin for the page footer.
REPLY_LIMIT_BYTES = 2048
PAGE_BUDGET_BYTES = 1800
PAGING_MINUTES = 30


def split_pages(text: str, budget: int = PAGE_BUDGET_BYTES) -> list[str]:
    """Cut a long reply into pages of at most ``budget`` UTF-8 bytes, at line breaks where possible."""
    pages: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line.encode()) > budget:  # a single overlong line: cut it by characters
            cut = _fit(line, budget)
            if current:
                pages.append(current)
                current = ""
            pages.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) > budget:
            pages.append(current)
            current = line
        else:
            current = candidate
    if current or not pages:
        pages.append(current)
    return pages


def _fit(line: str, budget: int) -> int:
    size = 0
    for i, ch in enumerate(line):
        size += len(ch.encode())
        if size > budget:
            return max(i, 1)
    return len(line)


def pages_of(reply: str) -> list[str]:
    """The pages ``paginate`` would show for ``reply`` (one page when it fits in one reply)."""
    return [reply] if len(reply.encode()) <= REPLY_LIMIT_BYTES else split_pages(reply)


def paginate(ctx: Context, reply: str, first: int = 1) -> str:
    """Return the reply, or its page ``first`` (1 = the first; 1 <= first <= len(pages_of(reply))) with a
    footer, keeping the pages after it for "更多".

    The pages live in the identity's ConversationState under ``data["_more"]``: another flow's state (the
    guided 登记) is left in place, a plain paging state has ``flow == "more"``.
    """
    if first == 1 and len(reply.encode()) <= REPLY_LIMIT_BYTES:
        return reply
    pages = pages_of(reply)
    total = len(pages)
    if total == 1:
        return reply
    shown = pages[first - 1] + "\n" + ctx.render("page_footer", page=first, total=total, more=first < total)
    rest = [
        pages[j] + "\n" + ctx.render("page_footer", page=j + 1, total=total, more=j + 1 < total)
        for j in range(first, total)
    ]
    if not rest:
        return shown
    state = conversation.current(ctx)
    expires = ctx.now() + timedelta(minutes=PAGING_MINUTES)
    if state is None or state.expires_at <= ctx.now():
        if state is not None:
            ctx.session.delete(state)
            ctx.session.flush()
        state = conversation.start(
            ctx,
            ConversationState(
                identity_id=ctx.identity.id, flow="more", step="more", data={}, expires_at=expires
            ),
        )
    state.data = {**(state.data or {}), "_more": rest}
    if state.flow == "more":
        state.expires_at = expires
    ctx.session.flush()
    return shown


def next_page(ctx: Context) -> str | None:
    """The next kept page, or None when nothing is left."""
    state = conversation.current(ctx)
    if state is None or not (state.data or {}).get("_more"):
        return None
    if state.flow == "more" and state.expires_at <= ctx.now():
        ctx.session.delete(state)
        ctx.session.flush()
        return None
    pages = list(state.data["_more"])
    page = pages.pop(0)
    if pages:
        state.data = {**state.data, "_more": pages}
    elif state.flow == "more":
        ctx.session.delete(state)
    else:
        data = dict(state.data)
        data.pop("_more", None)
        state.data = data
    ctx.session.flush()
    return page


def more(ctx: Context, msg: Message, rest: str = "") -> str:
    """`更多`: the next kept page."""
    page = next_page(ctx)
    return page if page is not None else ctx.render("more_nothing")


router = Router("paging", anyone, (Route("more", command("更多", bare_only=True), more),))
