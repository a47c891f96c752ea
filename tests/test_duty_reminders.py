"""duty_reminders (issue 15 item 8): before the office's [programme] deadlines each bound cadre is reminded, once
per reminder day, of their households still missing a card, a commitment letter or a complete information form;
nobody on leave, nobody with nothing missing; the office is told who is behind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from reminders import jobs
from reminders.duty_reminders import LABELS
from storage.config import ConfigError, load_config
from storage.models import CadreLeave, Household, Link, OutboxMessage, ServiceCard
from tests.support.factories import Factory

DEADLINES = {
    "programme.cards_due": "2027-02-28",
    "programme.commitments_due": "2027-02-28",
    "programme.forms_due": "2027-03-15",
    "scheduler.office_openids": ["o-office"],
}


def _done(s: Any, h: Household, *, card: bool = True, commitment: bool = True, form: bool = True) -> None:
    if card:
        s.scalar(select(ServiceCard).where(ServiceCard.household_id == h.id)).issued_on = date(2027, 1, 10)
    if commitment:
        s.scalar(select(Link).where(Link.household_id == h.id)).commitment_signed_on = date(2027, 1, 10)
    if form:
        h.members, h.annual_income, h.industries, h.difficulties = (
            [{"name": h.head_name}],
            Decimal(30000),
            "烤烟",
            "无",
        )


@pytest.fixture
def township(make_lx: Any) -> Any:
    """甲 (bound): one household done, one without its card, one without its letter. 乙 (bound): cards and letters
    done, forms not. 丙 (bound): no card anywhere, on leave 10–16 Feb. 丁: a card missing, not bound."""
    lx = make_lx(**DEADLINES)
    with lx.session() as s:
        f = Factory(s)
        people = {}
        for name in ("甲", "乙", "丙", "丁"):
            c = f.cadre(name=name)
            people[name] = c
            if name != "丁":
                f.identity(f"o-{name}", cadre=c)
        jia = [f.household(people["甲"], head_name=n) for n in ("甲一", "甲二", "甲三")]
        _done(s, jia[0])
        _done(s, jia[1], card=False)
        _done(s, jia[2], commitment=False)
        for n in ("乙一", "乙二"):
            _done(s, f.household(people["乙"], head_name=n), form=False)
        _done(s, f.household(people["丙"], head_name="丙一"), card=False)
        _done(s, f.household(people["丁"], head_name="丁一"), card=False)
        s.add(CadreLeave(cadre_id=people["丙"].id, start_date=date(2027, 2, 10), end_date=date(2027, 2, 16)))
        lx.ids = {n: c.id for n, c in people.items()}
    return lx


def _pushes(lx: Any, kind: str = "reminder") -> list[OutboxMessage]:
    with lx.session() as s:
        return list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
        )


def _items(renders: Any, text: str) -> list[tuple[str, int, int, list[str]]]:
    """(duty, days left, households, names shown) of each line of a duty reminder."""
    said = renders.behind(text)
    assert said.name == "duty_reminder"
    duty = {label: key for key, label in LABELS.items()}
    return [(duty[it["label"]], it["days"], it["count"], it["names"]) for it in said["items"]]


def test_reminded_once_per_reminder_day_of_what_is_missing_and_the_office_told_who_is_behind(
    township: Any, clock: Any, renders: Any
) -> None:
    lx = township
    clock.set("2027-02-13 09:30")  # 15 days before: not a reminder day
    r = jobs.run(lx, "duty_reminders", clock())
    assert (r.sent, r.detail) == (0, {"reminder_day": False}) and _pushes(lx) == []

    clock.set("2027-02-14 09:30")  # 14 days before the cards and letters; the forms are 29 days away
    r = jobs.run(lx, "duty_reminders", clock())
    (jia,) = _pushes(lx)  # 乙 misses only forms (not due yet), 丙 is on leave, 丁 is not bound
    assert jia.openid == "o-甲" and jia.idempotency_key == f"rem:duty_due:cadre:{lx.ids['甲']}:2027-02-14"
    assert _items(renders, jia.payload["text"])[0] == ("card", 14, 1, ["甲二"])
    assert _items(renders, jia.payload["text"])[1] == ("commitment", 14, 1, ["甲三"])
    assert (
        "甲一" not in jia.payload["text"] and len(_items(renders, jia.payload["text"])) == 2
    )  # no forms yet
    assert jia.payload["template"] == {"what": "1户未发卡、1户未签承诺书", "due": "2027年2月28日 23:59"}
    (office,) = _pushes(lx, "notice")
    assert office.openid == "o-office"
    text = office.payload["text"]
    behind = renders.behind(text)
    rows = {r["name"]: r for r in behind["rows"]}
    assert behind.name == "duty_behind" and (LABELS["card"], 14) in [
        (label, days) for label, _, days in behind["due"]
    ]
    assert rows["甲"]["counts"] == [(LABELS["card"], 1), (LABELS["commitment"], 1)] and len(rows) == 3
    assert (rows["丙"]["counts"], rows["丙"]["away"]) == ([(LABELS["card"], 1)], True) and (
        rows["丁"]["counts"],
        rows["丁"]["unbound"],
    ) == ([(LABELS["card"], 1)], True)
    assert "乙" not in text
    assert r.sent == 2  # 甲 and the office

    again = jobs.run(lx, "duty_reminders", clock())  # the same day again: nothing new
    assert (again.sent, again.skipped) == (0, 2) and len(_pushes(lx)) == 1 and len(_pushes(lx, "notice")) == 1

    with lx.session() as s:  # 甲 hands out the card; 丙 is back from leave
        s.scalar(select(ServiceCard).join(Household).where(Household.head_name == "甲二")).issued_on = date(
            2027, 2, 18
        )
    clock.set("2027-02-21 09:30")  # 7 days before
    jobs.run(lx, "duty_reminders", clock())
    by_who = {m.openid: m.payload["text"] for m in _pushes(lx) if m.idempotency_key.endswith("2027-02-21")}
    assert set(by_who) == {"o-甲", "o-丙"}
    assert _items(renders, by_who["o-甲"]) == [("commitment", 7, 1, ["甲三"])]  # the card is handed out
    assert _items(renders, by_who["o-丙"]) == [("card", 7, 1, ["丙一"])]

    clock.set("2027-03-01 09:30")  # 14 days before the forms (and no longer before the cards)
    jobs.run(lx, "duty_reminders", clock())
    march = [m for m in _pushes(lx) if m.idempotency_key.endswith("2027-03-01")]
    (yi,) = march  # only 乙 has forms to complete; 甲's letter (甲三) is past its date and not asked again
    assert yi.openid == "o-乙" and _items(renders, yi.payload["text"]) == [("form", 14, 2, ["乙一", "乙二"])]
    assert yi.payload["template"]["what"] == "2户登记表不全"  # the template message's own value


def test_nothing_sent_when_nothing_is_missing(township: Any, clock: Any) -> None:
    lx = township
    with lx.session() as s:
        for h in s.scalars(select(Household)):
            _done(s, h)
    clock.set("2027-02-25 09:30")  # 3 days before
    r = jobs.run(lx, "duty_reminders", clock())
    assert r.sent == 0 and r.detail["behind"] == 0
    assert _pushes(lx) == [] and _pushes(lx, "notice") == []


def test_no_deadline_no_reminder(make_lx: Any, clock: Any) -> None:
    lx = make_lx()
    with lx.session() as s:
        f = Factory(s)
        c = f.cadre(name="戊")
        f.identity("o-戊", cadre=c)
        f.household(c)
    clock.set("2027-02-14 09:30")
    assert jobs.run(lx, "duty_reminders", clock()).detail == {"reminder_day": False}
    assert _pushes(lx) == []


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("programme.cards_due", "2027-02-30", "cards_due must be a date"),
        ("programme.forms_due", "明年二月", "forms_due must be a date"),
        ("programme.remind_days_before", [7, -1], "remind_days_before"),
    ],
)
def test_bad_programme_dates_stop_start_up(key: str, value: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_config(overrides={key: value}, env={})
