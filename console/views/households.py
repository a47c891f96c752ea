"""农户: search; the 民情信息登记表 with its history; link changes; card number; commitment letter date."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from console.access import cadre_in_scope, db, done, get_in_scope, lx, now, record, user, writers
from console.views import common
from handlers import link_notices
from handlers.render import mask_phone
from storage import cards, handover, household_tags, register
from storage.accounts import normalize_phone
from storage.models import (
    Cadre,
    DutyRecord,
    Household,
    HouseholdInfoHistory,
    Link,
    LinkChange,
    ServiceCard,
    VillagerRequest,
)

bp = Blueprint("households", __name__)

INFO_FIELDS = {
    "head_name": "户主姓名",
    "head_phone": "户主电话",
    "population": "家庭人口",
    "address": "住址",
    "members": "家庭成员",
    "annual_income": "家庭年收入（元）",
    "income_sources": "收入来源",
    "industries": "产业项目",
    "difficulties": "困难与诉求",
}


@bp.get("/households")
def households() -> Any:
    q = (request.args.get("q") or "").strip()
    village_id = request.args.get("village", type=int)
    common.limit_number_lookups(q)
    with db() as s:
        stmt = (
            common.scope_households(select(Household))
            .where(Household.purged_at.is_(None))
            .options(
                joinedload(Household.village),
                joinedload(Household.group),
                joinedload(Household.card),
                joinedload(Household.link).joinedload(Link.cadre),
            )
            .order_by(Household.village_id, Household.head_name, Household.id)
        )
        if q:
            stmt = stmt.outerjoin(ServiceCard).where(
                common.text_filter(
                    q, Household.head_name, Household.head_phone, Household.address, ServiceCard.number
                )
            )
        if village_id:
            stmt = stmt.where(Household.village_id == village_id)
        tag = ((request.args.get("tag") or "").strip() or None) if user().is_admin else None  # the office's
        if tag:
            stmt = stmt.where(household_tags.has_tag(tag))
        if common.wants_xlsx():
            return _households_xlsx(list(s.scalars(stmt.limit(common.EXPORT_LIMIT))))
        rows, page, more = common.paged(s, stmt)
        office = user().is_admin
        return render_template(
            "households.html",
            total=common.total(s, stmt),
            rows=rows,
            page=page,
            more=more,
            q=q,
            village_id=village_id,
            villages=common.villages(s),
            args=common.query_args(),
            tag=tag,
            tags=household_tags.known_tags(s) if office else [],
            tags_of=household_tags.tags_of(s, [h.id for h in rows]) if office else {},
        )


def _households_xlsx(rows: list[Household]) -> Any:
    headers = ["户主", "电话", "村(居)", "村民小组", "人口", "服务卡号", "联系干部", "承诺书"]
    return common.xlsx_download(
        "农户名单",
        headers,
        [
            [
                h.head_name,
                mask_phone(h.head_phone),
                h.village.name,
                h.group.name if h.group else "",
                h.population,
                h.card.number if h.card else "",
                h.link.cadre.name if h.link else "未联系",
                h.link.commitment_signed_on.isoformat() if h.link and h.link.commitment_signed_on else "未签",
            ]
            for h in rows
        ],
        action="households.export",
        target="households",
    )


def _household(s: Any, household_id: int) -> Household:
    return get_in_scope(s, Household, household_id)


@bp.get("/households/<int:household_id>")
def household(household_id: int) -> Any:
    with db() as s:
        h = _household(s, household_id)
        history = list(
            s.scalars(
                select(HouseholdInfoHistory)
                .where(HouseholdInfoHistory.household_id == h.id)
                .order_by(HouseholdInfoHistory.changed_at.desc(), HouseholdInfoHistory.id.desc())
            )
        )
        changes = list(
            s.scalars(
                select(LinkChange)
                .where(LinkChange.household_id == h.id)
                .order_by(LinkChange.changed_at.desc())
            )
        )
        names = {
            c.id: c.name
            for c in s.scalars(
                select(Cadre).where(
                    Cadre.id.in_([x.old_cadre_id for x in changes] + [x.new_cadre_id for x in changes])
                )
            )
        }
        duties = list(
            s.scalars(
                select(DutyRecord).where(DutyRecord.household_id == h.id).order_by(DutyRecord.done_on.desc())
            )
        )
        reqs = list(
            s.scalars(
                select(VillagerRequest)
                .where(VillagerRequest.household_id == h.id)
                .order_by(VillagerRequest.created_at.desc())
                .limit(20)
            )
        )
        cadres = list(
            s.scalars(common.scope_cadres(select(Cadre).where(Cadre.active.is_(True))).order_by(Cadre.name))
        )
        return render_template(
            "household.html",
            h=h,
            history=history,
            changes=changes,
            names=names,
            duties=duties,
            accounts=cards.linked_accounts(s, h.id),
            reqs=reqs,
            cadres=cadres,
            fields=INFO_FIELDS,
            full=user().sees_full(h.village_id),
            members_text=_members_text(h.members),
            edit=request.args.get("edit") == "1",
            reasons=register.REASONS,
            tags=household_tags.tags_of(s, [h.id]).get(h.id, []) if user().is_admin else None,
        )


def _members_text(members: list[Any] | None) -> str:
    lines = []
    for m in members or []:
        lines.append(" ".join(str(m.get(k) or "") for k in ("name", "relation", "age", "note")).strip())
    return "\n".join(lines)


def _parse_members(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        parts = re.split(r"[\s,，、]+", line.strip(), maxsplit=3)
        if not parts or not parts[0]:
            continue
        age: int | None = None
        if len(parts) > 2 and parts[2]:
            if not parts[2].isdigit():
                raise ValueError(f"家庭成员“{line.strip()}”的年龄应为数字（每行：姓名 关系 年龄 备注）")
            age = int(parts[2])
        out.append(
            {
                "name": parts[0],
                "relation": parts[1] if len(parts) > 1 else "",
                "age": age,
                "note": parts[3] if len(parts) > 3 else "",
            }
        )
    return out


def _as_text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):
        return _members_text(value)
    return str(value)


@bp.post("/households/<int:household_id>")
@writers
def household_save(household_id: int) -> Any:
    f = request.form
    with db() as s:
        h = _household(s, household_id)
        new: dict[str, Any] = {}
        try:
            name = f.get("head_name", "").strip()
            if not name:
                raise ValueError("户主姓名不能为空")
            new["head_name"] = name
            phone = normalize_phone(f.get("head_phone", ""))
            if phone and not re.fullmatch(r"\d{7,12}", phone):
                raise ValueError("户主电话应为 7–12 位数字")
            new["head_phone"] = phone or None
            pop = f.get("population", "0").strip() or "0"
            if not pop.isdigit():
                raise ValueError("家庭人口应为不小于 0 的整数")
            new["population"] = int(pop)
            new["address"] = f.get("address", "").strip() or None
            new["members"] = _parse_members(f.get("members", "")) or None
            inc = f.get("annual_income", "").strip().replace(",", "")
            try:
                new["annual_income"] = Decimal(inc).quantize(Decimal("0.01")) if inc else None
            except InvalidOperation:
                raise ValueError("家庭年收入应为数字（元）") from None
            for k in ("income_sources", "industries", "difficulties"):
                new[k] = f.get(k, "").strip() or None
        except ValueError as e:
            abort(400, description=str(e))
        t = now()
        changed = []
        for k, v in new.items():
            old = getattr(h, k)
            if _as_text(old) != _as_text(v):
                s.add(
                    HouseholdInfoHistory(
                        household_id=h.id,
                        changed_at=t,
                        changed_by=f"office:{user().username}",
                        field=k,
                        old_value=_as_text(old),
                        new_value=_as_text(v),
                    )
                )
                setattr(h, k, v)
                changed.append(k)
        if changed:
            h.info_updated_at = t
            h.info_updated_by = f"office:{user().username}"
            record(s, "household.edit", f"household:{h.id}", fields=changed)
        return done(
            "已保存民情信息登记表。" if changed else "没有改动。",
            "console.households.household",
            household_id=h.id,
        )


@bp.post("/households/<int:household_id>/link")
@writers
def household_link(household_id: int) -> Any:
    """The household's cadre, its commitment letter's date and (the office's) its card number, from one form."""
    f = request.form
    number = cards.normalize_number(f.get("card_number", ""))
    if number and user().is_admin:
        # A new number is checked against every card ("已被其他农户使用"): a lookup by number, counted per user
        # before the unit of work that saves (common.limit_number_lookups commits its own count).
        with db() as s:
            current = s.scalar(select(ServiceCard.number).where(ServiceCard.household_id == household_id))
        if number != cards.normalize_number(current):
            common.limit_number_lookups(number)
    with db() as s:
        h = _household(s, household_id)
        msgs: list[str] = []
        old_signed = h.link.commitment_signed_on if h.link else None
        link, moved = _change_cadre(s, h, f.get("cadre_id", type=int), msgs)
        if link is not None and "commitment_signed_on" in f:
            _set_commitment(s, h, link, f.get("commitment_signed_on", "").strip(), moved, old_signed, msgs)
        if number and user().is_admin and (h.card is None or cards.normalize_number(h.card.number) != number):
            _set_card_number(s, h, number, msgs)
        return done(
            "；".join(msgs) + "。" if msgs else "没有改动。",
            "console.households.household",
            household_id=h.id,
        )


def _change_cadre(s: Any, h: Household, cadre_id: int | None, msgs: list[str]) -> tuple[Link | None, bool]:
    """Link the household to another cadre (in scope, same township). Returns its link and whether it moved from
    one cadre to another, whose duties then start afresh (card to reissue, commitment to sign) and whose
    villagers are told."""
    link = h.link
    if not cadre_id or (link is not None and link.cadre_id == cadre_id):
        return link, False
    c = s.get(Cadre, cadre_id)
    if c is None:
        abort(400, description="请选择一名干部")
    cadre_in_scope(c)
    if c.township_id != h.village.township_id:
        abort(400, description="干部与农户不在同一乡镇，不能联户")
    t = now()
    old = link.cadre_id if link else None
    if link is None:
        link = Link(household_id=h.id, cadre_id=c.id, linked_at=t)
        s.add(link)
        s.add(
            LinkChange(
                household_id=h.id,
                old_cadre_id=None,
                new_cadre_id=c.id,
                changed_at=t,
                changed_by=f"office:{user().username}",
            )
        )
    else:  # a move is a handover of one household (storage/handover.py): requests, cards and villagers go along
        try:
            handed = handover.hand_over(
                s,
                household_ids=[h.id],
                successor=c,
                actor=f"office:{user().username}",
                now=t,
                words=link_notices.handover_words(lx().wording(), lx().config.tz),
                config=lx().config,
            )
        except handover.HandoverError as e:
            abort(400, description=str(e))
        told = handed.villagers_told
        msgs.append(
            "服务卡需重新发放（换卡待发），承诺书需重新签订"
            + (f"，随户转交未答复诉求 {len(handed.requests)} 条" if handed.requests else "")
            + (f"、督办卡 {len(handed.cards)} 张" if handed.cards else "")
            + (f"，已通知农户微信 {told} 个" if told else "")
        )
    record(s, "link.change", f"household:{h.id}", old_cadre=old, new_cadre=c.id)
    msgs.insert(0, f"联系干部改为 {c.name}")
    return link, old is not None


def _set_commitment(
    s: Any, h: Household, link: Link, signed: str, moved: bool, old_signed: date | None, msgs: list[str]
) -> None:
    """The date the commitment letter came back signed. After a move, the date the form showed is the old
    cadre's letter: only a date the office changed belongs to the new cadre."""
    try:
        d = date.fromisoformat(signed) if signed else None
    except ValueError:
        abort(400, description="承诺书签订日期应写作 YYYY-MM-DD")
    if d != link.commitment_signed_on and not (moved and d == old_signed):
        link.commitment_signed_on = d
        link.commitment_recorded_by = f"office:{user().username}"
        record(s, "commitment.set", f"household:{h.id}", date=signed or None)
        msgs.append("承诺书日期已更新")


def _set_card_number(s: Any, h: Household, number: str, msgs: list[str]) -> None:
    """The office gives the household another card number (refused when it is another household's)."""
    if not re.fullmatch(r"\d{4,20}", number):
        abort(400, description="服务卡号应为 4–20 位数字")
    other = cards.by_number(s, number)
    if other is not None and other.household_id != h.id:
        abort(400, description=f"服务卡号 {number} 已被其他农户使用")
    old_number = h.card.number if h.card else None
    if h.card is None:
        s.add(ServiceCard(household_id=h.id, number=number))
    else:
        h.card.number = number
    record(s, "card.number", f"household:{h.id}", old=old_number, new=number)
    msgs.append(f"服务卡号改为 {number}")
