"""The demo township's people: villages, cadres and 300 households, drawn with a fixed random seed so every
run draws the same names, phones and circumstances."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

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
CADRE_PHONES = [
    "13908710101",
    "13908710102",
    "13908710103",
    "13908710104",
    "13908710105",
    "13908710106",
    "13908710107",
    "13908710108",
    "13908710109",
    "13908710110",
]
INDUSTRIES = [
    "烤烟 12 亩",
    "烤烟 8 亩",
    "玉米 5 亩",
    "核桃 60 株",
    "养牛 3 头",
    "养猪 6 头",
    "生猪养殖 20 头",
    "蔬菜大棚 1 个",
    "花椒 2 亩",
    "中药材（重楼）1 亩",
    "土鸡 50 只",
    "外出务工（浙江）",
    "马铃薯 4 亩",
]
DIFFICULTIES = [
    "老人常年患病，医疗费用负担重",
    "房屋年久漏雨，需要修缮",
    "缺少劳动力，烤烟采收忙不过来",
    "孩子上高中，学费有困难",
    "饮水管老化，冬天容易冻裂",
    "想学养殖技术，缺少资金",
    "残疾人证过期，需要帮助换证",
    "",
]
INCOME_SOURCES = ["种植", "养殖", "务工", "种植、务工", "养殖、务工", "种植、养殖"]


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


def draw_people(rng: random.Random) -> list[DemoHousehold]:
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
                phone = (
                    rng.choice(["139", "138", "137", "158", "187", "151", "182"])
                    + f"{rng.randint(0, 99999999):08d}"
                )
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
            out.append(
                DemoHousehold(
                    index=index,
                    village=vname,
                    group=group,
                    head=name,
                    phone="" if traits["phone_missing"] else phone,
                    population=population,
                    cadre=cadre_base + i * ncadres // count,
                    traits=traits,
                )
            )
            index += 1
        cadre_base += ncadres
    return out


def members(h: DemoHousehold) -> list[dict[str, Any]]:
    t = h.traits
    members: list[dict[str, Any]] = [{"name": h.head, "relation": "户主", "age": t["age"]}]
    if h.population >= 2:
        members.append({"name": t["spouse"], "relation": "配偶", "age": max(25, t["age"] - 3)})
    for k, given in enumerate(t["children"]):
        age = max(1, t["age"] - 26 - 3 * k)
        relation = "子女" if age < 60 else "父母"
        members.append(
            {
                "name": h.head[0] + given,
                "relation": relation,
                "age": age,
                **({"note": "在外务工"} if 20 <= age <= 45 and k % 2 == 0 else {}),
            }
        )
    return members[: h.population]
