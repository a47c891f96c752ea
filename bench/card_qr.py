"""Card QR bench: make the permanent QR codes of N service cards against the fake WeChat API, then print them.

    .venv/bin/python bench/card_qr.py [--cards 2000]

SQLite only (a fresh file). Measures ``console.documents.card_codes.ensure_codes`` (one ``qrcode/create`` call
and two short transactions per card, as ``lianxin cards`` does) and ``printing.render_cards`` of the same cards
(one inline SVG per card drawn with segno from the issued url), and a second run (reprint: no call at all).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bot.app import build  # noqa: E402
from console.documents import card_codes, printing  # noqa: E402
from storage import cards  # noqa: E402
from storage.config import load_config  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Cadre, Household, Link, ServiceCard, Township, Village  # noqa: E402
from tests.fake_wechat import FakeWechat  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cards", type=int, default=2000)
    n = ap.parse_args().cards
    with tempfile.TemporaryDirectory() as tmp, FakeWechat() as fake:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        lx = build(
            load_config(
                overrides={
                    "database.url": url,
                    "wechat.api_base": fake.url,
                    "wechat.app_id": "wxtestappid",
                    "wechat.app_secret": "testsecret",
                },
                env={},
            )
        )
        with lx.session() as s:
            t = Township(name="基准镇")
            s.add(t)
            s.flush()
            v = Village(township_id=t.id, name="基准村")
            s.add(v)
            s.flush()
            c = Cadre(name="干部", phone="13700000000", village_id=v.id, active=True)
            s.add(c)
            s.flush()
            hids = list(
                s.scalars(
                    insert(Household).returning(Household.id),
                    [{"village_id": v.id, "head_name": f"户{i}", "population": 3} for i in range(n)],
                )
            )
            s.execute(insert(Link), [{"household_id": h, "cadre_id": c.id} for h in hids])
            used: set[str] = set()
            s.execute(
                insert(ServiceCard), [{"household_id": h, "number": cards.random_number(used)} for h in hids]
            )
        with lx.sessions() as s:
            ids = list(s.scalars(select(ServiceCard.id)))
        t0 = time.perf_counter()
        run = card_codes.ensure_codes(lx, ids)
        made = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = card_codes.ensure_codes(lx, ids)
        reprint = time.perf_counter() - t0
        t0 = time.perf_counter()
        with lx.session() as s:
            html, count = printing.render_cards(s, lx.config)
        render = time.perf_counter() - t0
        assert run.created == n and again.created == 0 and count == n and html.count("<svg") == n
        print(
            f"cards={n} create={made:.2f}s ({n / made:.0f} codes/s) reprint-check={reprint:.3f}s "
            f"render={render:.2f}s ({len(html) / 1e6:.1f} MB HTML)"
        )
        print("command: .venv/bin/python bench/card_qr.py --cards", n)


if __name__ == "__main__":
    main()
