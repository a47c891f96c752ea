"""What 转办's pushes say (storage/station/ decides who gets them): the department's staff told of a request
waiting for them, the villager told it was passed on and then given the department's answer, the cadre told of the
office's transfer, the answer and a hand-back, the office asked for more time. The chat passes
``StationNotices(tz)`` to storage itself; the console and the CLI get the same from ``Lianxin.words.station(tz)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.render import render
from storage.models import RequestTransfer, VillagerRequest
from storage.periods import local_text


class StationNotices:
    """``storage.station.StationWords`` from the station_*.txt.j2 templates; times in ``tz``."""

    def __init__(self, tz: Any) -> None:
        self.tz = tz

    def _at(self, moment: datetime | None) -> str:
        return local_text(moment, self.tz) if moment is not None else ""

    def _render(self, name: str, t: RequestTransfer, r: VillagerRequest, **values: Any) -> str:
        return render(
            name,
            transfer=t,
            request=r,
            department=t.department.name,
            due=self._at(t.due),
            asked=self._at(t.extension_until),
            **values,
        )

    def to_department(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        return self._render("station_to_department", transfer, request, household=request.household)

    def to_villager(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        return self._render("station_to_villager", transfer, request)

    def to_cadre(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        return self._render("station_to_cadre", transfer, request, household=request.household)

    def answer_to_villager(
        self, transfer: RequestTransfer, request: VillagerRequest, text: str, ask_rating: bool
    ) -> str:
        return self._render("station_answer_villager", transfer, request, text=text, ask_rating=ask_rating)

    def answer_to_cadre(
        self, transfer: RequestTransfer, request: VillagerRequest, text: str, relayed: bool
    ) -> str:
        return self._render(
            "station_answer_cadre", transfer, request, text=text, relayed=relayed, household=request.household
        )

    def handed_back(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        return self._render("station_handed_back", transfer, request, household=request.household)

    def extension_asked(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        return self._render("station_extension_asked", transfer, request)

    def extension_answered(self, transfer: RequestTransfer, request: VillagerRequest, reason: str) -> str:
        return self._render("station_extension_answered", transfer, request, reason=reason)

    def unsatisfied(self, transfer: RequestTransfer, request: VillagerRequest) -> str:
        return self._render("station_unsatisfied", transfer, request)
