"""Link lists for the import tests: the good 35-row file, and writers for CSV and XLSX in any encoding."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import text

from storage.importer import COLUMNS, import_file

GOOD = Path(__file__).parent.parent / "data" / "links_35.csv"
HEADER = [
    name for name, key in COLUMNS if not key.startswith("group_cadre") and key != "tags"
]  # the optional 包组 columns: tests/test_group_links.py; 重点人群: tests/test_household_tags.py
DATA_TABLES = [
    "township",
    "village",
    "villager_group",
    "cadre",
    "household",
    "link",
    "service_card",
    "household_info_history",
    "link_change",
]


def good_rows() -> list[list[str]]:
    with GOOD.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER
    return rows[1:]


def to_csv(rows: list[list[object]], encoding: str = "utf-8-sig", header: list[str] | None = None) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header or HEADER)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def to_xlsx(rows: list[list[object]], title: str | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(HEADER)
    for r in rows:
        # Excel users type phones and populations as numbers
        ws.append([int(v) if isinstance(v, str) and v.isdigit() and not v.startswith("0") else v for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def import_links(session, data: bytes, filename: str = "links.csv"):
    """Import ``data`` as the office would (township 示范镇) and commit."""
    plan = import_file(session, data, filename=filename, actor="test", township="示范镇")
    session.commit()
    return plan


def snapshot(session) -> dict[str, list[tuple]]:
    return {
        t: [tuple(r) for r in session.execute(text(f'SELECT * FROM "{t}" ORDER BY 1')).all()]
        for t in DATA_TABLES
    }


COUNTY_HEADER = ["乡镇", *HEADER]


def county_rows() -> list[list[str]]:
    """A county's list: the good 35 rows for 龙伏镇 and the same villages and families for 青山镇, where other
    cadres (other phones) serve them and the cards are to be numbered (names of villages repeat across townships)."""
    good = good_rows()
    other = [
        [*r[:5], "", r[6], "137" + "".join(ch for ch in r[7] if ch.isdigit())[-8:], *r[8:]] for r in good
    ]
    return [["龙伏镇", *r] for r in good] + [["青山镇", *r] for r in other]
