"""Hostile text in exports: a name or text that starts with "=" must reach Excel as text, never as a formula
(formula injection: =HYPERLINK(...) or =cmd|... in a household head's or a cadre's name typed in a form or a
link list, run when the office opens the export)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

EVIL_HEAD = '=HYPERLINK("http://127.0.0.1/x","点我")'
EVIL_CADRE = "=1+2"


def _formulas(data: bytes) -> list[tuple[str, str, Any]]:
    wb = load_workbook(io.BytesIO(data))
    return [
        (ws.title, c.coordinate, c.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]


def _texts(data: bytes) -> set[Any]:
    wb = load_workbook(io.BytesIO(data))
    return {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}


def _world(lx: Any) -> None:
    from tests.support.factories import Factory

    with lx.session() as s:
        f = Factory(s)
        cadre = f.cadre(name=EVIL_CADRE, phone="13900007777")
        f.household(cadre, head_name=EVIL_HEAD, card="77770001")


def test_ledger_xlsx_has_no_formulas_from_names(lx: Any, clock: Any) -> None:
    from console.documents.ledger import to_xlsx
    from storage.ledger import build_ledger

    clock.set("2026-11-24 10:00")
    _world(lx)
    with lx.session() as s:
        data = to_xlsx(build_ledger(s, today=clock().astimezone(lx.config.tz).date()))
    assert _formulas(data) == []
    assert EVIL_HEAD in _texts(data) and EVIL_CADRE in _texts(data)  # kept, as text


def test_report_xlsx_has_no_formulas_from_names(lx: Any, clock: Any) -> None:
    from console.documents.report import render_xlsx
    from storage.assessment import build_report

    clock.set("2026-11-24 10:00")
    _world(lx)
    with lx.session() as s:
        data = render_xlsx(build_report(s, lx.config, "month", "2026-11", now=clock()))
    assert _formulas(data) == []
    assert EVIL_CADRE in _texts(data)
