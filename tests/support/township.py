"""The small township whose every assessment figure is computed by hand in tests/test_assessment.py's docstring
(the report tests reuse it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage import numbering
from storage.models import (
    Cadre,
    CadreLeave,
    DiaryEntry,
    Household,
    Link,
    MonthlySummary,
    Task,
    TaskAssignment,
    Village,
    VillagerRequest,
    WechatIdentity,
)
from storage.periods import local_day
from storage.targets import Target
from tests.support.factories import Factory

TZ = ZoneInfo("Asia/Shanghai")
NOW = "2026-12-02 10:00"


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=TZ).astimezone(UTC)


def nov_workdays() -> list[date]:
    return [d for d in (date(2026, 11, 1) + timedelta(i) for i in range(30)) if d.weekday() < 5]


class Scenario:
    """Builds the township of tests/test_assessment.py's docstring on any session (also a second database for the cross-check)."""

    def __init__(self, s: Any) -> None:
        self.s = s
        self.seq = 0

    def add(self, obj: Any) -> Any:
        self.s.add(obj)
        self.s.flush()
        return obj

    def bind(self, bound: dict[str, str]) -> None:
        """Bind a WeChat account for each cadre named: {cadre name: openid}."""
        f = Factory(self.s)
        for name, openid in bound.items():
            f.identity(openid, cadre=self.s.scalar(select(Cadre).where(Cadre.name == name)))

    def village(self, name: str) -> Village:
        from storage.models import Township

        t = self.s.query(Township).first() or self.add(Township(name="示范镇"))
        return self.add(Village(township_id=t.id, name=name))

    def cadre(self, name: str, phone: str, village: Village, created: str, households: int) -> Cadre:
        c = self.add(
            Cadre(name=name, phone=phone, post="联户干部", village_id=village.id, created_at=at(created))
        )
        hs = [
            Household(village_id=village.id, head_name=f"{name}户{i}", population=3)
            for i in range(households)
        ]
        self.s.add_all(hs)
        self.s.flush()
        self.s.add_all([Link(household_id=h.id, cadre_id=c.id) for h in hs])
        self.s.flush()
        return c

    def diary(self, c: Cadre, local: str, deleted: bool = False) -> None:
        moment = at(local)
        self.s.add(
            DiaryEntry(
                cadre_id=c.id,
                day=local_day(moment, TZ),
                text="走访农户",
                created_at=moment,
                deleted_at=moment + timedelta(minutes=5) if deleted else None,
            )
        )

    def summary(self, c: Cadre, month: str, local: str, on_time: bool) -> None:
        moment = at(local)
        self.s.add(
            MonthlySummary(
                cadre_id=c.id,
                month=month,
                text="本月小结",
                submitted_at=moment,
                submitted_day=local_day(moment, TZ),
                on_time=on_time,
            )
        )

    def task(
        self,
        number: int,
        deadline: str,
        assignments: list[tuple[Cadre, str | None, int]],
        cancelled: bool = False,
    ) -> None:
        t = self.add(
            Task(
                number=number,
                title=f"督办事项{number}",
                body="按要求完成",
                deadline=at(deadline),
                published_at=at("2026-11-01 09:00"),
                targets=[Target.all()],
                cancelled_at=at("2026-11-02 09:00") if cancelled else None,
            )
        )
        for cadre, fed, returned in assignments:
            self.s.add(
                TaskAssignment(
                    task_id=t.id,
                    cadre_id=cadre.id,
                    deadline=t.deadline,
                    status="fed_back" if fed else "delivered",
                    first_feedback_at=at(fed) if fed else None,
                    returned_count=returned,
                )
            )
        self.s.flush()

    def request(self, c: Cadre, created: str, answered: str | None, satisfaction: str | None = None) -> None:
        self.seq += 1
        h = self.s.query(Link).filter(Link.cadre_id == c.id).first().household
        ident = self.add(
            WechatIdentity(openid=f"ovillager{self.seq:04d}", kind="villager", household_id=h.id)
        )
        self.add(
            VillagerRequest(
                number=numbering.draw(self.s, "villager_request"),
                household_id=h.id,
                identity_id=ident.id,
                cadre_id=c.id,
                category="求助",
                text="路灯坏了",
                created_at=at(created),
                first_answer_at=at(answered) if answered else None,
                status="answered" if answered else "open",
                satisfaction=satisfaction,
            )
        )

    def build(self) -> None:
        xq, sm = self.village("新桥村"), self.village("石门村")
        zhang = self.cadre("张三", "13900000001", xq, "2026-10-01 00:00", 30)
        li = self.cadre("李四", "13900000002", xq, "2026-11-01 00:00", 30)
        sun = self.cadre("孙七", "13900000003", xq, "2026-11-01 00:00", 30)
        wang = self.cadre("王五", "13900000004", sm, "2026-11-01 00:00", 28)
        zhao = self.cadre("赵六", "13900000005", sm, "2026-11-01 00:00", 30)
        days = nov_workdays()
        assert len(days) == 21
        october = [
            d
            for d in (date(2026, 10, 1) + timedelta(i) for i in range(31))
            if (d.weekday() < 5 and not date(2026, 10, 1) <= d <= date(2026, 10, 7))
            or d == date(2026, 10, 10)
        ]
        assert len(october) == 18
        for d in october:
            self.diary(zhang, f"{d} 20:00")
        self.summary(zhang, "2026-10", "2026-10-30 18:00", True)
        for d in days:
            self.diary(zhang, f"{d} 20:00")
            self.diary(sun, f"{d} 19:00")
        self.diary(zhang, "2026-11-02 21:00")
        self.diary(zhang, "2026-11-08 10:00", deleted=True)
        self.diary(li, "2026-11-01 00:30")
        for d in days[:-1]:
            self.diary(li, f"{d} 18:00")
        leave = (date(2026, 11, 16), date(2026, 11, 27))
        self.s.add(CadreLeave(cadre_id=wang.id, start_date=leave[0], end_date=leave[1], reason="病假"))
        for d in [d for d in days if not leave[0] <= d <= leave[1]][:9]:
            self.diary(wang, f"{d} 17:00")
        for d in days[:10]:
            self.diary(zhao, f"{d} 21:00")
        self.diary(zhao, "2026-12-01 00:30")  # December: not November's
        self.summary(zhang, "2026-11", "2026-11-28 20:00", True)
        self.summary(li, "2026-11", "2026-12-01 09:00", False)
        self.summary(sun, "2026-11", "2026-11-30 20:00", True)
        self.summary(wang, "2026-11", "2026-11-29 20:00", True)

        self.task(
            1,
            "2026-11-20 18:00",
            [
                (zhang, "2026-11-19 10:00", 0),
                (li, "2026-11-20 09:00", 0),
                (sun, "2026-11-18 15:00", 0),
                (zhao, None, 0),
            ],
        )
        self.task(2, "2026-11-28 18:00", [(zhang, "2026-11-28 17:00", 0), (sun, "2026-11-27 11:00", 0)])
        self.task(3, "2026-11-25 18:00", [(sun, "2026-11-24 16:00", 1)])
        self.task(4, "2026-11-26 18:00", [(sun, "2026-11-26 18:00", 0)])
        self.task(6, "2026-11-27 18:00", [(sun, "2026-11-28 10:00", 0)])
        self.task(7, "2026-12-05 18:00", [(zhao, None, 0)])
        self.task(8, "2026-11-15 18:00", [(zhao, None, 0)], cancelled=True)

        self.request(zhang, "2026-11-10 09:00", "2026-11-10 12:00", "满意")
        self.request(zhang, "2026-11-12 08:00", "2026-11-13 08:00")
        self.request(li, "2026-11-15 10:00", "2026-11-15 12:00", "满意")
        self.request(sun, "2026-11-16 10:00", "2026-11-16 15:00", "满意")
        self.request(wang, "2026-11-05 10:00", "2026-11-06 12:00", "不满意")
        self.request(wang, "2026-11-30 23:59", "2026-12-01 23:00", "满意")
        self.request(zhao, "2026-11-20 10:00", None)
        self.request(zhao, "2026-12-01 00:10", None)
        self.s.commit()


# name, households, diary_days, diary_entries, owed, leave, coverage, summary (submitted, on time),
# tasks (assigned, fed back, on time, overdue, returned), requests (received, answered, in time, late),
# average first answer (h), satisfaction, score, rank
