"""The demo township: ``seed_demo(session, today=..., tz=...)`` fills a database with a believable township.

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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.roles import CATEGORY_ROLE, guess_category, guess_role
from storage.accounts import create_console_user
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
from storage.periods import month_key, previous_month

SEED = 20261124
ACTOR = "demo"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Given names as rural households of that generation carry them (one or two characters).
GIVEN = (
    "建国 建华 建军 国强 国华 国平 德明 德才 德福 永福 永贵 永强 玉珍 玉兰 玉芬 秀英 秀兰 秀珍 桂兰 桂芳 桂英 "
    "志刚 志明 志强 春梅 春花 春生 大山 大海 金花 金凤 金贵 文华 文明 小平 正华 明亮 红梅 世荣 有才 光明 "
    "学文 学军 开明 开元 庆丰 庆华 成林 成才 发财 富贵 兴旺 树林 林生 家富 家兴 朝阳 朝贵 云华 云芳 "
    "翠花 翠兰 凤英 凤仙 荣 华 勇 军 伟 强 刚 英 芳 敏 静 丽 平 辉 斌 林 超 杰 涛 波 霞 燕 琴"
).split()
CHILD_GIVEN = "子涵 梓萱 浩然 宇轩 欣怡 俊杰 思雨 雨涵 子豪 一诺 佳怡 博文 诗琪 明轩 若曦 天佑".split()

VILLAGES = [("新桥村", 120, 4), ("石门村", 90, 3), ("龙潭社区", 90, 3)]  # name, households, cadres
GROUPS = ["一组", "二组", "三组", "四组", "五组", "六组"]
CADRE_POSTS = [
    # name, post, unit (the first of each village is its secretary)
    ("李明", "村党总支书记", "新桥村委会"),
    ("张建华", "镇党委副书记", "示范镇党委"),
    ("王晓燕", "村委会主任", "新桥村委会"),
    ("陈志强", "驻村第一书记", "县农业农村局"),
    ("杨德福", "村党支部书记", "石门村委会"),
    ("刘芳", "镇农业服务中心主任", "示范镇农业服务中心"),
    ("赵永贵", "村监委会主任", "石门村委会"),
    ("黄丽", "社区党总支书记", "龙潭社区居委会"),
    ("周文斌", "镇派出所副所长", "县公安局示范派出所"),
    ("吴春梅", "镇群众工作站干事", "示范镇群众工作站"),
]
CADRE_PHONES = ["13908710101", "13908710102", "13908710103", "13908710104", "13908710105",
                "13908710106", "13908710107", "13908710108", "13908710109", "13908710110"]
INDUSTRIES = ["烤烟 12 亩", "烤烟 8 亩", "玉米 5 亩", "核桃 60 株", "养牛 3 头", "养猪 6 头", "生猪养殖 20 头",
              "蔬菜大棚 1 个", "花椒 2 亩", "中药材（重楼）1 亩", "土鸡 50 只", "外出务工（浙江）", "马铃薯 4 亩"]
DIFFICULTIES = ["老人常年患病，医疗费用负担重", "房屋年久漏雨，需要修缮", "缺少劳动力，烤烟采收忙不过来",
                "孩子上高中，学费有困难", "饮水管老化，冬天容易冻裂", "想学养殖技术，缺少资金",
                "残疾人证过期，需要帮助换证", ""]
INCOME_SOURCES = ["种植", "养殖", "务工", "种植、务工", "养殖、务工", "种植、养殖"]

DEMO_USERS = [
    # username, password, role, village
    ("admin", "demo-admin", "admin", None),
    ("xinqiao", "demo-village", "village", "新桥村"),
    ("leader", "demo-viewer", "viewer", None),
]


@dataclass
class SeedReport:
    """What a seed run added (all zero on a second run)."""

    added: dict[str, int] = field(default_factory=dict)
    users: list[tuple[str, str, str, str | None]] = field(default_factory=lambda: list(DEMO_USERS))

    def add(self, key: str, n: int = 1) -> None:
        self.added[key] = self.added.get(key, 0) + n


# --------------------------------------------------------------------------------------------------
# The people (drawn once, the same on every run)
# --------------------------------------------------------------------------------------------------


@dataclass
class DemoHousehold:
    index: int
    village: str
    group: str
    head: str
    phone: str
    population: int
    cadre: int  # index in CADRE_POSTS
    traits: dict[str, Any]


def _people(rng: random.Random) -> list[DemoHousehold]:
    out: list[DemoHousehold] = []
    used: set[tuple[str, str]] = set()
    phones: set[str] = set()
    cadre_base = 0
    index = 0
    for vname, count, ncadres in VILLAGES:
        for i in range(count):
            group = GROUPS[i * len(GROUPS) // count]
            while True:
                # Villages have their big families: a third of the households share the village's surnames.
                surname = rng.choice(SURNAMES[:6]) if rng.random() < 0.35 else rng.choice(SURNAMES)
                name = surname + rng.choice(GIVEN)
                if (vname, name) not in used:
                    used.add((vname, name))
                    break
            while True:
                phone = rng.choice(["139", "138", "137", "158", "187", "151", "182"]) + f"{rng.randint(0, 99999999):08d}"
                if phone not in phones:
                    phones.add(phone)
                    break
            population = rng.choice([1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 7])
            traits = {
                "info": rng.random() < 0.65,
                "card_issued": rng.random() < 0.85,
                "commitment": rng.random() < 0.7,
                "policy": rng.random() < 0.5,
                "industries": rng.sample(INDUSTRIES, k=rng.randint(1, 3)),
                "difficulty": rng.choice(DIFFICULTIES),
                "income": rng.randrange(18000, 96000, 500),
                "income_sources": rng.choice(INCOME_SOURCES),
                "spouse": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "children": [rng.choice(CHILD_GIVEN) for _ in range(max(0, population - 2))],
                "age": rng.randint(32, 78),
                "days_ago": rng.randint(3, 60),
                "doorplate": rng.randint(1, 99),
                "phone_missing": rng.random() < 0.08,
            }
            out.append(DemoHousehold(index=index, village=vname, group=group, head=name,
                                     phone="" if traits["phone_missing"] else phone, population=population,
                                     cadre=cadre_base + i * ncadres // count, traits=traits))
            index += 1
        cadre_base += ncadres
    return out


def _members(h: DemoHousehold) -> list[dict[str, Any]]:
    t = h.traits
    members: list[dict[str, Any]] = [{"name": h.head, "relation": "户主", "age": t["age"]}]
    if h.population >= 2:
        members.append({"name": t["spouse"], "relation": "配偶", "age": max(25, t["age"] - 3)})
    for k, given in enumerate(t["children"]):
        age = max(1, t["age"] - 26 - 3 * k)
        relation = "子女" if age < 60 else "父母"
        members.append({"name": h.head[0] + given, "relation": relation, "age": age,
                        **({"note": "在外务工"} if 20 <= age <= 45 and k % 2 == 0 else {})})
    return members[: h.population]


# --------------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------------


def _local(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def seed_demo(session: Session, *, tz: ZoneInfo, today: date | None = None, now: datetime | None = None,
              township: str = "示范镇") -> SeedReport:
    """Seed (or complete) the demo township. ``now`` defaults to 17:00 local on ``today``."""
    if now is None:
        today = today or datetime.now(tz).date()
        now = _local(today, 17, 0, tz)
    today = today or now.astimezone(tz).date()
    rng = random.Random(SEED)
    report = SeedReport()
    people = _people(rng)

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
    _seed_users(session, report)
    session.flush()
    return report


def _seed_links(session: Session, people: list[DemoHousehold], township: str, now: datetime,
                report: SeedReport) -> dict[int, Household]:
    """Villages, groups, cadres, households, links and cards through the importer (idempotent by design)."""
    table = Table(filename="demo")
    for n, h in enumerate(people, start=2):
        name, post, unit = CADRE_POSTS[h.cadre]
        values = [h.village, h.group, h.head, h.phone, str(h.population), "", name, CADRE_PHONES[h.cadre], post, unit]
        table.rows.append(SourceRow(number=n, values={key: v for (_, key), v in zip(COLUMNS, values, strict=True)}))
    plan = plan_import(session, table, township=township)
    if not plan.ok:  # pragma: no cover - the demo data is valid; a clash with real data is reported
        raise RuntimeError("demo link list refused: " + "; ".join(str(p) for p in plan.problems[:5]))
    c = plan.counts
    if c["households_new"] or c["households_updated"] or c["cadres_new"] or c["cadres_updated"]:
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


def _seed_duties(session: Session, people: list[DemoHousehold], households: dict[int, Household],
                 cadres: list[Cadre], today: date, tz: ZoneInfo, report: SeedReport) -> None:
    ids = [h.id for h in households.values()]
    cards = {c.household_id: c for c in session.scalars(select(ServiceCard).where(ServiceCard.household_id.in_(ids)))}
    links = {k.household_id: k for k in session.scalars(select(Link).where(Link.household_id.in_(ids)))}
    for p in people:
        h = households[p.index]
        t = p.traits
        cadre = cadres[p.cadre]
        done_day = today - timedelta(days=t["days_ago"])
        by = f"cadre:{cadre.phone}"
        if t["info"] and h.info_updated_at is None:
            h.members = _members(p)
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
            session.add(PolicyEntry(topic=topic, title=title, body=body, keywords=keywords, updated_at=now,
                                    updated_by=ACTOR))
            report.add("policy_entries")


def _seed_identities(session: Session, people: list[DemoHousehold], households: dict[int, Household],
                     cadres: list[Cadre], now: datetime, report: SeedReport) -> dict[int, WechatIdentity]:
    """demo-cadre-01..10 and demo-villager-001.. for the households that send requests."""
    have = {i.openid: i for i in session.scalars(select(WechatIdentity).where(WechatIdentity.openid.like("demo-%")))}
    for k, c in enumerate(cadres, start=1):
        openid = f"demo-cadre-{k:02d}"
        if openid not in have:
            # the last cadre has not written for days: outside WeChat's 48-hour window
            last = now - (timedelta(days=4) if k == len(cadres) else timedelta(hours=k))
            have[openid] = WechatIdentity(openid=openid, kind="cadre", cadre_id=c.id, bound_at=now - timedelta(days=40),
                                          first_seen_at=now - timedelta(days=41), last_inbound_at=last)
            session.add(have[openid])
            report.add("identities")
    out: dict[int, WechatIdentity] = {}
    for n, idx in enumerate(VILLAGER_INDEXES, start=1):
        openid = f"demo-villager-{n:03d}"
        h = households[people[idx].index]
        if openid not in have:
            have[openid] = WechatIdentity(openid=openid, kind="villager", household_id=h.id,
                                          bound_at=now - timedelta(days=20 - n % 10),
                                          first_seen_at=now - timedelta(days=21 - n % 10),
                                          last_inbound_at=now - timedelta(hours=3 + 7 * n))
            session.add(have[openid])
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


def _seed_diary(session: Session, people: list[DemoHousehold], households: dict[int, Household],
                cadres: list[Cadre], today: date, now: datetime, tz: ZoneInfo, report: SeedReport) -> None:
    rng = random.Random(SEED + 1)
    first = today - timedelta(days=20)
    have = set(session.execute(
        select(DiaryEntry.cadre_id, DiaryEntry.day).where(DiaryEntry.source == "demo", DiaryEntry.day >= first)
    ).tuples())
    mine: dict[int, list[DemoHousehold]] = {}
    for p in people:
        mine.setdefault(p.cadre, []).append(p)
    # how reliably each cadre writes: most do, one or two fall behind (the reports need a spread)
    diligence = [0.97, 0.9, 0.95, 0.85, 0.92, 0.8, 0.75, 0.9, 0.6, 0.4]
    for k, cadre in enumerate(cadres):
        day = first
        while day <= today:
            roll, pick, hour, minute = rng.random(), rng.randrange(10_000), rng.randint(8, 20), rng.randint(0, 59)
            text_i = rng.randrange(len(DIARY_TEXTS))
            workday = day.weekday() < 5 or roll < 0.15
            when = _local(day, hour, minute, tz)
            if workday and roll < diligence[k] and when <= now and (cadre.id, day) not in have:
                p = mine[k][pick % len(mine[k])]
                text = DIARY_TEXTS[text_i].format(v=p.village, g=p.group, h=p.head)
                entry = DiaryEntry(cadre_id=cadre.id, day=day, text=text, source="demo", role=guess_role(text),
                                   created_at=when)
                session.add(entry)
                session.flush()
                session.add(DiaryMention(diary_id=entry.id, household_id=households[p.index].id))
                report.add("diary_entries")
            day += timedelta(days=1)


SUMMARY_TEXT = ("本月共走访联系户{n}户次，重点宣传了医保缴费和森林防火政策；协调邻里纠纷 1 起；"
                "帮助困难群众办理实事 2 件。下月计划继续做好冬季取暖安全排查和产业奖补申报。")


def _seed_summaries(session: Session, cadres: list[Cadre], today: date, tz: ZoneInfo, report: SeedReport) -> None:
    month = month_key(previous_month(today))
    have = set(session.scalars(select(MonthlySummary.cadre_id).where(MonthlySummary.month == month)))
    last_day = today.replace(day=1) - timedelta(days=1)
    for k, c in enumerate(cadres[:8]):  # the last two did not submit
        if c.id in have:
            continue
        day = last_day - timedelta(days=k % 3) if k != 7 else today.replace(day=1) + timedelta(days=min(2, today.day - 1))
        session.add(MonthlySummary(cadre_id=c.id, month=month, text=SUMMARY_TEXT.format(n=18 + 3 * k),
                                   submitted_at=_local(day, 20, 15, tz), submitted_day=day, on_time=day <= last_day))
        report.add("summaries")


TASKS = [
    # title, body, published (days before today), deadline (days after today), targets
    ("开展房前屋后环境卫生大扫除",
     "请各联户干部动员所联系农户清理房前屋后柴草、垃圾和杂物，做到粪堆、柴堆、土堆、垃圾堆“四堆”整治到位，"
     "并拍照反馈整治前后对比情况。", 19, -12, ["all"]),
    ("冬季森林防火入户宣传",
     "进入森林防火紧要期，请将《森林防火告知书》逐户送达所联系农户，讲清野外用火规定，重点提醒老人和儿童，"
     "完成后反馈送达户数和照片。", 9, -2, ["all"]),
    ("城乡居民医保参保缴费动员",
     "请逐户核实所联系农户明年城乡居民医保参保缴费情况，对未缴费的农户讲解政策并协助线上缴费，"
     "反馈已缴户数、未缴户数及原因。", 5, 6, ["all"]),
    ("排查独居老人冬季取暖安全",
     "请对联系户中的独居老人、留守老人逐户上门，检查取暖炉具、烟道和电线，发现隐患当场督促整改，"
     "无法整改的报镇群众工作站。", 0, 3, ["village:新桥村", "village:石门村"]),
]
FEEDBACKS = ["已完成，全部联系户已走访，照片已上传。", "已完成 26 户，剩余 4 户外出务工，已电话告知。",
             "已逐户送达，发现 2 处隐患已督促整改。", "正在推进，已完成大部分农户。"]


def _seed_tasks(session: Session, cadres: list[Cadre], today: date, now: datetime, tz: ZoneInfo,
                report: SeedReport) -> None:
    rng = random.Random(SEED + 2)
    have = set(session.scalars(select(Task.title)))
    number = (session.scalar(select(func.max(Task.number))) or 0) + 1
    village_of = {c.id: c.village_id for c in cadres}
    villages = {v.name: v.id for v in session.scalars(select(Village))}
    for title, body, published_ago, deadline_in, targets in TASKS:
        draws = [(rng.random(), rng.random(), rng.randrange(len(FEEDBACKS))) for _ in cadres]
        if title in have:
            continue
        published = _local(today - timedelta(days=published_ago), 9, 0, tz)
        if published > now:
            published = now - timedelta(minutes=30)
        deadline = _local(today + timedelta(days=deadline_in), 18, 0, tz)
        task = Task(number=number, title=title, body=body, deadline=deadline, published_at=published,
                    targets=targets, created_by="office:admin", created_at=published)
        number += 1
        session.add(task)
        session.flush()
        report.add("tasks")
        wanted = {villages[t.split(":", 1)[1]] for t in targets if t.startswith("village:")}
        for k, c in enumerate(cadres):
            if wanted and village_of[c.id] not in wanted:
                continue
            answered, late, which = draws[k]
            a = TaskAssignment(task_id=task.id, cadre_id=c.id, deadline=deadline, status="delivered",
                               delivered_at=published + timedelta(minutes=1))
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
            session.add(Feedback(assignment_id=a.id, kind="done" if done else "feedback", text=FEEDBACKS[which],
                                 author=f"cadre:{c.phone}", created_at=at))


# Households (by index into the drawn people) that use WeChat and have sent requests.
VILLAGER_INDEXES = [0, 3, 7, 12, 19, 25, 31, 44, 58, 77, 96, 121, 133, 150, 172, 199, 214, 236, 251, 288]
REQUESTS = [
    # villager (index into VILLAGER_INDEXES), hours ago, text, answer (None = open), satisfaction
    (0, 300, "我家的低保年审材料已经交了，想问一下什么时候有结果？", "已帮您问过民政办，年审结果本月底公示，有变化我第一时间告诉您。", "满意"),
    (1, 260, "组里的路灯坏了好几天了，晚上出门不方便。", "已报村委会，电工明天来修。", "满意"),
    (2, 220, "隔壁盖房子占了我家的地边，想请干部来调解一下。", "明天上午我和村调解员一起到现场看，请您在家。", None),
    (3, 190, "想咨询一下烤烟种植补贴怎么申请？", "烤烟补贴由烟站按合同面积直接发放，您把合同和一卡通带到烟站核对即可。", "满意"),
    (4, 150, "建议在村口小卖部旁边放一个垃圾桶，现在垃圾到处丢。", "好的建议，已经和村里保洁员商量，下周放置。", None),
    (5, 120, "老人的身份证过期了，他行动不便，能不能上门办？", "派出所可以预约上门办理，我已帮您预约，周四上午到。", "不满意"),
    (6, 96, "家里的牛不吃草了，能不能请兽医来看看？", "镇畜牧站兽医今天下午过来，请把牛拴在圈里。", None),
    (7, 72, "医保明年交多少钱？在哪里交？", "明年个人缴费标准以县医保局公布为准，可以在微信“云南医保”或村委会代缴。", None),
    (8, 50, "我家孩子大学录取了，听说有助学贷款，怎么办？", "生源地助学贷款到县教育局资助中心办理，我把材料清单发给您。", None),
    (9, 30, "饮水管冻裂了，家里两天没水了，请帮忙。", None, None),  # past the 24-hour limit: overdue
    (10, 20, "想报名参加镇上的养殖技术培训。", "已帮您报上名，下周二上午九点在镇文化站。", None),
    (11, 3, "村里的小水窖能不能清理一下，水有点浑。", None, None),
]


def _seed_requests(session: Session, people: list[DemoHousehold], households: dict[int, Household],
                   cadres: list[Cadre], identities: dict[int, WechatIdentity], now: datetime,
                   report: SeedReport) -> None:
    have = set(session.execute(select(VillagerRequest.household_id, VillagerRequest.text)).tuples())
    number = (session.scalar(select(func.max(VillagerRequest.number))) or 0) + 1
    for vi, hours_ago, text, answer, satisfaction in REQUESTS:
        idx = VILLAGER_INDEXES[vi]
        p = people[idx]
        h = households[p.index]
        if (h.id, text) in have:
            continue
        cadre = cadres[p.cadre]
        created = now - timedelta(hours=hours_ago)
        category = guess_category(text)
        req = VillagerRequest(number=number, household_id=h.id, identity_id=identities[idx].id, cadre_id=cadre.id,
                              category=category, role=CATEGORY_ROLE.get(category), text=text, created_at=created,
                              status="open")
        number += 1
        session.add(req)
        session.flush()
        report.add("requests")
        if answer is None:
            continue
        answered = created + timedelta(hours=2 + vi % 5 if vi != 5 else 30)
        req.first_answer_at = answered
        req.status = "answered"
        session.add(RequestReply(request_id=req.id, author=f"cadre:{cadre.phone}", text=answer, created_at=answered))
        if satisfaction:
            req.satisfaction = satisfaction
            req.satisfaction_at = answered + timedelta(hours=5)
            if satisfaction == "满意":
                req.status = "closed"
                req.closed_at = req.satisfaction_at
                req.closed_by = "villager"


def _seed_users(session: Session, report: SeedReport) -> None:
    have = set(session.scalars(select(ConsoleUser.username)))
    for username, password, role, village in DEMO_USERS:
        if username not in have:
            create_console_user(session, username=username, password=password, role=role, village=village,
                                actor=ACTOR)
            report.add("console_users")


# --------------------------------------------------------------------------------------------------
# 惠农政策宣传 handbook: the nine topics of the programme, 2–3 entries each
# --------------------------------------------------------------------------------------------------

POLICY_HANDBOOK: list[tuple[str, str, str, str]] = [
    ("环境卫生", "房前屋后“四堆”整治", "垃圾 柴堆 粪堆 卫生 整治 四堆",
     "房前屋后的柴堆、粪堆、土堆、垃圾堆要定点堆放、及时清理，柴草码放整齐，不占道、不堵沟。"
     "生活垃圾请投放到村里统一设置的垃圾桶或垃圾池，由保洁员定期清运，不要随意倾倒和焚烧。"
     "村里每月组织一次评比，整治好的户挂“清洁户”牌，连续不达标的户由联户干部上门帮助整改。"),
    ("环境卫生", "农村改厕奖补", "厕所 改厕 卫生厕所 奖补 补助",
     "新建或改造无害化卫生厕所的农户，验收合格后可以享受改厕奖补，具体标准以县里当年文件为准。"
     "申请时向村委会报名，按统一图纸施工，完工后由镇里组织验收，奖补资金打到农户“一卡通”。"
     "厕所粪污要定期清掏，不得直接排入沟渠河道。"),
    ("环境卫生", "生活污水不乱排", "污水 排水 沟渠 河道",
     "洗衣、洗菜和厨房污水请排入自家化粪池或村里的污水管网，不要直接排到路面和沟渠。"
     "养殖户的畜禽粪污要建池收集、发酵后还田，禁止排入河道和饮用水源附近。"
     "发现有人向水源地排污，可以告诉联户干部或拨打镇环保举报电话。"),
    ("烤烟生产", "烤烟种植合同与收购", "烤烟 烟叶 合同 收购 烟站 分级",
     "种植烤烟要先与烟草站签订种植收购合同，按合同面积和交售量种植，合同外的烟叶烟站不收购。"
     "烟叶收购实行“定时、定点、预约”交售，请按烟站通知的时间把分级扎把好的烟叶送到收购点。"
     "对定级有异议的，可以当场申请复检，不要把烟叶卖给无证收购的个人，私下买卖烟叶属于违法行为。"),
    ("烤烟生产", "烤房使用与安全", "烤房 烘烤 用电 安全 烤烟",
     "烤房由合作社统一管理和调度，请提前预约烘烤时间。烘烤期间要有人值守，定时查看温湿度，"
     "不要在烤房周围堆放柴草和易燃物。电烤房要使用合格的电线和漏电保护器，发现线路老化及时报修，"
     "严禁私拉乱接。"),
    ("烤烟生产", "烤烟产业补助", "补贴 补助 烤烟 化肥 地膜 保险",
     "烟草部门对合同种植户提供育苗、机耕、化肥、地膜等方面的生产扶持，并为烟叶购买种植保险，"
     "遭受冰雹等自然灾害时可以按保险条款申请理赔。受灾后请在 48 小时内告诉烟站技术员和联户干部，"
     "保留现场照片，便于查勘定损。"),
    ("全民绿化", "义务植树与房前屋后绿化", "植树 绿化 种树 苗木",
     "每年春季开展全民义务植树，村里统一提供苗木，鼓励每户在房前屋后种植果树、风景树。"
     "种下的树要浇好定根水，成活后自己管护。村道两旁的绿化树属于集体所有，不要私自砍伐或移栽。"),
    ("全民绿化", "林木采伐要办证", "砍树 采伐 林木 采伐证 林业",
     "采伐自家承包林地上的林木，也要先向林业部门申请林木采伐许可证，按证上的地点、数量和期限采伐。"
     "无证采伐或超量采伐属于违法行为，要承担罚款，情节严重的追究刑事责任。"
     "房前屋后自己种的零星林木，按当地规定执行，拿不准的先问联户干部。"),
    ("全民绿化", "森林防火", "防火 野外用火 烧荒 上坟 火灾",
     "森林防火期内，林区和林缘严禁烧荒、烧田埂、上坟烧纸、燃放鞭炮等一切野外用火。"
     "发现山火请立即拨打 119 或 12119 森林火警电话，并告知村委会，不要让老人和孩子去扑火。"
     "违规野外用火引发火灾的，要依法承担法律责任。"),
    ("计划生育", "三孩生育政策与生育登记", "生育 三孩 登记 计生 生育服务",
     "国家实施一对夫妻可以生育三个子女的政策。夫妻生育子女，可以在户籍地或居住地办理生育登记，"
     "现在可以通过网上平台或到镇便民服务中心办理，带上夫妻双方身份证和结婚证即可。"
     "登记后可以享受孕产期保健等服务。"),
    ("计划生育", "计划生育家庭奖励扶助", "奖励扶助 独生子女 特别扶助 计生家庭",
     "农村独生子女家庭和只有两个女孩的家庭，夫妻年满 60 周岁后，按规定可以享受计划生育家庭奖励扶助金；"
     "独生子女伤残或死亡的家庭可以申请特别扶助。每年由村里摸底、镇里审核、县里公示后发放，"
     "符合条件的请把身份证、户口簿交给联户干部协助申报。"),
    ("综治维稳", "矛盾纠纷找调解", "纠纷 调解 矛盾 吵架 边界 宅基地",
     "邻里之间因为地界、宅基地、用水、赡养等发生矛盾，可以先找联户干部或村人民调解委员会调解，"
     "调解不收费。达成调解协议的，双方签字后具有法律约束力，可以申请法院司法确认。"
     "有矛盾不要动手，更不要聚众闹事，遇到紧急情况请拨打 110。"),
    ("综治维稳", "依法信访", "信访 上访 反映 投诉",
     "群众有诉求，可以通过联户干部、村委会、镇群众工作站反映，也可以通过书信、网上信访等渠道逐级反映。"
     "信访要到依法设立的接待场所，反映情况要实事求是。镇群众工作站每个工作日都有干部值班接待。"),
    ("安全生产", "农村用电安全", "用电 电线 漏电 触电 安全",
     "家里的电线老化、插座发热要及时请电工更换，不要私拉乱接，不要用铜丝代替保险丝。"
     "安装漏电保护器，雷雨天气关掉电器、拔掉插头。发现有人触电，先断电再救人，不能直接用手拉。"),
    ("安全生产", "冬季取暖防一氧化碳中毒", "取暖 煤炉 一氧化碳 中毒 烟道",
     "用煤炉、炭火取暖时，一定要安装烟囱并保持通畅，睡觉前熄灭炉火，门窗留缝通风。"
     "出现头痛、头晕、恶心的症状，要马上开窗、离开房间并拨打 120。"
     "家里有独居老人的，子女和邻居要多打电话、多上门看看。"),
    ("安全生产", "农用车和摩托车安全", "农用车 三轮车 摩托车 载人 交通",
     "农用车、三轮车禁止载人，驾驶摩托车要戴头盔，不酒后驾驶、不无证驾驶。"
     "赶集、办酒时不要乘坐超员车辆。机动车要按时年检、购买交强险，发生事故立即报警并保护现场。"),
    ("禁毒禁赌", "远离毒品", "毒品 禁毒 吸毒 贩毒 罂粟",
     "吸毒违法，贩毒是犯罪。不要接受陌生人给的香烟、饮料，不要因为好奇尝试任何毒品。"
     "私自种植罂粟等毒品原植物是违法行为，发现请告诉村委会或派出所。"
     "举报涉毒线索的，公安机关严格保密，查证属实的给予奖励。"),
    ("禁毒禁赌", "拒绝赌博", "赌博 打牌 麻将 赌钱 六合彩",
     "以营利为目的聚众赌博、开设赌场是犯罪；参与赌博、为赌博提供场地的，由公安机关依法处罚。"
     "办酒席时不要设赌局，不要购买地下“六合彩”。家人沉迷赌博的，可以请联户干部和村调解员一起帮助劝导。"),
    ("涉农法规", "土地承包经营权", "土地 承包 流转 承包地 确权",
     "农村土地承包关系保持稳定并长久不变，承包期内发包方不得随意收回、调整承包地。"
     "土地经营权流转要自愿、有偿，签订书面合同，写清面积、期限、价格和用途，不得改变土地的农业用途。"
     "发生承包纠纷，可以找村委会、镇里调解，也可以申请仲裁或向法院起诉。"),
    ("涉农法规", "农村宅基地与建房", "宅基地 建房 盖房 审批 一户一宅",
     "农村村民一户只能拥有一处宅基地。新建、改建、扩建住房，要先向村集体提出申请，经村里公示、"
     "镇里审批后才能动工，建房不能占用耕地和基本农田。未批先建、少批多占的，要依法拆除或处罚。"),
    ("涉农法规", "惠农补贴资金", "补贴 一卡通 耕地地力保护 惠农 资金",
     "耕地地力保护补贴等惠农补贴资金通过“一卡通”直接发放到农户账户，任何单位和个人不得截留、代领。"
     "可以到村委会查看公示名单，对补贴金额有疑问的，可以向联户干部或镇财政所反映。"),
    ("办证须知", "身份证办理与换领", "身份证 换证 补办 派出所",
     "身份证到期或丢失，带上户口簿到户籍所在地派出所办理，拍照、采集指纹后一般 20 个工作日左右可以领取，"
     "也可以选择邮寄。行动不便的老人、残疾人可以预约上门办理，由联户干部帮助联系。"),
    ("办证须知", "残疾人证办理", "残疾人证 残疾 评定 补贴",
     "申请残疾人证，带上身份证、户口簿和近期照片到县残联或镇便民服务中心申请，"
     "再到指定医院进行残疾评定。办证后可以按规定享受困难残疾人生活补贴和重度残疾人护理补贴。"
     "残疾人证到期前要及时换领。"),
    ("办证须知", "城乡居民医保参保", "医保 参保 缴费 报销 合作医疗",
     "城乡居民医保按年度缴费，集中缴费期一般在每年秋冬季，具体标准以当年公布为准。"
     "可以通过手机微信、银行或村委会代缴。特困人员、低保对象等困难群众按规定享受参保资助。"
     "住院报销在医院出院时直接结算，外地就医要先办理异地就医备案。"),
]
