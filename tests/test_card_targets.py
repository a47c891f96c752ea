"""Whom a supervision card is for is a typed value (storage/targets.py): named once at the door's edge — the
console's form, the CLI's ``--to`` words — and kept by id. Storage no longer re-parses ``"village:NAME"``
strings when the card is published, so a scheduled card still reaches its village after the village is renamed,
and the card's page and the CLI's list show its targets as the office chose them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handlers import task_notices
from storage import tasks as svc
from storage.models import Task, TaskAssignment, Village
from storage.targets import Target, TargetKind
from tests.support.cli import run_cli
from tests.support.factories import Factory


def test_a_scheduled_card_reaches_its_village_after_the_village_is_renamed(session: Any, clock: Any) -> None:
    clock.set("2026-11-24 09:00")
    f = Factory(session)
    xinqiao = f.village("新桥村")
    li = f.cadre(name="李明", village=xinqiao)
    f.cadre(name="王芳", village=f.village("石门村"))
    card = task_notices.create_task(
        session,
        title="年终走访",
        body="",
        deadline=clock() + timedelta(days=5),
        publish_at=clock() + timedelta(days=1),
        targets=svc.parse_targets(session, ["village:新桥村"]),
        now=clock(),
    )
    assert card.targets == [Target.village(xinqiao.id, "新桥村")]
    xinqiao.name = "新桥社区"  # renamed before the card's publish time
    session.flush()
    published = task_notices.publish_due(session, now=clock() + timedelta(days=1, minutes=1))
    assert [t.number for t in published] == [card.number]
    assert list(session.scalars(select(TaskAssignment.cadre_id))) == [li.id]


def test_the_clis_to_words_and_the_consoles_names_give_the_same_targets(session: Any) -> None:
    f = Factory(session)
    village = f.village("新桥村")
    cadre = f.cadre(phone="13900001111", village=village)
    words = svc.parse_targets(session, ["村:新桥村", "干部: 139-0000-1111", "全部"])
    assert words == [
        Target.village(village.id, "新桥村"),
        Target.cadre(cadre.id, "13900001111"),
        Target.all(),
    ]
    assert svc.named_targets(session, TargetKind.VILLAGE, ["新桥村"]) == words[:1]
    assert svc.named_targets(session, TargetKind.CADRE, ["13900001111"]) == words[1:2]
    with pytest.raises(svc.TaskError, match="村「旧村」不存在.*无法识别的对象「everyone」"):
        svc.parse_targets(session, ["village:旧村", "everyone"])


def test_the_cli_lists_a_cards_targets_as_they_were_named(make_lx: Any, clock: Any) -> None:
    lx = make_lx()
    clock.set("2026-11-24 09:00")
    with lx.session() as s:
        f = Factory(s)
        f.cadre(phone="13900001111", village=f.village("新桥村"))
    made = run_cli(
        lx, "task", "create", "--title", "核查", "--deadline", "2026-11-30", "--to", "village:新桥村"
    )
    assert made.exit_code == 0, made.output
    number = made.output.strip().splitlines()[-1]
    with lx.session() as s:
        task = s.scalar(select(Task).where(Task.number == int(number)))
        vid = s.scalar(select(Village.id).where(Village.name == "新桥村"))
        assert task.targets == [Target.village(vid, "新桥村")]
    shown = run_cli(lx, "task", "show", number)
    assert shown.exit_code == 0 and "对象 新桥村" in shown.output  # named, in words (issue 25 item 1)
