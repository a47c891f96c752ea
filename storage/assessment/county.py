"""The county's report: townships ranked by the average (and the spread) of their cadres' scores, with the same
explainable breakdown, and the county's cadres ranked across townships.

Built from ONE report over every cadre of the deployment (``build_report`` with no township): a cadre's score
depends only on their own counts and the weights, so it is the same number the township's own report shows; the
township rank is the competition rank among the township's cadres, as in the township's report
(tests/test_county_report.py checks both against the township reports).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.assessment.assembly import build_report
from storage.assessment.scoring import competition_ranks, top_and_bottom
from storage.assessment.shape import CadreRow, GroupRow, Report
from storage.config import Config
from storage.models import Township

TOP_AND_BOTTOM = 10


def _plain(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_plain(x) for x in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    return obj


def _cadre(r: CadreRow) -> dict[str, Any]:
    """A cadre's row as plain data: their fields copied directly (3,000 rows; the generic walk took ~0.3 s)."""
    d = dict(vars(r))
    d["score_breakdown"] = [dict(vars(p)) for p in r.score_breakdown]
    d["below_minimum"] = list(r.below_minimum)
    return d


def _spread(scores: list[float]) -> dict[str, float | None]:
    """min, quartiles, max and standard deviation of a township's scores (None without scores)."""
    if not scores:
        return {"min": None, "p25": None, "median": None, "p75": None, "max": None, "stdev": None}
    q = statistics.quantiles(scores, n=4, method="inclusive") if len(scores) > 1 else [scores[0]] * 3
    return {
        "min": min(scores),
        "p25": round(q[0], 2),
        "median": round(q[1], 2),
        "p75": round(q[2], 2),
        "max": max(scores),
        "stdev": round(statistics.pstdev(scores), 2),
    }


def _breakdown(rows: list[CadreRow]) -> list[dict[str, Any]]:
    """The township's average points per part of the score (of its scored cadres): what lifts or lowers it."""
    scored = [r for r in rows if r.score is not None]
    parts: dict[str, dict[str, Any]] = {}
    for r in scored:
        for p in r.score_breakdown:
            d = parts.setdefault(p.key, {"key": p.key, "weight": p.weight, "points": [], "max_points": []})
            d["points"].append(p.points)
            d["max_points"].append(p.max_points)
    return [
        {
            "key": d["key"],
            "weight": d["weight"],
            "avg_points": round(math.fsum(d["points"]) / len(scored), 2),
            "avg_max_points": round(math.fsum(d["max_points"]) / len(scored), 2),
        }
        for d in parts.values()
    ]


def county_report(report: Report, township_names: list[str]) -> dict[str, Any]:
    """The county report (PRODUCT.md's JSON) from a report over every cadre."""
    by_township: dict[str, list[CadreRow]] = {name: [] for name in township_names}
    for r in report.cadres:
        by_township.setdefault(r.township, []).append(r)
    township_rank: dict[int, int | None] = {}
    for rows in by_township.values():
        for r, rank in zip(rows, competition_ranks([r.score for r in rows]), strict=True):
            township_rank[r.cadre_id] = rank
    groups = {g.name: g for g in report.townships}
    if not groups and report.cadres:  # one township only: the report's totals are its figures
        groups = {report.cadres[0].township: report.totals}
    townships = []
    for name, rows in by_township.items():
        g: GroupRow | None = groups.get(name)
        scores = [r.score for r in rows if r.score is not None]
        households = sum(r.households for r in rows)
        row = {
            **(_plain(g) if g else {}),
            "name": name,
            "cadres": len(rows),
            "households": households,
            "score_avg": round(math.fsum(scores) / len(scores), 2) if scores else None,
            "scored_cadres": len(scores),
            "distribution": _spread(scores),
            "score_breakdown": _breakdown(rows),
        }
        row.pop("avg_score", None)
        townships.append(row)
    for t, rank in zip(townships, competition_ranks([t["score_avg"] for t in townships]), strict=True):
        t["rank"] = rank
    townships.sort(key=lambda t: (t["rank"] is None, t["rank"] or 0, t["name"]))
    cadres = []
    for r in report.cadres:
        d = _cadre(r)
        d["township_rank"] = township_rank.get(r.cadre_id)
        cadres.append(d)
    top, bottom = top_and_bottom([c for c in cadres if c["score"] is not None], TOP_AND_BOTTOM)
    return {
        "kind": report.kind,
        "period": report.period,
        "first_day": report.first_day,
        "last_day": report.last_day,
        "as_of": report.as_of,
        "generated_at": report.generated_at,
        "county": report.township,
        "weights": report.weights,
        "townships": townships,
        "cadres": cadres,
        "top": top,
        "bottom": bottom,
        "provisional": report.provisional,
        "workdays_elapsed": report.workdays_elapsed,
        "provisional_workdays": report.provisional_workdays,
        "days_counted": report.days_counted,
        "totals": _plain(report.totals),
        # every township's departments (转办, storage/assessment/departments.py), by township and name
        "departments": _plain(report.departments),
    }


def build_county_report(
    session: Session, config: Config, kind: str, period_key: str, *, now: datetime
) -> dict[str, Any]:
    """The county report of a period as of ``now`` (every township of the deployment, those without cadres too)."""
    report = build_report(session, config, kind, period_key, now=now)
    names = list(session.scalars(select(Township.name).order_by(Township.name)))
    return county_report(report, names)
