"""单位办点: the unit that runs a village's demonstration point (the seed: "单位办点…一并公示"), shown on the
village's public listing (console/documents/printing.py render_listing).

Where it comes from: the office sets it per village (``village.station_unit``, the console's 驻村与动员会 page);
until it does, the listing derives it from the link list's 干部单位 — the distinct units of the cadres linked to
the village's households, in the order first met. A village with neither shows none.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from storage.models import Village

MAX_UNIT = 100


class UnitError(ValueError):
    """The unit cannot be set; the message says why."""


def set_unit(session: Session, *, village: Village, unit: str | None) -> bool:
    """Set (or, with an empty ``unit``, clear) the village's 办点单位; False when nothing changed."""
    value = (unit or "").strip() or None
    if value is not None and len(value) > MAX_UNIT:
        raise UnitError(f"办点单位不能超过 {MAX_UNIT} 字")
    if village.station_unit == value:
        return False
    village.station_unit = value
    session.flush()
    return True


def shown(village: Village, cadre_units: Iterable[str | None]) -> tuple[str | None, bool]:
    """(the unit the listing shows, whether the office set it); derived from the cadres' units when unset."""
    if village.station_unit:
        return village.station_unit, True
    units = list(dict.fromkeys(u.strip() for u in cadre_units if u and u.strip()))
    return ("、".join(units) or None), False
