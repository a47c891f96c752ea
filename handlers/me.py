"""`农户` (my households with their phones in full — the cadre is to call them (issue 25); a group cadre's phone
masked; `农户 2` page 2, `农户 NAME` by name) and `本月` (my figures this month)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select

from handlers import keywords
from handlers.base import Context, Message, Route, Router
from handlers.common import cadre_of, command, is_cadre
from handlers.paging import pages_of, paginate
from storage import household_tags
from storage.group_links import GroupLeader, group_leaders
from storage.models import (
    DiaryEntry,
    Household,
    Link,
    MonthlySummary,
    ServiceCard,
    TaskAssignment,
    Village,
    VillagerGroup,
    VillagerRequest,
    WechatIdentity,
)
from storage.naming import by_number
from storage.periods import last_day_of_month, month_key, start_of_day
from storage.register import in_programme


def households(ctx: Context, msg: Message, rest: str) -> str:
    """`农户` (all my households), `农户 2` (page 2 of that list), `农户 张` (mine whose head's name has 张)."""
    cadre = cadre_of(ctx)
    page, query = keywords.leading_number(rest)
    if page is not None and query:  # "2户" and the like: a name, not a page
        page, query = None, rest.strip()
    query = query.strip()
    linked = (
        select(func.count(WechatIdentity.id))
        .where(WechatIdentity.household_id == Household.id, WechatIdentity.kind == "villager")
        .correlate(Household)
        .scalar_subquery()
    )
    rows = ctx.session.execute(
        select(Household, Village.name, VillagerGroup.name, ServiceCard.number, linked, Household.group_id)
        .join(Link, Link.household_id == Household.id)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(VillagerGroup, VillagerGroup.id == Household.group_id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .where(Link.cadre_id == cadre.id, Household.purged_at.is_(None), in_programme())
    ).all()
    # by village, the number the group's name means (一组, 二组 … 十一组), head
    rows = sorted(rows, key=lambda r: (r[1], by_number(r[2]), r[0].head_name, r[0].id))
    # 重点人群: the household's own cadre sees its tags (storage/household_tags.py)
    tags = household_tags.tags_of(ctx.session, [r[0].id for r in rows])
    items = [
        {"h": h, "village": v, "group": g, "card": c, "wechat": n, "tags": tags.get(h.id, [])}
        for h, v, g, c, n, _gid in rows
        if not query or keywords.fold(query) in keywords.fold(h.head_name)
    ]
    # 包组联户: who answers for the groups of my households, and the groups I answer for
    groups: list[GroupLeader] = []
    if not query:
        mine = group_leaders(ctx.session, cadre_id=cadre.id)
        theirs = group_leaders(ctx.session, group_ids=sorted({gid for *_x, gid in rows if gid is not None}))
        seen = {g.group_id for g in mine}
        groups = mine + [g for g in theirs if g.group_id not in seen]
    reply = ctx.render(
        "households", cadre=cadre, items=items, query=query or None, total=len(rows), groups=groups
    )
    if page is None:
        return reply
    total = len(pages_of(reply))
    if not 1 <= page <= total:
        return ctx.render("households_no_page", page=page, total=total)
    return paginate(ctx, reply, first=page)


def month(ctx: Context, msg: Message, rest: str) -> str:
    cadre = cadre_of(ctx)
    today: date = ctx.message_day(msg)
    first, last = today.replace(day=1), last_day_of_month(today.year, today.month)
    start, end = start_of_day(first, ctx.config.tz), start_of_day(last + timedelta(days=1), ctx.config.tz)
    s = ctx.session
    # Four statements: one aggregate per table (counts only; no rows loaded that the reply does not show), each
    # built once per process.
    diary = s.execute(_MONTH_DIARY, {"b_cadre": cadre.id, "b_first": first, "b_last": last}).one()
    summary = s.scalar(_MONTH_SUMMARY, {"b_cadre": cadre.id, "b_month": month_key(today)})
    tasks = s.execute(_MONTH_TASKS, {"b_cadre": cadre.id, "b_start": start, "b_end": end}).one()
    reqs = s.execute(_MONTH_REQUESTS, {"b_cadre": cadre.id, "b_start": start, "b_end": end}).one()
    return ctx.render(
        "month",
        cadre=cadre,
        year=today.year,
        month=today.month,
        today=today,
        days=diary[1] or 0,
        entries=diary[0] or 0,
        summary=summary,
        tasks_total=tasks[0] or 0,
        tasks_fed_back=tasks[1] or 0,
        tasks_done=tasks[2] or 0,
        open_tasks=tasks[3] or 0,
        requests_total=reqs[0] or 0,
        requests_answered=reqs[1] or 0,
        requests_waiting=reqs[2] or 0,
    )


def _count_if(condition: Any) -> Any:
    """COUNT of the rows meeting ``condition`` (portable: no FILTER clause needed)."""
    return func.count(case((condition, 1)))


_MONTH_DIARY = select(func.count(DiaryEntry.id), func.count(func.distinct(DiaryEntry.day))).where(
    DiaryEntry.cadre_id == bindparam("b_cadre"),
    DiaryEntry.day >= bindparam("b_first"),
    DiaryEntry.day <= bindparam("b_last"),
    DiaryEntry.deleted_at.is_(None),
)
_MONTH_SUMMARY = select(MonthlySummary).where(
    MonthlySummary.cadre_id == bindparam("b_cadre"), MonthlySummary.month == bindparam("b_month")
)
_DUE = and_(
    TaskAssignment.deadline >= bindparam("b_start"),
    TaskAssignment.deadline < bindparam("b_end"),
    TaskAssignment.status != "pending",
)
_MONTH_TASKS = select(
    _count_if(_DUE),
    _count_if(and_(_DUE, TaskAssignment.first_feedback_at.is_not(None))),
    _count_if(and_(_DUE, TaskAssignment.status == "done")),
    _count_if(TaskAssignment.status.in_(("delivered", "acknowledged", "returned"))),
).where(TaskAssignment.cadre_id == bindparam("b_cadre"))
_THIS_MONTH = and_(
    VillagerRequest.created_at >= bindparam("b_start"), VillagerRequest.created_at < bindparam("b_end")
)
_MONTH_REQUESTS = select(
    _count_if(_THIS_MONTH),
    _count_if(and_(_THIS_MONTH, VillagerRequest.first_answer_at.is_not(None))),
    _count_if(VillagerRequest.status == "open"),
).where(VillagerRequest.cadre_id == bindparam("b_cadre"))

router = Router(
    "me",
    is_cadre,
    (
        Route("me.households", command("农户"), households),
        Route("me.month", command("本月"), month),
    ),
)
