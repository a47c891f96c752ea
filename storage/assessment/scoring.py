"""Scoring: pure functions of the counts (the tests check them by hand)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from storage.assessment.shape import Counts, ScorePart
from storage.config import Config

T = TypeVar("T")

COMPONENTS = ("diary", "summary", "tasks", "requests", "satisfaction", "ledger")


def ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def weights_from(config: Config) -> dict[str, float]:
    section = config.score
    return {k: float(getattr(section, k)) for k in COMPONENTS}


def score_counts(
    c: Counts, ledger_share: float | None, weights: dict[str, float], *, breakdown: bool = True
) -> tuple[float | None, list[ScorePart]]:
    """Score out of 100 and its breakdown. A component with nothing to judge is left out and the remaining
    weights are re-normalised, so a cadre is neither rewarded nor punished for, say, receiving no request."""
    summary_num = c.summary_months_due_on_time + 0.5 * (
        c.summary_months_due_submitted - c.summary_months_due_on_time
    )
    raw = (
        ("diary", c.diary_credited, c.owed),
        ("summary", summary_num, c.summary_months),
        ("tasks", c.tasks_on_time, c.tasks_on_time + c.tasks_overdue),
        ("requests", c.requests_answered_in_sla, c.requests_answered_in_sla + c.requests_late),
        ("satisfaction", c.requests_satisfied, c.requests_rated),
        ("ledger", ledger_share or 0.0, 0 if ledger_share is None else 1),
    )
    total_weight = 0.0
    for key, _num, den in raw:
        w = weights.get(key, 0.0)
        if w > 0 and den > 0:
            total_weight += w
    # The ledger is today's state, not the period's work: a period with nothing else to judge (a month before the
    # cadre joined, a whole month of leave) gets no score rather than one made of the ledger alone.
    if not any(weights.get(key, 0.0) > 0 and den > 0 for key, _num, den in raw if key != "ledger"):
        total_weight = 0.0
    parts: list[ScorePart] = []
    score = 0.0
    for key, num, den in raw:
        w = weights.get(key, 0.0)
        r = num / den if den > 0 else None
        if w > 0 and r is not None and total_weight > 0:
            max_points = 100.0 * w / total_weight
            points = max_points * r
            score += points
        else:
            max_points = points = 0.0
        if breakdown:
            parts.append(
                ScorePart(
                    key=key,
                    weight=w,
                    ratio=None if r is None else round(r, 4),
                    numerator=num,
                    denominator=den,
                    points=round(points, 2),
                    max_points=round(max_points, 2),
                )
            )
    if total_weight == 0:
        return None, parts
    return round(score, 2), parts


def tied(ranks: Sequence[int | None]) -> list[bool]:
    """Which ranks are shared (并列): the same rank given to more than one."""
    seen = Counter(r for r in ranks if r is not None)
    return [r is not None and seen[r] > 1 for r in ranks]


def top_and_bottom(ranked: Sequence[T], n: int) -> tuple[list[T], list[T]]:
    """The first ``n`` and the last ``n`` of a ranked list, never overlapping: with fewer than 2n rows the top
    gets the better half (rounded up), the bottom the rest, worst first."""
    top = list(ranked[: min(n, (len(ranked) + 1) // 2)])
    rest = ranked[len(top) :]
    bottom = list(reversed(rest[max(0, len(rest) - n) :]))
    return top, bottom


def competition_ranks(scores: Sequence[float | None]) -> list[int | None]:
    """Competition ranking (1, 2, 2, 4) on scores rounded to 2 decimals; higher is better; None unranked."""
    keyed = sorted(((round(s, 2), i) for i, s in enumerate(scores) if s is not None), key=lambda t: -t[0])
    ranks: list[int | None] = [None] * len(scores)
    prev: float | None = None
    rank = 0
    for pos, (value, i) in enumerate(keyed, start=1):
        if value != prev:
            rank, prev = pos, value
        ranks[i] = rank
    return ranks
