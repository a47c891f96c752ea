"""Service cards as keys to a household: card numbers, QR scene tokens, and the WeChat accounts linked.

A domain service: functions take the caller's session and never commit.

Card numbers are random: 7 random digits (the first never 0) and a Damm check digit, 8 digits in all, short
enough for an elderly villager to type. The check digit catches every single wrong digit and every swap of two
neighbouring digits, so a typo is told apart from a number that is simply not a card (``number_typo``).
Numbers printed before random numbers existed (sequential ``VVVSSSSS``) keep working: they are looked up
as they are; ``renumber`` re-issues random numbers for a village before its cards are reprinted.

A card's QR scene (``qr_scene``) is ``secrets.token_urlsafe(24)`` — 32 characters, 192 random bits, within
WeChat's 1–64 for ``scene_str`` — and never derived from the number.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import Household, HouseholdInfoHistory, ServiceCard, WechatIdentity
from storage.push_links import revoke_links_for
from storage.redact import mask_runs, number_runs

NUMBER_DIGITS = 8
PERMANENT_QR_LIMIT = 100_000  # WeChat: at most 100,000 permanent parametric QR codes per account
VIA = ("number", "qr")

# Damm's quasigroup of order 10 (H. M. Damm, 2004): every single-digit error and every adjacent transposition
# changes the interim digit, so the check fails.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def _damm(digits: str) -> int:
    interim = 0
    for d in digits:
        interim = _DAMM[interim][int(d)]
    return interim


def check_digit(body: str) -> str:
    return str(_damm(body))


def number_checks(number: str) -> bool:
    """True when ``number`` (digits) carries a valid check digit."""
    return number.isdigit() and _damm(number) == 0


def number_typo(number: str) -> bool:
    """An 8-digit number whose check digit is wrong: a typo, not a number the office ever issued at random."""
    return len(number) == NUMBER_DIGITS and number.isdigit() and not number_checks(number)


def random_number(used: set[str] | None = None) -> str:
    """A fresh random card number not in ``used`` (which it joins)."""
    used = used if used is not None else set()
    while True:
        body = str(secrets.randbelow(9) + 1) + "".join(
            str(secrets.randbelow(10)) for _ in range(NUMBER_DIGITS - 2)
        )
        number = body + check_digit(body)
        if number not in used:
            used.add(number)
            return number


def draw_number(session: Session) -> str:
    """A fresh random card number for one new card (``household add``): drawn as ``random_number`` draws them
    (an import draws many against the set it read once), and checked against every stored number."""
    while True:
        number = random_number()
        if session.scalar(select(ServiceCard.id).where(ServiceCard.number == number)) is None:
            return number


def new_scene() -> str:
    return secrets.token_urlsafe(24)


# What a typed or printed card number may carry besides its digits: spaces, dashes, dots, underscores.
_SEPARATORS = re.compile(r"[\s\-_.·—－]")


def normalize_number(text: str | None) -> str:
    """A card number as typed, printed or listed → as stored: full-width digits made ASCII, spaces, dashes and
    dots dropped, letters upper-cased ("２０２６ １１２４" → "20261124").

    The one normalization of card numbers, so that the chat (handlers/keywords.looks_like_card_number), the
    office's lookups (offline entry, purge, a card's households) and the link-list importer agree on what a
    number is; four slightly different ones used to find a card in one place and miss it in another."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).upper()


def by_number(session: Session, number: str | None) -> ServiceCard | None:
    """The card with this number, however it was typed (``normalize_number``) — the one lookup of a card by its
    number, for every caller. A card stored before numbers were normalised (with spaces or dashes) is found
    too."""
    number = normalize_number(number)
    if not number:
        return None
    card = session.scalar(select(ServiceCard).where(ServiceCard.number == number))
    if card is None:
        stored = func.upper(func.replace(func.replace(ServiceCard.number, "-", ""), " ", ""))
        card = session.scalar(select(ServiceCard).where(stored == number).limit(1))
    return card


def household_by_number(session: Session, number: str | None) -> Household | None:
    """The household holding the card ``number`` (``by_number``), closed or not; None when there is none or it was
    purged. The office's lookups by card (the register, offline entries, moving a household) all ask this."""
    card = by_number(session, number)
    household = card.household if card is not None else None
    return household if household is not None and household.purged_at is None else None


def by_scene(session: Session, scene: str) -> ServiceCard | None:
    if not scene or len(scene) > 64:
        return None
    return session.scalar(select(ServiceCard).where(ServiceCard.qr_scene == scene))


RETIRED_QR = "card_qr_scene"  # HouseholdInfoHistory.field of a QR code a renumbering took off its card


def qr_codes_created(session: Session) -> int:
    """Permanent QR codes this installation has had WeChat create (they count against the account's limit).

    A code retired by ``renumber`` still counts: WeChat never gives a permanent code back."""
    on_cards = (
        session.scalar(
            select(func.count()).select_from(ServiceCard).where(ServiceCard.qr_created_at.is_not(None))
        )
        or 0
    )
    retired = (
        session.scalar(
            select(func.count())
            .select_from(HouseholdInfoHistory)
            .where(HouseholdInfoHistory.field == RETIRED_QR)
        )
        or 0
    )
    return on_cards + retired


def renumber(
    session: Session, cards: list[ServiceCard], *, changed_by: str, now: datetime
) -> list[tuple[str, str]]:
    """Give each card a fresh random number and retire its QR code; history per household. [(old, new)].

    A renumbering is how an office makes a leaked or photographed card useless, so the old QR code must stop
    linking too: its scene is cleared (``by_scene`` no longer finds it) and the reprint gets a new code."""
    used = set(session.scalars(select(ServiceCard.number)))
    changes = []
    for card in cards:
        old = card.number
        card.number = random_number(used)
        session.add(
            HouseholdInfoHistory(
                household_id=card.household_id,
                field="card_number",
                old_value=old,
                new_value=card.number,
                changed_at=now,
                changed_by=changed_by,
            )
        )
        if card.qr_created_at is not None:
            session.add(
                HouseholdInfoHistory(
                    household_id=card.household_id,
                    field=RETIRED_QR,
                    old_value=card.qr_scene,
                    new_value=None,
                    changed_at=now,
                    changed_by=changed_by,
                )
            )
        card.qr_scene = card.qr_ticket = card.qr_url = None
        card.qr_created_at = None
        changes.append((old, card.number))
    session.flush()
    return changes


# ------------------------------------------------------------------------------------ linked accounts


@dataclass
class LinkedAccount:
    identity_id: int
    openid_masked: str
    bound_at: datetime | None
    via: str | None
    link_no: int | None = None


def mask_openid(openid: str) -> str:
    return openid[:4] + "…" + openid[-4:] if len(openid) > 10 else openid[:2] + "…"


def linked_identities(session: Session, household_id: int) -> list[WechatIdentity]:
    """The WeChat accounts linked to a household, the most recently linked first."""
    return list(
        session.scalars(
            select(WechatIdentity)
            .where(WechatIdentity.kind == "villager", WechatIdentity.household_id == household_id)
            .order_by(WechatIdentity.bound_at.desc().nullslast(), WechatIdentity.id.desc())
        )
    )


def linked_accounts(session: Session, household_id: int) -> list[LinkedAccount]:
    return [
        LinkedAccount(i.id, mask_openid(i.openid), i.bound_at, i.bound_via, i.link_no)
        for i in linked_identities(session, household_id)
    ]


def _next_link_no(session: Session, household_id: int) -> int:
    """The household's next link number, drawn by one UPDATE … RETURNING: two links at once get two numbers
    (PostgreSQL holds the second until the first commits)."""
    n = session.execute(
        update(Household)
        .where(Household.id == household_id)
        .values(links_made=Household.links_made + 1)
        .returning(Household.links_made)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(n)


def link(session: Session, identity: WechatIdentity, household: Household, *, via: str, now: datetime) -> int:
    """Link the account to the household (leaving any household it spoke for before); returns the link's number
    in the household (its 关联号, which the cadre's notice names and `解绑 户主姓名 N` removes). An account that
    spoke for another household or a cadre loses the pages of its earlier pushes: they were that role's."""
    if identity.kind == "cadre" or (
        identity.household_id is not None and identity.household_id != household.id
    ):
        revoke_links_for(identity.openid, session=session, now=now)
    identity.kind = "villager"
    identity.household_id = household.id
    identity.cadre_id = None
    identity.bound_at = now
    identity.bound_via = via
    identity.link_no = _next_link_no(session, household.id)
    session.flush()
    return identity.link_no


def number_links(session: Session, household_id: int) -> list[WechatIdentity]:
    """The household's linked accounts (latest first), each with a link number: accounts linked before numbers
    existed (or seeded) are given the next ones, so every account the cadre is shown can be named."""
    linked = linked_identities(session, household_id)
    for ident in reversed(linked):
        if ident.link_no is None:
            ident.link_no = _next_link_no(session, household_id)
    session.flush()
    return linked


def unlink(session: Session, identity: WechatIdentity) -> None:
    """The account is no longer linked to any household (it may link again with a card)."""
    identity.kind = "unknown"
    identity.household_id = None
    identity.bound_at = None
    identity.bound_via = None
    identity.link_no = None
    session.flush()


def mask_card_numbers(session: Session, text: str) -> str:
    """``text`` with every service card number in it starred out, however it was typed (spaced, full-width …).

    A card number is its household's credential (PRODUCT.md "Safe to run for real"): no push and no page under
    public_url may carry one, even when a villager typed their own into a request. One query, and only when
    the text holds an 8- or 9-digit run."""
    candidates = {d for _s, _e, d in number_runs(text or "") if len(d) in (8, 9) and d.isdigit()}
    if not candidates:
        return text
    found = set(session.scalars(select(ServiceCard.number).where(ServiceCard.number.in_(candidates))))
    return mask_runs(text, {n: "*" * len(n) for n in found}) if found else text
