"""A new supervision card's targets as a clerk enters them (issue 25 item 7): cadres picked from a list (the
console masks the phones it used to ask for), and a mistyped service-card number told apart from an unknown one
by its Damm check digit, as the chat does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.cards import check_digit
from storage.models import Task, TaskAssignment, TaskHousehold
from tests.support.console_world import (
    World,
    add_second_township,
    page_text,
    world_fixture,  # noqa: F401 - the `world` fixture
)

CARD = {"title": "走访独居老人", "body": "", "deadline": "2026-11-30T18:00"}


def test_the_compose_form_lists_the_cadres_to_pick_without_their_phones(world: World, renders: Any) -> None:
    html = world.login("admin").get("/tasks").get_data(as_text=True)
    picked = {name for _id, name, _village in renders.page("tasks.html")["cadres"]}
    assert picked == {"李明", "王芳"}
    assert 'name="cadre_ids"' in html and world.phones["cadre_a"] not in html


def test_a_card_goes_to_the_cadres_picked(world: World) -> None:
    c = world.login("admin")
    r = c.post("/tasks", {**CARD, "scope": "cadre", "cadre_ids": str(world.ids["cadre_b"])})
    assert r.status_code == 302
    task = world.one(select(Task).where(Task.title == CARD["title"]))
    assert world.count(TaskAssignment, TaskAssignment.task_id == task.id) == 1
    assert (
        world.count(
            TaskAssignment, TaskAssignment.task_id == task.id, TaskAssignment.cadre_id == world.ids["cadre_b"]
        )
        == 1
    )


def test_a_cadre_of_another_township_cannot_be_picked(world: World) -> None:
    add_second_township(world)
    before = world.count(Task)
    c = world.login("longfu")
    picked = [str(world.ids["cadre_a"]), str(world.ids["cadre_t2"])]
    r = c.post("/tasks", {**CARD, "scope": "cadre", "cadre_ids": picked})
    assert r.status_code == 400 and world.count(Task) == before
    assert c.post("/tasks", {**CARD, "scope": "cadre", "cadre_ids": picked[:1]}).status_code == 302


def test_a_mistyped_card_number_is_told_apart_from_an_unknown_one(world: World) -> None:
    before = world.count(Task)
    c = world.login("admin")
    issued_like = "1234567" + check_digit("1234567")  # a valid number no household holds
    r = c.post("/tasks", {**CARD, "scope": "all", "cards": issued_like})
    assert r.status_code == 400 and "输错" not in page_text(r)
    mistyped = issued_like[:-1] + str((int(issued_like[-1]) + 1) % 10)
    r = c.post("/tasks", {**CARD, "scope": "all", "cards": mistyped})
    assert r.status_code == 400 and "一位数字输错了" in page_text(r)
    assert world.count(Task) == before


def test_the_households_of_a_card_are_found_by_search_and_picked(world: World) -> None:
    """The clerk searches households by name (the offline page's search, within their scope) and ticks them."""
    c = world.login("admin")
    found = c.get("/offline/households?q=钱").get_json()
    assert [h["id"] for h in found] == [world.ids["hh_b"]] and "钱石头" in found[0]["label"]
    assert world.login("xinqiao").get("/offline/households?q=钱").get_json() == []  # another village's
    r = c.post("/tasks", {**CARD, "scope": "all", "household_ids": [str(world.ids["hh_b"])]})
    assert r.status_code == 302
    task = world.one(select(Task).where(Task.title == CARD["title"]))
    assert world.count(TaskHousehold, TaskHousehold.task_id == task.id) == 1
    assert world.count(TaskHousehold, TaskHousehold.household_id == world.ids["hh_b"]) >= 1


def test_a_household_outside_the_offices_scope_cannot_be_picked(world: World) -> None:
    add_second_township(world)
    before = world.count(Task)
    r = world.login("longfu").post(
        "/tasks", {**CARD, "scope": "all", "household_ids": [str(world.ids["hh_t2"])]}
    )
    assert r.status_code == 400 and world.count(Task) == before


def test_the_offline_search_tells_a_mistyped_card_number(world: World) -> None:
    c = world.login("admin")
    valid = "1234567" + check_digit("1234567")
    assert 'id="card-typo"' not in c.get(f"/offline?q={valid}").get_data(as_text=True)
    mistyped = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    page = c.get(f"/offline?q={mistyped}").get_data(as_text=True)
    assert 'id="card-typo"' in page and "一位数字输错了" in page
