"""The demo township: ``seed_demo(session, today=..., tz=...)`` fills a database with a believable township.

The people are drawn in storage/demo/people.py, the policy handbook is storage/data/demo_handbook.toml.

Three villages, ten cadres, 300 households (names drawn from common surnames and given names with a fixed
random seed, so every run draws the same people), information forms, service cards, commitment letters,
the policy handbook's nine topics, three weeks of diaries ending today, supervision cards (one overdue),
villagers' requests (one past the time limit), WeChat identities with fake openids and three console users.

Idempotent: every part looks for what it would create first (households through the importer, which
reports an unchanged file as unchanged; the rest by natural keys), so a second run adds nothing.
The caller owns the transaction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, column, func, inspect, select, table
from sqlalchemy.orm import Session

from storage import numbering, station
from storage.accounts import create_console_user, record_binding
from storage.cards import number_links
from storage.demo.handbook import POLICY_HANDBOOK
from storage.demo.people import CADRE_PHONES, CADRE_POSTS, VILLAGES, DemoHousehold, draw_people, members
from storage.importer import COLUMNS, SourceRow, Table, apply_import, plan_import
from storage.models import (
    Cadre,
    ConsoleUser,
    DiaryEntry,
    DiaryMention,
    Feedback,
    Household,
    Link,
    MonthlySummary,
    PolicyEntry,
    RequestReply,
    ServiceCard,
    Task,
    TaskAssignment,
    Village,
    VillagerGroup,
    VillagerRequest,
    WechatIdentity,
)
from storage.outbox import open_user_window
from storage.periods import month_key, previous_month
from storage.roles import CATEGORY_ROLE, guess_category, guess_role
from storage.targets import Target
from storage.timestamps import now_of

SEED = 20261124
ACTOR = "demo"

DEMO_USERS = [
    # username, password, role, village
    ("admin", "demo-admin", "admin", None),
    ("xinqiao", "demo-village", "village", "新桥村"),
    ("leader", "demo-viewer", "viewer", None),
    ("minzheng", "demo-department", "department", "民政办"),  # a department's account: its 转办 desk
]
# the township's 站办所 (转办, storage/station/)
DEMO_DEPARTMENTS = ("民政办", "司法所", "农业农村办")


# --------------------------------------------------------------------------------------------------
# Whose database is this?
# --------------------------------------------------------------------------------------------------

_CADRE = table("cadre", column("phone"))
_VILLAGE = table("village", column("name"))
_USER = table("console_user", column("username"))
_IDENTITY = table("wechat_identity", column("openid"))


def foreign_data(conn: Connection) -> dict[str, int]:
    """What the database holds that the demo did not make, {what (Chinese): how many}; empty for an empty
    database or one the demo filled (and played with: the simulator's ``demo-``/``sim-`` accounts are the demo's).

    ``lianxin demo`` seeds the database the configuration names — by default ``lianxin.db`` in the working folder,
    the production default too — so it first looks for people it would never make: cadres with other phones,
    other villages, other console accounts, real WeChat accounts. Plain SQL on columns every schema version has,
    so it runs before the schema is upgraded."""
    have = set(inspect(conn).get_table_names())
    checks = [
        (
            "cadre",
            "干部",
            select(func.count()).select_from(_CADRE).where(_CADRE.c.phone.not_in(CADRE_PHONES)),
        ),
        (
            "village",
            "村(居)",
            select(func.count())
            .select_from(_VILLAGE)
            .where(_VILLAGE.c.name.not_in([name for name, _, _ in VILLAGES])),
        ),
        (
            "console_user",
            "控制台账号",
            select(func.count())
            .select_from(_USER)
            .where(_USER.c.username.not_in([u for u, _, _, _ in DEMO_USERS])),
        ),
        (
            "wechat_identity",
            "微信账号",
            select(func.count())
            .select_from(_IDENTITY)
            .where(~_IDENTITY.c.openid.like("demo-%"), ~_IDENTITY.c.openid.like("sim-%")),
        ),
    ]
    out = {}
    for name, label, stmt in checks:
        if name in have and (n := conn.scalar(stmt) or 0):
            out[label] = n
    return out


@dataclass
class SeedReport:
    """What a seed run added (all zero on a second run)."""

    added: dict[str, int] = field(default_factory=dict)
    users: list[tuple[str, str, str, str | None]] = field(default_factory=lambda: list(DEMO_USERS))

    def add(self, key: str, n: int = 1) -> None:
        self.added[key] = self.added.get(key, 0) + n


# --------------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------------


def _local(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def seed_demo(
    session: Session,
    *,
    tz: ZoneInfo,
    today: date | None = None,
    now: datetime | None = None,
    township: str = "示范镇",
) -> SeedReport:
    """Seed (or complete) the demo township. ``now`` defaults to 17:00 local on ``today``."""
    if now is None:
        today = today or now_of(session).astimezone(tz).date()
        now = _local(today, 17, 0, tz)
    today = today or now.astimezone(tz).date()
    rng = random.Random(SEED)
    report = SeedReport()
    people = draw_people(rng)

    households = _seed_links(session, people, township, now, report)
    cadres = {c.phone: c for c in session.scalars(select(Cadre).where(Cadre.phone.in_(CADRE_PHONES)))}
    cadre_list = [cadres[p] for p in CADRE_PHONES]
    _seed_duties(session, people, households, cadre_list, today, tz, report)
    _seed_policy(session, now, report)
    identities = _seed_identities(session, people, households, cadre_list, now, report)
    _seed_diary(session, people, households, cadre_list, today, now, tz, report)
    _seed_summaries(session, cadre_list, today, tz, report)
    _seed_tasks(session, cadre_list, today, now, tz, report)
    _seed_requests(session, people, households, cadre_list, identities, now, report)
    _seed_departments(session, households, report)
    _seed_users(session, report)
    session.flush()
    return report


def _seed_departments(session: Session, households: dict[int, Household], report: SeedReport) -> None:
    """The township's departments that requests are passed to (转办)."""
    township_id = next(iter(households.values())).village.township_id
    have = {d.name for d in station.of_township(session, township_id, active_only=False)}
    for name in DEMO_DEPARTMENTS:
        if name not in have:
            station.add_or_update(session, township_id=township_id, name=name, actor=ACTOR)
            report.add("departments")


def _seed_links(
    session: Session, people: list[DemoHousehold], township: str, now: datetime, report: SeedReport
) -> dict[int, Household]:
    """Villages, groups, cadres, households, links and cards through the importer (idempotent by design)."""
    table = Table(filename="demo")
    led: set[tuple[str, str]] = set()
    for n, h in enumerate(people, start=2):
        name, post, unit = CADRE_POSTS[h.cadre]
        values = [
            h.village,
            h.group,
            h.head,
            h.phone,
            str(h.population),
            "",
            name,
            CADRE_PHONES[h.cadre],
            post,
            unit,
        ]
        # 包组联户: the cadre of a group's first household answers for the group
        first = (h.village, h.group) not in led
        led.add((h.village, h.group))
        values += [name, CADRE_PHONES[h.cadre]] if first else ["", ""]
        values.append("")  # 重点人群: none (the demo's table has no such column, so its tags are left alone)
        table.rows.append(
            SourceRow(number=n, values={key: v for (_, key), v in zip(COLUMNS, values, strict=True)})
        )
    plan = plan_import(session, table, township=township)
    if not plan.ok:  # pragma: no cover - the demo data is valid; a clash with real data is reported
        raise RuntimeError("demo link list refused: " + "; ".join(str(p) for p in plan.problems[:5]))
    c = plan.counts
    if (
        c["households_new"]
        or c["households_updated"]
        or c["cadres_new"]
        or c["cadres_updated"]
        or c["group_links_changed"]
    ):
        apply_import(session, plan, actor=ACTOR, now=now)
        report.add("households", c["households_new"])
        report.add("cadres", c["cadres_new"])
    by_key: dict[tuple[str, str, str], Household] = {}
    rows = session.execute(
        select(Household, Village.name, VillagerGroup.name)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(VillagerGroup, VillagerGroup.id == Household.group_id)
        .where(Village.name.in_([v for v, _, _ in VILLAGES]))
    ).all()
    for h, vname, gname in rows:
        by_key[(vname, gname or "", h.head_name)] = h
    return {p.index: by_key[(p.village, p.group, p.head)] for p in people}


def _seed_duties(
    session: Session,
    people: list[DemoHousehold],
    households: dict[int, Household],
    cadres: list[Cadre],
    today: date,
    tz: ZoneInfo,
    report: SeedReport,
) -> None:
    ids = [h.id for h in households.values()]
    cards = {
        c.household_id: c
        for c in session.scalars(select(ServiceCard).where(ServiceCard.household_id.in_(ids)))
    }
    links = {k.household_id: k for k in session.scalars(select(Link).where(Link.household_id.in_(ids)))}
    for p in people:
        h = households[p.index]
        t = p.traits
        cadre = cadres[p.cadre]
        done_day = today - timedelta(days=t["days_ago"])
        by = f"cadre:{cadre.phone}"
        if t["info"] and h.info_updated_at is None:
            h.members = members(p)
            h.address = f"{p.village}{p.group}{t['doorplate']}号"
            h.annual_income = Decimal(t["income"])
            h.income_sources = t["income_sources"]
            h.industries = "、".join(t["industries"])
            h.difficulties = t["difficulty"] or "无"
            h.info_updated_at = _local(done_day, 15, 30, tz)
            h.info_updated_by = by
            report.add("info_forms")
        card = cards.get(h.id)
        if t["card_issued"] and card is not None and card.issued_on is None:
            card.issued_on = done_day
            card.issued_by = by
            report.add("cards_issued")
        link = links.get(h.id)
        if t["commitment"] and link is not None and link.commitment_signed_on is None:
            link.commitment_signed_on = done_day
            link.commitment_recorded_by = by
            report.add("commitments")
        if t["policy"] and h.policy_done_on is None:
            h.policy_done_on = done_day
            h.policy_done_by = by
        if h.listed_on is None:
            h.listed_on = today - timedelta(days=75)


def _seed_policy(session: Session, now: datetime, report: SeedReport) -> None:
    existing = set(session.execute(select(PolicyEntry.topic, PolicyEntry.title)).tuples())
    for topic, title, keywords, body in POLICY_HANDBOOK:
        if (topic, title) not in existing:
            session.add(
                PolicyEntry(
                    topic=topic, title=title, body=body, keywords=keywords, updated_at=now, updated_by=ACTOR
                )
            )
            report.add("policy_entries")


def _seed_identities(
    session: Session,
    people: list[DemoHousehold],
    households: dict[int, Household],
    cadres: list[Cadre],
    now: datetime,
    report: SeedReport,
) -> dict[int, WechatIdentity]:
    """demo-cadre-01..10 and demo-villager-001.. for the households that send requests."""
    have = {
        i.openid: i
        for i in session.scalars(select(WechatIdentity).where(WechatIdentity.openid.like("demo-%")))
    }
    for k, c in enumerate(cadres, start=1):
        openid = f"demo-cadre-{k:02d}"
        if openid not in have:
            # the last cadre has not written for days: outside WeChat's 48-hour window
            last = now - (timedelta(days=4) if k == len(cadres) else timedelta(hours=k))
            have[openid] = WechatIdentity(
                openid=openid,
                kind="cadre",
                cadre_id=c.id,
                bound_at=now - timedelta(days=40),
                first_seen_at=now - timedelta(days=41),
            )
            open_user_window(have[openid], last)
            session.add(have[openid])
            record_binding(session, cadre_id=c.id, openid=openid, code_id=None, now=now - timedelta(days=40))
            report.add("identities")
    out: dict[int, WechatIdentity] = {}
    for n, idx in enumerate(VILLAGER_INDEXES, start=1):
        openid = f"demo-villager-{n:03d}"
        h = households[people[idx].index]
        if openid not in have:
            have[openid] = WechatIdentity(
                openid=openid,
                kind="villager",
                household_id=h.id,
                bound_at=now - timedelta(days=20 - n % 10),
                first_seen_at=now - timedelta(days=21 - n % 10),
            )
            open_user_window(have[openid], now - timedelta(hours=3 + 7 * n))
            session.add(have[openid])
            session.flush()
            number_links(session, h.id)  # the link's number, as a link made by chat gets
            report.add("identities")
        out[idx] = have[openid]
    session.flush()
    return out


DIARY_TEXTS = [
    "走访{v}{g}{h}家，了解今年烤烟收购情况，全家烤烟收入比去年增加，{h}对收购等级评定比较满意。",
    "到{h}家宣传城乡居民医保参保缴费政策，讲解了缴费标准和截止时间，当场帮助完成线上缴费。",
    "{h}家与邻居因为排水沟问题发生争执，现场协调，双方同意共同出工疏通水沟，矛盾已化解。",
    "入户看望{h}家独居老人，检查了取暖炉和电线，提醒注意一氧化碳中毒，留下了联系电话。",
    "组织{g}群众开展房前屋后环境卫生整治，{h}等群众参与清理垃圾，清运两车。",
    "指导{h}家申报产业奖补，帮助填写申请表并收集了养殖场照片。",
    "在{g}召开群众会，宣传禁毒禁赌和森林防火知识，{h}提出村里路灯需要维修的问题，已记录。",
    "帮{h}家联系镇农业服务中心技术员，查看核桃病虫害，技术员现场讲解了防治方法。",
    "核实{h}家民情信息，更新家庭成员外出务工情况，{h}反映孩子上学交通不便。",
    "陪同{h}到镇便民服务中心办理残疾人证换证，手续已受理。",
    "走访{h}家，了解冬季农田水利修缮需求，{h}建议修复{g}的灌溉沟渠。",
    "检查{g}护林防火宣传牌，到{h}家发放森林防火宣传单，提醒上坟祭祀不烧纸不放炮。",
]


def _seed_diary(
    session: Session,
    people: list[DemoHousehold],
    households: dict[int, Household],
    cadres: list[Cadre],
    today: date,
    now: datetime,
    tz: ZoneInfo,
    report: SeedReport,
) -> None:
    rng = random.Random(SEED + 1)
    first = today - timedelta(days=20)
    have = set(
        session.execute(
            select(DiaryEntry.cadre_id, DiaryEntry.day).where(
                DiaryEntry.source == "demo", DiaryEntry.day >= first
            )
        ).tuples()
    )
    mine: dict[int, list[DemoHousehold]] = {}
    for p in people:
        mine.setdefault(p.cadre, []).append(p)
    # how reliably each cadre writes: most do, one or two fall behind (the reports need a spread)
    diligence = [0.97, 0.9, 0.95, 0.85, 0.92, 0.8, 0.75, 0.9, 0.6, 0.4]
    for k, cadre in enumerate(cadres):
        day = first
        while day <= today:
            roll, pick, hour, minute = (
                rng.random(),
                rng.randrange(10_000),
                rng.randint(8, 20),
                rng.randint(0, 59),
            )
            text_i = rng.randrange(len(DIARY_TEXTS))
            workday = day.weekday() < 5 or roll < 0.15
            when = _local(day, hour, minute, tz)
            if workday and roll < diligence[k] and when <= now and (cadre.id, day) not in have:
                p = mine[k][pick % len(mine[k])]
                text = DIARY_TEXTS[text_i].format(v=p.village, g=p.group, h=p.head)
                entry = DiaryEntry(
                    cadre_id=cadre.id,
                    day=day,
                    text=text,
                    source="demo",
                    role=guess_role(text),
                    created_at=when,
                )
                session.add(entry)
                session.flush()
                session.add(DiaryMention(diary_id=entry.id, household_id=households[p.index].id))
                report.add("diary_entries")
            day += timedelta(days=1)


SUMMARY_TEXT = (
    "本月共走访联系户{n}户次，重点宣传了医保缴费和森林防火政策；协调邻里纠纷 1 起；"
    "帮助困难群众办理实事 2 件。下月计划继续做好冬季取暖安全排查和产业奖补申报。"
)


def _seed_summaries(
    session: Session, cadres: list[Cadre], today: date, tz: ZoneInfo, report: SeedReport
) -> None:
    month = month_key(previous_month(today))
    have = set(session.scalars(select(MonthlySummary.cadre_id).where(MonthlySummary.month == month)))
    last_day = today.replace(day=1) - timedelta(days=1)
    for k, c in enumerate(cadres[:8]):  # the last two did not submit
        if c.id in have:
            continue
        day = (
            last_day - timedelta(days=k % 3)
            if k != 7
            else today.replace(day=1) + timedelta(days=min(2, today.day - 1))
        )
        session.add(
            MonthlySummary(
                cadre_id=c.id,
                month=month,
                text=SUMMARY_TEXT.format(n=18 + 3 * k),
                submitted_at=_local(day, 20, 15, tz),
                submitted_day=day,
                on_time=day <= last_day,
            )
        )
        report.add("summaries")


TASKS = [
    # title, body, published (days before today), deadline (days after today), villages (none: every cadre)
    (
        "开展房前屋后环境卫生大扫除",
        "请各联户干部动员所联系农户清理房前屋后柴草、垃圾和杂物，做到粪堆、柴堆、土堆、垃圾堆“四堆”整治到位，"
        "并拍照反馈整治前后对比情况。",
        19,
        -12,
        (),
    ),
    (
        "冬季森林防火入户宣传",
        "进入森林防火紧要期，请将《森林防火告知书》逐户送达所联系农户，讲清野外用火规定，重点提醒老人和儿童，"
        "完成后反馈送达户数和照片。",
        9,
        -2,
        (),
    ),
    (
        "城乡居民医保参保缴费动员",
        "请逐户核实所联系农户明年城乡居民医保参保缴费情况，对未缴费的农户讲解政策并协助线上缴费，"
        "反馈已缴户数、未缴户数及原因。",
        5,
        6,
        (),
    ),
    (
        "排查独居老人冬季取暖安全",
        "请对联系户中的独居老人、留守老人逐户上门，检查取暖炉具、烟道和电线，发现隐患当场督促整改，"
        "无法整改的报镇群众工作站。",
        0,
        3,
        ("新桥村", "石门村"),
    ),
]
FEEDBACKS = [
    "已完成，全部联系户已走访，照片已上传。",
    "已完成 26 户，剩余 4 户外出务工，已电话告知。",
    "已逐户送达，发现 2 处隐患已督促整改。",
    "正在推进，已完成大部分农户。",
]


def _seed_tasks(
    session: Session, cadres: list[Cadre], today: date, now: datetime, tz: ZoneInfo, report: SeedReport
) -> None:
    rng = random.Random(SEED + 2)
    have = set(session.scalars(select(Task.title)))
    village_of = {c.id: c.village_id for c in cadres}
    villages = {v.name: v.id for v in session.scalars(select(Village))}
    for title, body, published_ago, deadline_in, names in TASKS:
        draws = [(rng.random(), rng.random(), rng.randrange(len(FEEDBACKS))) for _ in cadres]
        if title in have:
            continue
        published = _local(today - timedelta(days=published_ago), 9, 0, tz)
        if published > now:
            published = now - timedelta(minutes=30)
        deadline = _local(today + timedelta(days=deadline_in), 18, 0, tz)
        task = Task(
            number=numbering.draw(session, "task"),
            title=title,
            body=body,
            deadline=deadline,
            published_at=published,
            targets=[Target.village(villages[n], n) for n in names] or [Target.all()],
            created_by="office:admin",
            created_at=published,
        )
        session.add(task)
        session.flush()
        report.add("tasks")
        wanted = {villages[n] for n in names}
        for k, c in enumerate(cadres):
            if wanted and village_of[c.id] not in wanted:
                continue
            answered, late, which = draws[k]
            a = TaskAssignment(
                task_id=task.id,
                cadre_id=c.id,
                deadline=deadline,
                status="delivered",
                delivered_at=published + timedelta(minutes=1),
            )
            session.add(a)
            session.flush()
            span = (min(deadline, now) - published).total_seconds()
            # past cards: nearly everyone answered (one late, one never: overdue); current cards: about half
            if deadline < now:
                fed = k != len(cadres) - 1 and not (deadline_in > -5 and k in (5, 8))
            else:
                fed = answered < 0.5
            if not fed or span <= 0:
                continue
            at = published + timedelta(seconds=span * (0.3 + 0.6 * late))
            if deadline < now and k == 3:
                at = deadline + timedelta(hours=5)  # fed back, but after the deadline
            done = deadline < now or which == 0
            a.status = "done" if done else "fed_back"
            a.acknowledged_at = published + timedelta(hours=1)
            a.first_feedback_at = at
            a.done_at = at if done else None
            session.add(
                Feedback(
                    assignment_id=a.id,
                    kind="done" if done else "feedback",
                    text=FEEDBACKS[which],
                    author=f"cadre:{c.phone}",
                    cadre_id=c.id,
                    created_at=at,
                )
            )


# Households (by index into the drawn people) that use WeChat and have sent requests.
VILLAGER_INDEXES = [0, 3, 7, 12, 19, 25, 31, 44, 58, 77, 96, 121, 133, 150, 172, 199, 214, 236, 251, 288]
REQUESTS = [
    # villager (index into VILLAGER_INDEXES), hours ago, text, answer (None = open), satisfaction
    (
        0,
        300,
        "我家的低保年审材料已经交了，想问一下什么时候有结果？",
        "已帮您问过民政办，年审结果本月底公示，有变化我第一时间告诉您。",
        "满意",
    ),
    (1, 260, "组里的路灯坏了好几天了，晚上出门不方便。", "已报村委会，电工明天来修。", "满意"),
    (
        2,
        220,
        "隔壁盖房子占了我家的地边，想请干部来调解一下。",
        "明天上午我和村调解员一起到现场看，请您在家。",
        None,
    ),
    (
        3,
        190,
        "想咨询一下烤烟种植补贴怎么申请？",
        "烤烟补贴由烟站按合同面积直接发放，您把合同和一卡通带到烟站核对即可。",
        "满意",
    ),
    (
        4,
        150,
        "建议在村口小卖部旁边放一个垃圾桶，现在垃圾到处丢。",
        "好的建议，已经和村里保洁员商量，下周放置。",
        None,
    ),
    (
        5,
        120,
        "老人的身份证过期了，他行动不便，能不能上门办？",
        "派出所可以预约上门办理，我已帮您预约，周四上午到。",
        "不满意",
    ),
    (6, 96, "家里的牛不吃草了，能不能请兽医来看看？", "镇畜牧站兽医今天下午过来，请把牛拴在圈里。", None),
    (
        7,
        72,
        "医保明年交多少钱？在哪里交？",
        "明年个人缴费标准以县医保局公布为准，可以在微信“云南医保”或村委会代缴。",
        None,
    ),
    (
        8,
        50,
        "我家孩子大学录取了，听说有助学贷款，怎么办？",
        "生源地助学贷款到县教育局资助中心办理，我把材料清单发给您。",
        None,
    ),
    (9, 30, "饮水管冻裂了，家里两天没水了，请帮忙。", None, None),  # past the 24-hour limit: overdue
    (10, 20, "想报名参加镇上的养殖技术培训。", "已帮您报上名，下周二上午九点在镇文化站。", None),
    (11, 3, "村里的小水窖能不能清理一下，水有点浑。", None, None),
]


def _seed_requests(
    session: Session,
    people: list[DemoHousehold],
    households: dict[int, Household],
    cadres: list[Cadre],
    identities: dict[int, WechatIdentity],
    now: datetime,
    report: SeedReport,
) -> None:
    have = set(session.execute(select(VillagerRequest.household_id, VillagerRequest.text)).tuples())
    for vi, hours_ago, text, answer, satisfaction in REQUESTS:
        idx = VILLAGER_INDEXES[vi]
        p = people[idx]
        h = households[p.index]
        if (h.id, text) in have:
            continue
        cadre = cadres[p.cadre]
        created = now - timedelta(hours=hours_ago)
        category = guess_category(text)
        req = VillagerRequest(
            number=numbering.draw(session, "villager_request"),
            household_id=h.id,
            identity_id=identities[idx].id,
            cadre_id=cadre.id,
            category=category,
            role=CATEGORY_ROLE.get(category),
            text=text,
            created_at=created,
            status="open",
        )
        session.add(req)
        session.flush()
        report.add("requests")
        if answer is None:
            continue
        answered = created + timedelta(hours=2 + vi % 5 if vi != 5 else 30)
        req.first_answer_at = answered
        req.status = "answered"
        session.add(
            RequestReply(request_id=req.id, author=f"cadre:{cadre.phone}", text=answer, created_at=answered)
        )
        if satisfaction:
            req.satisfaction = satisfaction
            req.satisfaction_at = answered + timedelta(hours=5)
            if satisfaction == "满意":
                req.status = "closed"
                req.closed_at = req.satisfaction_at
                req.closed_by = "villager"


def _seed_users(session: Session, report: SeedReport) -> None:
    have = set(session.scalars(select(ConsoleUser.username)))
    for username, password, role, place in DEMO_USERS:
        if username not in have:
            department = (
                place if role == "department" else None
            )  # a department account's place: its department
            create_console_user(
                session,
                username=username,
                password=password,
                role=role,
                village=None if department else place,
                actor=ACTOR,
                department=department,
            )
            report.add("console_users")
