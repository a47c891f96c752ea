"""A card's targets (storage/targets.py ``Target``): named once at a door's edge, resolved to cadres by id.

``named`` turns what the console's form names (township or village names, cadres' phones) into targets;
``parse`` does the same for the CLI's ``--to`` words (``all``, ``township:乡镇``, ``village:村名``,
``cadre:电话``; 全部/乡镇/镇/村/干部 too). Both refuse what they cannot find with one ``TaskError`` naming every
problem, before anything is written. ``cadre_ids`` is what publishing asks: the active cadres the targets reach.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from storage.accounts import normalize_phone
from storage.models import Cadre, Township, Village
from storage.targets import Target, TargetKind
from storage.tasks.base import TaskError

KIND_WORDS = {
    "township": TargetKind.TOWNSHIP,
    "乡镇": TargetKind.TOWNSHIP,
    "镇": TargetKind.TOWNSHIP,
    "village": TargetKind.VILLAGE,
    "村": TargetKind.VILLAGE,
    "cadre": TargetKind.CADRE,
    "干部": TargetKind.CADRE,
}
ALL_WORDS = ("all", "全部")
USAGE = "all、township:乡镇、village:村名 或 cadre:电话"


def parse(session: Session, words: Iterable[str], township_id: int | None = None) -> list[Target]:
    """The CLI's ``--to`` words as targets (none: ``all``). ``township_id``: the issuing township's office, whose
    card may name only its own township's places and cadres; None: the county's card."""
    found: list[Target] = []
    unknown: list[str] = []
    for raw in list(words) or ["all"]:
        word = raw.strip()
        kind_word, _, value = word.partition(":")
        kind = KIND_WORDS.get(kind_word.strip().lower())
        if word in ALL_WORDS:
            found.append(Target.all())
        elif kind is not None and value.strip():
            _one(session, kind, value.strip(), township_id, found, unknown)
        else:
            unknown.append(f"无法识别的对象「{word}」（应为 {USAGE}）")
    if unknown:
        raise TaskError("；".join(unknown))
    return found


def named(
    session: Session, kind: TargetKind, values: Iterable[str], township_id: int | None = None
) -> list[Target]:
    """The console's choice as targets: townships or villages by name, cadres by phone (``ALL``: everyone)."""
    if kind is TargetKind.ALL:
        return [Target.all()]
    found: list[Target] = []
    unknown: list[str] = []
    for value in values:
        if value.strip():
            _one(session, kind, value.strip(), township_id, found, unknown)
    if unknown:
        raise TaskError("；".join(unknown))
    if not found:
        raise TaskError(f"请指定发送对象：{USAGE}")
    return found


def _one(
    session: Session,
    kind: TargetKind,
    value: str,
    township_id: int | None,
    found: list[Target],
    unknown: list[str],
) -> None:
    if kind is TargetKind.TOWNSHIP:
        tid = session.scalar(select(Township.id).where(Township.name == value))
        if tid is None or (township_id is not None and tid != township_id):
            unknown.append(f"乡镇「{value}」不存在" if tid is None else f"乡镇「{value}」不归本乡镇办公室管")
        else:
            found.append(Target.township(tid, value))
    elif kind is TargetKind.VILLAGE:
        q = (
            select(Village.id, Township.name)
            .join(Township, Township.id == Village.township_id)
            .where(Village.name == value)
        )
        if township_id is not None:
            q = q.where(Village.township_id == township_id)
        rows = session.execute(q).all()
        if not rows:
            unknown.append(f"村「{value}」不存在")
        elif len(rows) > 1:
            unknown.append(
                f"村「{value}」在多个乡镇都有（{'、'.join(n for _, n in rows)}），请用 --township 指明"
            )
        else:
            found.append(Target.village(rows[0][0], value))
    elif kind is TargetKind.CADRE:
        try:
            phone = normalize_phone(value)
        except ValueError:
            unknown.append(f"电话「{value}」格式不对")
            return
        cid = session.scalar(select(Cadre.id).where(Cadre.phone == phone, *_active(township_id)))
        if cid is None:
            unknown.append(f"没有电话为 {phone} 的在职干部")
        else:
            found.append(Target.cadre(cid, phone))


def _active(township_id: int | None) -> list[ColumnElement[bool]]:
    return [Cadre.active.is_(True)] + ([Cadre.township_id == township_id] if township_id is not None else [])


def cadre_ids(session: Session, targets: Iterable[Target], township_id: int | None = None) -> list[int]:
    """The active cadres ``targets`` reach now (a township's card: that township's only); none → TaskError."""
    active = _active(township_id)
    ids: set[int] = set()
    for t in targets:
        if t.kind is TargetKind.ALL:
            ids.update(session.scalars(select(Cadre.id).where(*active)))
        elif t.id is None:
            continue  # a place that was gone when the card's targets were typed (migration 0014)
        elif t.kind is TargetKind.TOWNSHIP:
            ids.update(session.scalars(select(Cadre.id).where(Cadre.township_id == t.id, *active)))
        elif t.kind is TargetKind.VILLAGE:
            ids.update(session.scalars(select(Cadre.id).where(Cadre.village_id == t.id, *active)))
        else:
            ids.update(session.scalars(select(Cadre.id).where(Cadre.id == t.id, *active)))
    if not ids:
        raise TaskError("所选对象中没有在职干部")
    return sorted(ids)
