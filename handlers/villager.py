"""Villagers: link to a household with the service card (number or QR scan), then every message is a
request (诉求) forwarded to the linked cadre; satisfaction is asked once after the cadre's answer."""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import select

from handlers import card_limits, keywords, request_notices
from handlers.base import Context, Message, Route, Router, anyone
from handlers.common import cadre_openid, is_cadre, is_villager, local_time_text, unbound_or_villager
from handlers.roles import ROLES, guess_category
from handlers.station_notices import StationNotices
from handlers.unlink import unlink_words
from storage import cards, requests, station
from storage.models import Attachment, Cadre, Household, ServiceCard, VillagerRequest, WechatIdentity
from storage.outbox import request_values

log = logging.getLogger("lianxin.bot.villager")

# How often a card may be tried and linked (per account, per card, across accounts): handlers/card_limits.py.
REQUEST_KINDS = ("text", "voice", "image", "location")
QR_PREFIX = "qrscene_"


# ------------------------------------------------------------------------------------------ linking


def find_card(ctx: Context, number: str) -> ServiceCard | None:
    """A card by its number, however it was typed (storage.cards.by_number)."""
    return cards.by_number(ctx.session, number)


def link_card(ctx: Context, number: str | None = None, *, scene: str | None = None) -> str:
    """Link this account to the household holding card ``number`` (typed) or whose QR code carries
    ``scene`` (scanned). A family may link several accounts to one household; every new link is told to the
    household's cadre."""
    now = ctx.now()
    scanned = scene is not None
    if is_cadre(ctx):
        # A cadre's account stays a cadre's: scanning a household's card changes nothing.
        card = cards.by_scene(ctx.session, scene) if scene is not None else find_card(ctx, number or "")
        return ctx.render("card_cadre", household=card.household if card else None)
    refused = card_limits.refused_before_lookup(ctx, scanned=scanned)
    if refused is not None:
        return refused
    card = cards.by_scene(ctx.session, scene or "") if scanned else find_card(ctx, number or "")
    if card is None or card.household.purged_at is not None:
        return card_limits.wrong(
            ctx, number=None if scanned else cards.normalize_number(number), scanned=scanned
        )
    household: Household = card.household
    cadre = requests.cadre_for(ctx.session, household.id)
    if household.closed_on is not None:
        # a closed household's card links no more (storage/register.py); it is the household's own number, not a
        # guess: nothing is counted, and the answer says whom to ask (its cadre while in post, else the office)
        return ctx.render("card_closed", household=household, cadre=cadre if cadre and cadre.active else None)
    ident = ctx.identity
    already = ident.kind == "villager" and ident.household_id == household.id
    if not already:
        refused = card_limits.refused_before_link(ctx, household, cadre, scanned=scanned)
        if refused is not None:
            return refused
        cards.link(ctx.session, ident, household, via="qr" if scanned else "number", now=now)
        _announce(ctx, ident, household, cadre)
    ctx.session.flush()
    return ctx.render("card_linked", household=household, cadre=cadre, already=already)


def _announce(ctx: Context, ident: WechatIdentity, household: Household, cadre: Cadre | None) -> None:
    """The household's cadre hears of every new link (who could be a stranger holding the number): the notice
    names the household and this link's number, never the card number (a forwarded notice must not link
    anyone), and says the `解绑` that removes exactly this link."""
    target = cadre_openid(ctx.session, cadre.id) if cadre is not None else None
    if target is None or cadre is None:
        return
    others = len(cards.linked_identities(ctx.session, household.id)) - 1
    ctx.outbox.enqueue(
        target,
        "notice",
        ctx.render(
            "link_push",
            household=household,
            via=ident.bound_via,
            others=others,
            link_no=ident.link_no,
            say=unlink_words(ctx.session, cadre.id, household, ident.link_no),
            account=cards.mask_openid(ident.openid),
            time=local_time_text(ctx, ctx.now()),
        ),
        key=f"link:h{household.id}:i{ident.id}:{ctx.now().isoformat()}",
    )


_MOBILE = re.compile(r"1[3-9]\d{9}")


def _card_text(ctx: Context, msg: Message) -> dict[str, Any] | None:
    # Unbound accounts link; a linked villager sending a card number is reminded (own card) or moves to the
    # household of that card (a family member's account) — not a request whose text is the number.
    if msg.kind != "text":
        return None
    number = keywords.looks_like_card_number(msg.text.strip())
    if number and is_villager(ctx) and (len(number) < 6 or _MOBILE.fullmatch(number)):
        return (
            None  # a linked villager's phone number or a short figure ("5000") is for the cadre, not a card
        )
    return {"number": number} if number else None


def _scan(ctx: Context, msg: Message) -> dict[str, Any] | None:
    """subscribe (EventKey ``qrscene_<scene>``) and SCAN (``<scene>``) from a card's parametric QR code.
    A plain follow has no EventKey (or an empty one) and goes on to the follow events."""
    if msg.kind != "event" or msg.event not in ("subscribe", "SCAN") or not msg.event_key:
        return None
    scene = msg.event_key.strip()
    if msg.event == "subscribe":
        if not scene.startswith(QR_PREFIX):
            return None
        scene = scene[len(QR_PREFIX) :]
    return {"scene": scene} if scene else None


def by_text(ctx: Context, msg: Message, number: str) -> str:
    return link_card(ctx, number)


def by_scan(ctx: Context, msg: Message, scene: str) -> str:
    if msg.event == "subscribe":
        ctx.identity.subscribed = True
        ctx.identity.unsubscribed_at = None
        ctx.identity.unreachable = False
        ctx.identity.unreachable_reason = None
    return link_card(ctx, scene=scene)


def unknown_card_hint(ctx: Context, msg: Message) -> str:
    """An unbound account wrote something that is not a card number, a code or a policy question."""
    return ctx.render("welcome")


# ----------------------------------------------------------------------------------------- requests


def _request_text(ctx: Context, msg: Message) -> str:
    if msg.kind == "text":
        return msg.text.strip()
    if msg.kind == "voice":
        return msg.text.strip() or ctx.render("request_voice_placeholder")
    if msg.kind == "image":
        return ctx.render("request_image_placeholder")
    if msg.kind == "location" and msg.location is not None:
        lat, lon, label = msg.location
        return ctx.render("request_location_placeholder", lat=lat, lon=lon, label=label)
    return msg.text.strip()


def create_request(ctx: Context, msg: Message) -> str:
    """Every message of a linked villager becomes a request with a short number, forwarded to the cadre
    (storage/requests.py: numbered, stored and pushed as the office's offline entry is)."""
    ident = ctx.identity
    household = ctx.session.get(Household, ident.household_id)
    assert household is not None
    cadre = requests.cadre_for(ctx.session, household.id)
    if cadre is None:
        return ctx.render("request_no_cadre")
    text = _request_text(ctx, msg)
    if not text:
        return ctx.render("help_villager", cadre=cadre)
    made = requests.create(
        ctx.session,
        household=household,
        cadre=cadre,
        text=text,
        category=guess_category(text) if msg.kind in ("text", "voice") else "其他",
        created_at=ctx.now(),
        msg_type=msg.kind,
        identity_id=ident.id,
        inbound_id=ctx.inbound_id,
        words=request_notices.WORDS,
        config=ctx.config,
    )
    request = made.request
    if msg.kind in ("image", "voice", "location"):
        ctx.session.add(
            Attachment(
                owner_type="request",
                owner_id=request.id,
                media_type=msg.kind,
                media_id=msg.media_id,
                pic_url=msg.pic_url,
                created_at=ctx.now(),
            )
        )
    ctx.session.flush()
    return ctx.render(
        "request_received_office" if made.went == requests.TO_OFFICE else "request_received",
        request=request,
        cadre=cadre,
        role=ROLES.get(request.role or "", ""),
    )


def _awaiting_rating(ctx: Context) -> VillagerRequest | None:
    return ctx.session.scalar(
        select(VillagerRequest)
        .where(VillagerRequest.identity_id == ctx.identity.id, VillagerRequest.status == "answered")
        .order_by(VillagerRequest.first_answer_at.desc(), VillagerRequest.id.desc())
        .limit(1)
    )


def _rating(name: str) -> Any:
    def match(ctx: Context, msg: Message) -> dict[str, Any] | None:
        if msg.kind != "text":
            return None
        parsed = keywords.parse(msg.text)
        if parsed is None or parsed.name != name or parsed.rest:
            return None
        return {} if _awaiting_rating(ctx) is not None else None

    return match


def satisfied(ctx: Context, msg: Message) -> str:
    req = _awaiting_rating(ctx)
    assert req is not None
    req.satisfaction = "满意"
    req.satisfaction_at = ctx.now()
    req.status = "closed"
    req.closed_at = ctx.now()
    req.closed_by = "villager"
    _rated_for_department(ctx, req)
    ctx.session.flush()
    return ctx.render("satisfaction_thanks", request=req)


def unsatisfied(ctx: Context, msg: Message) -> str:
    """不满意 reopens the request and tells the cadre."""
    req = _awaiting_rating(ctx)
    assert req is not None
    req.satisfaction = "不满意"
    req.satisfaction_at = ctx.now()
    req.status = "open"
    req.reopened_count = (req.reopened_count or 0) + 1
    cadre = ctx.session.get(Cadre, req.cadre_id)
    target = cadre_openid(ctx.session, req.cadre_id)
    if target is not None:
        ctx.outbox.enqueue(
            target,
            "request",
            ctx.render("reopen_push", request=req),
            key=f"request:{req.id}:reopen:{req.reopened_count}",
            template=request_values(req, ctx.config.tz) | {"category": "不满意重办"},
        )
    _rated_for_department(ctx, req)
    ctx.session.flush()
    return ctx.render("satisfaction_reopened", request=req, cadre=cadre)


def _rated_for_department(ctx: Context, req: VillagerRequest) -> None:
    """回访 counts for the department whose answer was rated (storage.station.rated), as well as for the cadre."""
    station.rated(
        ctx.session,
        request=req,
        satisfaction=req.satisfaction or "",
        now=ctx.now(),
        config=ctx.config,
        words=StationNotices(ctx.tz),
    )


def cadre_command(ctx: Context, msg: Message) -> str:
    """A villager typed a cadre's command: explain, change nothing."""
    household = ctx.session.get(Household, ctx.identity.household_id)
    cadre = requests.cadre_for(ctx.session, household.id) if household else None
    return ctx.render("villager_cadre_command", cadre=cadre)


def _cadre_keyword(ctx: Context, msg: Message) -> dict[str, Any] | None:
    if msg.kind != "text":
        return None
    parsed = keywords.parse(msg.text)
    return {} if parsed is not None and parsed.name in keywords.CADRE_COMMANDS else None


def _request_kinds(ctx: Context, msg: Message) -> dict[str, Any] | None:
    return {} if msg.kind in REQUEST_KINDS else None


def unsupported(ctx: Context, msg: Message) -> str:
    return ctx.render("unsupported")


def _any_message(ctx: Context, msg: Message) -> dict[str, Any] | None:
    return {} if msg.kind != "event" else None


# Linking sits at two places in the order. QR scans, from anyone (a cadre is told the card changes nothing),
# come before the plain follow events; a card number typed by an unbound account or a linked villager comes
# after 帮助/绑定, whose keywords it could otherwise look like ("help1234").
scan_router = Router("villager.scan", anyone, (Route("villager.scan", _scan, by_scan),))
card_router = Router("villager.card", unbound_or_villager, (Route("villager.card", _card_text, by_text),))
# Everything else a linked villager sends, after every cadre route.
router = Router(
    "villager",
    is_villager,
    (
        Route("villager.satisfied", _rating("满意"), satisfied),
        Route("villager.unsatisfied", _rating("不满意"), unsatisfied),
        Route("villager.cadre_command", _cadre_keyword, cadre_command),
        Route("villager.request", _request_kinds, create_request),
        Route("villager.unsupported", _any_message, unsupported),
    ),
)
