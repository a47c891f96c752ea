"""The numbers people type — a supervision card's 督办卡号 (``反馈 N``) and a villager request's 诉求号
(``回复 M``) — drawn one way, for every door that makes one (the chat, the office's offline entry, the console,
the CLI, the demo seed).

Why one counter row per kind and not MAX + 1: two transactions reading MAX at once drew the same number and
all but one failed on the unique index; three loops retried (with a PostgreSQL advisory lock on top, and one
path that gave up with an AttributeError). Here a number is one statement::

    INSERT INTO number_counter (name, next_value) VALUES (:name, 2)
    ON CONFLICT (name) DO UPDATE SET next_value = number_counter.next_value + 1
    RETURNING next_value - 1

PostgreSQL locks the counter's row until the drawing transaction ends, so the next drawer waits and reads the
committed value (no collision, no retry); SQLite has one writer at a time anyway. A rollback gives its number
back (the row's update is undone), so numbers stay without gaps. The row is made on first use (a fresh
database starts at 1); migration 0014 starts each counter after the largest number already issued.

Service-card numbers (8 random digits with a Damm check digit) are not counted: ``storage.cards.random_number``
draws them, because a card number must not be guessable from its neighbour's.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

Counter = Literal["task", "villager_request"]
COUNTERS: tuple[Counter, ...] = ("task", "villager_request")

_DRAW = text(
    "INSERT INTO number_counter (name, next_value) VALUES (:name, 2) "
    "ON CONFLICT (name) DO UPDATE SET next_value = number_counter.next_value + 1 "
    "RETURNING next_value - 1"
).bindparams(bindparam("name"))


def draw(session: Session, counter: Counter) -> int:
    """The next number of ``counter``, taken in the caller's transaction (given back if it rolls back)."""
    if counter not in COUNTERS:
        raise ValueError(f"unknown counter {counter!r}")
    return int(session.connection().execute(_DRAW, {"name": counter}).scalar_one())
