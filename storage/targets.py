"""Who a supervision card is for, as a typed value: everyone, a township, a village or one cadre — by id.

Why typed: the console used to build ``"village:NAME"`` strings that storage parsed back by name when the card
was published (hours later for a scheduled card: a renamed village made its card unpublishable). Now the doors
name a target once, at their edge — the console from its form, the CLI from its ``--to`` words
(storage.tasks.targets.parse) — and the card keeps the ids; publishing reads ids. ``label`` keeps what the
office chose (the name, the cadre's phone), so lists and the audit show the card's targets as before.

This module holds only the value and its column type (the card's ``targets`` column stores it as JSON); finding
names and cadres is storage/tasks/targets.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class TargetKind(StrEnum):
    ALL = "all"
    TOWNSHIP = "township"
    VILLAGE = "village"
    CADRE = "cadre"


@dataclass(frozen=True)
class Target:
    """One target of a card. ``id``: the township's, village's or cadre's (None for ``ALL``); ``label``: its name
    or the cadre's phone as the office chose it (shown, never looked up)."""

    kind: TargetKind
    id: int | None = None
    label: str = ""

    @classmethod
    def all(cls) -> Target:
        return cls(TargetKind.ALL)

    @classmethod
    def township(cls, township_id: int, name: str) -> Target:
        return cls(TargetKind.TOWNSHIP, township_id, name)

    @classmethod
    def village(cls, village_id: int, name: str) -> Target:
        return cls(TargetKind.VILLAGE, village_id, name)

    @classmethod
    def cadre(cls, cadre_id: int, phone: str) -> Target:
        return cls(TargetKind.CADRE, cadre_id, phone)

    def __str__(self) -> str:
        """As the CLI lists it and the audit keeps it: ``all``, ``village:石门村``, ``cadre:13900001111``."""
        return "all" if self.kind is TargetKind.ALL else f"{self.kind.value}:{self.label}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "id": self.id, "label": self.label}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Target:
        return cls(TargetKind(value["kind"]), value.get("id"), value.get("label") or "")


class TargetList(TypeDecorator[list[Target]]):
    """A card's targets as a JSON list (JSONB on PostgreSQL) of ``Target.to_json`` objects."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: list[Target] | None, dialect: Dialect) -> list[dict[str, Any]] | None:
        return None if value is None else [t.to_json() for t in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> list[Target] | None:
        return None if value is None else [Target.from_json(v) for v in value]
