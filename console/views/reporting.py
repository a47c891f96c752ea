"""The assessment (storage/assessment/) for the console: the report of a period, and the dashboard's cached ranking."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from console.access import lx, now, user
from storage import assessment
from storage.assessment import Report
from storage.assessment.scoring import top_and_bottom


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
    """This period's top and bottom ``n`` cadres by rank (never overlapping); a village secretary gets their
    village's cadres instead, with their ranks in the township (a village's last is not 前列 for being
    among its few); whether the ranking is provisional, and how far the period has got.

    The whole report is built for this (about 2 s for 1,000 cadres), so the dashboard keeps the ranked rows
    for RANKING_TTL_SECONDS per process: a ranking does not need to move by the second.
    """
    cache: dict[tuple[str, str, int | None], tuple[Any, dict[str, Any]]] = lx().extras.setdefault(
        "console_ranking", {}
    )
    t = now()
    key = (kind, period, user().township_id)
    hit = cache.get(key)
    if hit is not None and 0 <= (t - hit[0]).total_seconds() < RANKING_TTL_SECONDS:
        at, kept = hit
    else:
        report = build(s, kind, period)
        kept = {k: report.get(k) for k in ("provisional", "workdays_elapsed", "provisional_workdays")}
        kept["ranked"] = sorted(
            (r for r in report.get("cadres", []) if r.get("score") is not None and r.get("rank")),
            key=lambda r: (r["rank"], r.get("name", "")),
        )
        at = t
        cache[key] = (t, kept)
    progress = {k: v for k, v in kept.items() if k != "ranked"}
    rows: list[dict[str, Any]] = kept["ranked"]
    if user().role == "village" and user().village_name:
        village = [r for r in rows if r.get("village") == user().village_name]
        return {"village": village, "top": village, "bottom": [], "count": len(village), "at": at, **progress}
    top, bottom = top_and_bottom(rows, n)
    return {"village": None, "top": top, "bottom": bottom, "count": len(rows), "at": at, **progress}
