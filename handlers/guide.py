"""`帮助`: what this account can do, by role (cadre, villager, or not yet bound)."""

from __future__ import annotations

from sqlalchemy import select

from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import cadre_of, command, is_cadre, is_villager, kinds
from storage.models import Cadre, Link


def show(ctx: Context, msg: Message, rest: str = "") -> str:
    if is_cadre(ctx):
        return ctx.render("help_cadre", cadre=cadre_of(ctx))
    if is_villager(ctx):
        link = ctx.session.scalar(select(Link).where(Link.household_id == ctx.identity.household_id))
        cadre = ctx.session.get(Cadre, link.cadre_id) if link else None
        return ctx.render("help_villager", cadre=cadre)
    return ctx.render("welcome")


def fallback(ctx: Context, msg: Message) -> str:
    """Nothing else matched (e.g. a cadre sent a video): say what works."""
    if msg.kind not in ("text", "voice", "image", "location"):
        return ctx.render("unsupported")
    return show(ctx, msg)


router = Router("guide", anyone, (Route("help", command("帮助"), show),))
# Last of all: unbound accounts get the welcome; a cadre's or villager's other kinds of message get help.
fallback_router = Router(
    "fallback",
    anyone,
    (
        Route(
            "fallback",
            kinds("text", "voice", "image", "location", "link", "video", "shortvideo", "unknown"),
            fallback,
        ),
    ),
)
