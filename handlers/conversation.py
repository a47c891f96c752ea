"""The one way to the identity's conversation state (the guided 登记 form, the pages kept for 更多).

Most messages have none: the dispatcher learns that with the identity's own row (bot/dispatch.py, one UPDATE …
RETURNING) and sets ``Context.no_conversation``, so the routes that ask (the form's, paging's) cost no SELECT.
A state made during the message clears the flag, so a later ask in the same message finds it.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from handlers.base import Context
from storage.models import ConversationState

_STATE = select(ConversationState).where(ConversationState.identity_id == bindparam("b_identity"))


def current(ctx: Context) -> ConversationState | None:
    """The identity's conversation state, or None."""
    if ctx.no_conversation:
        return None
    return ctx.session.scalar(_STATE, {"b_identity": ctx.identity.id})


def start(ctx: Context, state: ConversationState) -> ConversationState:
    """Add a new state for the identity (the form's or paging's)."""
    ctx.session.add(state)
    ctx.no_conversation = False
    return state
