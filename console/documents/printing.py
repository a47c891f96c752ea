"""Printed documents: service cards (便民服务卡, A4, 8 a page) and the public listing of links (公示).

Used by the console (/print/...) and by ``lianxin cards`` / ``lianxin listing``. The HTML is self-contained
(inline CSS, inline SVG QR codes made with segno), so it prints the same from a browser and from headless
Chromium (``--print-to-pdf``).

The QR code encodes the ``url`` of the card's permanent parametric QR code, made by the account through
``qrcode/create`` (console/documents/card_codes.py) and kept on the card. A card without one (no WeChat
credentials configured) is printed without a QR code, and the page says so: never a code WeChat would not
answer. The public listing shows no card numbers: a number is known to its household only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import station_units
from storage.config import Config
from storage.group_links import GroupLeader, group_leaders
from storage.models import Cadre, Household, Link, ServiceCard, Township, Village, VillagerGroup
from storage.naming import by_number
from storage.register import in_programme

CARDS_PER_PAGE = 8


class PrintError(Exception):
    """Cannot print as asked (unknown village, no PDF engine); the message says why."""


def qr_svg(data: str) -> str:
    """An inline SVG that scales to its box (viewBox, no fixed size)."""
    return segno.make(data, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000")


@dataclass
class CardRow:
    number: str
    head_name: str
    village: str
    group: str
    cadre_name: str
    cadre_post: str
    cadre_phone: str
    qr: str | None  # inline SVG, None when the card has no code from WeChat yet
    qr_data: str | None  # what the QR code encodes: the url WeChat issued for this card


@dataclass
class ListingRow:
    group: str
    head_name: str
    population: int
    cadre_name: str
    cadre_post: str
    cadre_phone: str
    commitment: date | None


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _village(session: Session, name: str | None, township_id: int | None = None) -> Village | None:
    """The village named (of the township, when given); PrintError naming the choices when there is none or the
    name is in several townships."""
    if not name:
        return None
    mine = [] if township_id is None else [Village.township_id == township_id]
    found = list(session.scalars(select(Village).where(Village.name == name.strip(), *mine).limit(2)))
    if len(found) != 1:
        known = (
            "、".join(session.scalars(select(Village.name).where(*mine).order_by(Village.name))) or "（无）"
        )
        if found:
            raise PrintError(f"「{name}」在多个乡镇都有，请指明乡镇。")
        raise PrintError(f"没有名为「{name}」的村(居)。现有：{known}")
    return found[0]


def _title(session: Session, config: Config, township_id: int | None) -> str:
    name = session.scalar(select(Township.name).where(Township.id == township_id)) if township_id else None
    return name or str(config.general.township)


def _rows(
    session: Session, village: Village | None, township_id: int | None = None
) -> list[tuple[Household, Village, VillagerGroup | None, ServiceCard | None, Cadre | None, Link | None]]:
    stmt = (
        select(Household, Village, VillagerGroup, ServiceCard, Cadre, Link)
        .join(Village, Household.village_id == Village.id)
        .outerjoin(VillagerGroup, Household.group_id == VillagerGroup.id)
        .outerjoin(ServiceCard, ServiceCard.household_id == Household.id)
        .outerjoin(Link, Link.household_id == Household.id)
        .outerjoin(Cadre, Link.cadre_id == Cadre.id)
        .where(Household.purged_at.is_(None), in_programme())  # a closed household gets no card, no listing
    )
    if village is not None:
        stmt = stmt.where(Household.village_id == village.id)
    if township_id is not None:
        stmt = stmt.where(Village.township_id == township_id)
    rows = [tuple(r) for r in session.execute(stmt)]
    # by village, cadre, then the number a group's name means (一组, 二组 … 十一组), head, household
    return sorted(
        rows,
        key=lambda r: (
            r[1].name,
            (r[4].name, r[4].id) if r[4] is not None else ("", 0),
            by_number(r[2].name if r[2] is not None else None),
            r[0].head_name,
            r[0].id,
        ),
    )


def printable_cards(
    session: Session, *, village: str | None = None, township_id: int | None = None
) -> list[ServiceCard]:
    """The cards ``card_rows`` prints (households with a card and a linked cadre), for making QR codes first."""
    v = _village(session, village, township_id)
    return [
        card
        for _h, _v, _g, card, cadre, _l in _rows(session, v, township_id)
        if card is not None and cadre is not None
    ]


def card_rows(
    session: Session, *, village: str | None = None, township_id: int | None = None
) -> list[CardRow]:
    """One card per household that has a card number and a linked cadre (of one township, when given)."""
    v = _village(session, village, township_id)
    out = []
    for h, vil, g, card, cadre, _link in _rows(session, v, township_id):
        if card is None or cadre is None:
            continue
        out.append(
            CardRow(
                card.number,
                h.head_name,
                vil.name,
                g.name if g else "",
                cadre.name,
                cadre.post or "",
                cadre.phone,
                qr_svg(card.qr_url) if card.qr_url else None,
                card.qr_url,
            )
        )
    return out


def render_cards(
    session: Session,
    config: Config,
    *,
    village: str | None = None,
    now: datetime | None = None,
    notice: str | None = None,
    township_id: int | None = None,
) -> tuple[str, int]:
    """(HTML, number of cards). Marks the printed cards' ``printed_at`` when ``now`` is given. ``notice``
    (e.g. "no WeChat credentials: no QR codes") is printed above the cards."""
    rows = card_rows(session, village=village, township_id=township_id)
    pages = [rows[i : i + CARDS_PER_PAGE] for i in range(0, len(rows), CARDS_PER_PAGE)]
    html = (
        environment()
        .get_template("print/cards.html")
        .render(
            pages=pages,
            township=_title(session, config, township_id),
            account=config.general.account_name,
            village=village,
            count=len(rows),
            notice=notice,
            without_qr=sum(1 for r in rows if r.qr is None),
        )
    )
    if now is not None and rows:
        numbers = [r.number for r in rows]
        for card in session.scalars(select(ServiceCard).where(ServiceCard.number.in_(numbers))):
            card.printed_at = now
    return html, len(rows)


def render_listing(
    session: Session,
    config: Config,
    *,
    village: str | None = None,
    today: date,
    mark: bool = False,
    township_id: int | None = None,
) -> tuple[str, int]:
    """(HTML, number of households): one section per village, a page each. ``mark`` sets ``listed_on``."""
    v = _village(session, village, township_id)
    by_village: dict[str, list[ListingRow]] = {}
    units: dict[str, tuple[Village, list[str | None]]] = {}  # 单位办点 (storage/station_units.py)
    listed: list[Household] = []
    for h, vil, g, _card, cadre, link in _rows(session, v, township_id):
        by_village.setdefault(vil.name, [])
        units.setdefault(vil.name, (vil, []))
        if cadre is None:
            continue
        units[vil.name][1].append(cadre.unit)
        by_village[vil.name].append(
            ListingRow(
                g.name if g else "",
                h.head_name,
                h.population,
                cadre.name,
                cadre.post or "",
                cadre.phone,
                link.commitment_signed_on if link else None,
            )
        )
        listed.append(h)
    leaders: dict[str, list[GroupLeader]] = {}
    for leader in group_leaders(session, village_id=v.id if v is not None else None, township_id=township_id):
        leaders.setdefault(leader.village, []).append(leader)
    sections = []
    for name, rows in by_village.items():
        cadres: dict[str, tuple[str, str, int]] = {}
        for r in rows:
            n = cadres.get(r.cadre_phone, (r.cadre_name, r.cadre_post, 0))
            cadres[r.cadre_phone] = (n[0], n[1], n[2] + 1)
        sections.append(
            {
                "village": name,
                "rows": rows,
                "groups": leaders.get(name, []),
                "cadres": [(nm, post, phone, k) for phone, (nm, post, k) in cadres.items()],
                "station_unit": station_units.shown(*units[name])[0],
            }
        )
    html = (
        environment()
        .get_template("print/listing.html")
        .render(sections=sections, township=_title(session, config, township_id), today=today)
    )
    if mark:
        for h in listed:
            if h.listed_on is None:
                h.listed_on = today
    return html, len(listed)


@dataclass
class CommitmentLetter:
    """One household's 联户工作承诺书: the cadre's promise, to be signed by both and handed back."""

    village: str
    group: str
    head_name: str
    cadre_name: str
    cadre_post: str
    cadre_phone: str
    signed_on: date | None  # came back signed (recorded in the console: the household's page)


def render_commitments(
    session: Session,
    config: Config,
    *,
    village: str | None = None,
    today: date,
    township_id: int | None = None,
) -> tuple[str, int]:
    """(HTML, number of letters): a 联户工作承诺书 per linked household, one A4 page each (the seed: every cadre
    signs one with each household, handed back to the office for its files). No card numbers."""
    v = _village(session, village, township_id)
    letters = [
        CommitmentLetter(
            vil.name,
            g.name if g else "",
            h.head_name,
            cadre.name,
            cadre.post or "",
            cadre.phone,
            link.commitment_signed_on if link else None,
        )
        for h, vil, g, _card, cadre, link in _rows(session, v, township_id)
        if cadre is not None
    ]
    html = (
        environment()
        .get_template("print/commitments.html")
        .render(
            letters=letters,
            township=_title(session, config, township_id),
            account=config.general.account_name,
            sla_hours=config.sla.first_answer_hours,
            today=today,
        )
    )
    return html, len(letters)


# --------------------------------------------------------------------------------------------------
# PDF through headless Chromium
# --------------------------------------------------------------------------------------------------

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    env = os.environ.get("LIANXIN_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, out: Path, *, timeout: float = 120.0) -> Path:
    """Print ``html`` to ``out`` with headless Chromium; PrintError when it is not installed or fails."""
    exe = find_chromium()
    if exe is None:
        raise PrintError(
            "未找到 Chromium，无法生成 PDF。请安装 chromium（Debian：apt-get install chromium），"
            "或改用 .html 输出后在浏览器中打印。"
        )
    out = Path(out).resolve()
    if not out.parent.is_dir():  # Chromium would fail with a screen of its own log lines
        raise PrintError(f"无法写入 {out}：所在文件夹不存在")
    with tempfile.TemporaryDirectory(prefix="lianxin-print-") as tmp:
        src = Path(tmp) / "print.html"
        src.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PrintError(f"Chromium 生成 PDF 超时（{timeout:.0f} 秒）") from None
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PrintError("Chromium 生成 PDF 失败：" + " ".join(tail))
    return out


def write(html: str, out: str | Path) -> Path:
    """Write ``html`` to ``out`` as .html, or print it to .pdf; the format follows the suffix."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(html, encoding="utf-8")
        return path
    if suffix == ".pdf":
        return html_to_pdf(html, path)
    raise PrintError(f"不支持的输出格式 {suffix or '（无后缀）'}：请用 .html 或 .pdf")
