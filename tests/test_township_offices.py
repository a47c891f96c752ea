"""Office notices in a county: what concerns one township's cadres (the overdue list, an extension request, an
escalated villager request, the duty reminders' behind list; the circular draft in test_county_circulars) reaches
that township's office ([scheduler] township_office_openids) and the county's ([scheduler] office_openids) — and
never another township's office. A lone township configures only office_openids, as before."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handlers import task_notices
from reminders import jobs
from storage.models import Cadre, Household, Link, OutboxMessage, Task, Township, Village, VillagerRequest
from tests.support.factories import Factory

OFFICES = {
    "scheduler.office_openids": ["o-county"],
    "scheduler.township_office_openids": {"龙伏镇": ["o-longfu"], "青山镇": ["o-qingshan"]},
}


def _two_townships(s: Any) -> tuple[Factory, Cadre, Cadre, dict[str, Household]]:
    """龙伏镇 (甲 as o-jia, household 甲一) and 青山镇's 白云村 (乙 as o-yi, household 乙一)."""
    f = Factory(s)
    f.township("龙伏镇")
    t2 = Township(name="青山镇")
    s.add(t2)
    s.flush()
    v2 = Village(township_id=t2.id, name="白云村")
    s.add(v2)
    s.flush()
    jia, yi = f.cadre(name="甲"), f.cadre(name="乙", village=v2)
    f.identity("o-jia", cadre=jia)
    f.identity("o-yi", cadre=yi)
    hh = {"甲一": f.household(jia, head_name="甲一"), "乙一": f.household(yi, head_name="乙一", village=v2)}
    return f, jia, yi, hh


@pytest.fixture
def county(make_lx: Any, clock: Any) -> Any:
    """龙伏镇 (甲, household 甲一) and 青山镇 (乙, household 乙一), both bound; one card to both, due 25 Nov 18:00."""
    lx = make_lx(**OFFICES, **{"programme.cards_due": "2027-02-28"})
    clock.set("2026-11-24 09:00")
    with lx.session() as s:
        f, jia, yi, hh = _two_townships(s)
        for tid in (None, yi.township_id):
            task_notices.create_task(
                s,
                title=f"督办{tid or 1}",
                body="x",
                deadline=clock() + timedelta(hours=33),
                targets=["all"],
                actor="test",
                now=clock(),
                tz=lx.config.tz,
                **({"township_id": tid} if tid else {}),
            )
        lx.ids = {
            "甲": jia.id,
            "乙": yi.id,
            **{k: h.id for k, h in hh.items()},
            "ident_jia1": f.identity("o-v1", household=hh["甲一"]).id,
            "ident_yi1": f.identity("o-v2", household=hh["乙一"]).id,
        }
    return lx


def _told(lx: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with lx.session() as s:
        for m in s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.openid.in_(["o-county", "o-longfu", "o-qingshan"]))
            .order_by(OutboxMessage.id)
        ):
            out.setdefault(m.openid, []).append(m.payload["text"])
    return out


def test_the_overdue_list_goes_whole_to_the_county_and_in_part_to_each_townships_office(
    county: Any, clock: Any
) -> None:
    jobs.run(county, "deadline_reminders", clock.set("2026-11-26 09:00"))
    told = _told(county)
    [whole], [longfu], [qingshan] = told["o-county"], told["o-longfu"], told["o-qingshan"]
    assert "甲" in whole and "乙" in whole
    assert "甲" in longfu and "乙" not in longfu
    assert "乙" in qingshan and "甲" not in qingshan
    # the county-wide card is overdue for both, 青山镇's own card for 乙: three rows, listed once a day
    assert jobs.run(county, "deadline_reminders", clock.set("2026-11-26 10:00")).detail["overdue"] == 3
    assert _told(county) == told  # once a day


def test_an_extension_request_reaches_the_cadres_township_office_and_the_countys(
    county: Any, clock: Any
) -> None:
    with county.session() as s:
        card = s.scalar(
            select(Task.number).where(
                Task.township_id == s.scalar(select(Township.id).where(Township.name == "青山镇"))
            )
        )
        task_notices.request_extension(
            s,
            cadre_id=county.ids["乙"],
            number=card,
            until=date(2026, 11, 28),
            reason="农户外出",
            now=clock(),
            tz=county.config.tz,
            office_openids=county.config.scheduler.office_openids,
            township_office_openids=county.config.scheduler.township_office_openids,
        )
    told = _told(county)
    assert sorted(told) == ["o-county", "o-qingshan"] and "农户外出" in told["o-qingshan"][0]


def test_an_escalated_villager_request_reaches_its_townships_office_and_the_countys(
    county: Any, clock: Any
) -> None:
    with county.session() as s:
        s.add(
            VillagerRequest(
                number=1,
                household_id=county.ids["乙一"],
                identity_id=county.ids["ident_yi1"],
                cadre_id=county.ids["乙"],
                category="求助",
                text="屋顶漏雨",
                created_at=clock(),
            )
        )
    jobs.run(county, "villager_sla", clock.set("2026-11-27 17:00"))  # > 24 working hours
    told = _told(county)
    assert sorted(told) == ["o-county", "o-qingshan"] and "乙一" in told["o-qingshan"][0]


def test_the_duty_behind_list_goes_to_each_townships_office_with_its_own_cadres(
    county: Any, clock: Any
) -> None:
    with county.session() as s:  # every household still without its card; 乙一's commitment signed
        s.scalar(select(Link).where(Link.household_id == county.ids["乙一"])).commitment_signed_on = date(
            2027, 1, 1
        )
        assert s.get(Household, county.ids["甲一"]) is not None
    jobs.run(county, "duty_reminders", clock.set("2027-02-21 09:00"))
    told = _told(county)
    assert "甲" in told["o-county"][0] and "乙" in told["o-county"][0]
    assert "甲" in told["o-longfu"][0] and "乙" not in told["o-longfu"][0]
    assert "乙" in told["o-qingshan"][0] and "甲" not in told["o-qingshan"][0]


def test_an_office_account_of_two_townships_gets_both_parts_and_the_countys_only_the_whole(
    make_lx: Any, clock: Any
) -> None:
    lx = make_lx(
        **{
            "scheduler.office_openids": ["o-county"],
            "programme.cards_due": "2027-02-28",
            "scheduler.township_office_openids": {"龙伏镇": ["o-both", "o-county"], "青山镇": ["o-both"]},
        }
    )
    clock.set("2026-11-24 09:00")
    with lx.session() as s:
        _two_townships(s)
    jobs.run(lx, "duty_reminders", clock.set("2027-02-21 09:00"))
    with lx.session() as s:
        texts = {
            o: [
                m.payload["text"]
                for m in s.scalars(
                    select(OutboxMessage).where(OutboxMessage.openid == o).order_by(OutboxMessage.id)
                )
            ]
            for o in ("o-both", "o-county")
        }
    assert len(texts["o-county"]) == 1 and "甲" in texts["o-county"][0] and "乙" in texts["o-county"][0]
    both = texts["o-both"]
    assert (
        len(both) == 2
        and any("甲" in t and "乙" not in t for t in both)
        and any("乙" in t and "甲" not in t for t in both)
    )
