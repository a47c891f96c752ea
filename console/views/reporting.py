"""The assessment (storage/assessment/) for the console: the report of a period, and the dashboard's cached ranking."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from console.access import lx, now, user
from storage import assessment
from storage.assessment import Report


def build_obj(s: Session, kind: str, period: str) -> Report:
    """The assessment's Report for a period, of the user's township (the county roles: every township's cadres,
    ranked together). ValueError for a malformed period."""
    u = user()
    township = (u.township_id, u.township_name or "") if u.township_id is not None else None
    return assessment.build_report(s, lx().config, kind, period, now=now(), township=township)


def build(s: Session, kind: str, period: str) -> dict[str, Any]:
    return build_obj(s, kind, period).to_dict()


RANKING_TTL_SECONDS = 300


def ranking_for(s: Session, kind: str, period: str, n: int = 5) -> dict[str, Any]:
    """This period's top and bottom ``n`` cadres by rank.

    The whole report is built for this (about 2 s for 1,000 cadres), so the dashboard keeps the ranked rows
    for RANKING_TTL_SECONDS per process: a ranking does not need to move by the second.
    """
    cache: dict[tuple[str, str, int | None], tuple[Any, list[dict[str, Any]]]] = lx().extras.setdefault(
        "console_ranking", {}
    )
    t = now()
    key = (kind, period, user().township_id)
    hit = cache.get(key)
    if hit is not None and 0 <= (t - hit[0]).total_seconds() < RANKING_TTL_SECONDS:
        at, ranked = hit
    else:
        report = build(s, kind, period)
        ranked = sorted(
            (r for r in report.get("cadres", []) if r.get("score") is not None and r.get("rank")),
            key=lambda r: (r["rank"], r.get("name", "")),
        )
        at = t
        cache[key] = (t, ranked)
    rows = ranked
    if user().role == "village" and user().village_name:
        rows = [r for r in rows if r.get("village") == user().village_name]
    return {
        "top": rows[:n],
        "bottom": list(reversed(rows[-n:])) if len(rows) > n else [],
        "count": len(rows),
        "at": at,
    }
