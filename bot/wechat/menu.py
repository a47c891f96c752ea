"""The account's custom menu: the default one, ``[wechat.menu]``, and its check against the platform's limits.

Limits (https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu; docs/wechat-rules.md §3a):
1–3 top buttons, 1–5 sub buttons each; a name ≤ 16 bytes on top, ≤ 60 bytes below (UTF-8: a 汉字 is 3 bytes;
older docs said 40 below, so we warn above 40); a ``key`` ≤ 128 bytes (click); a ``url`` ≤ 1024 bytes (view);
a button with sub buttons has no type. WeChat shows about 4 汉字 on top and 8 below, the rest as "...".
Our validation refuses what WeChat would refuse, before anything is sent, naming the button.

``[wechat.menu] buttons`` is a list of tables: ``{ name = "…", key = "LX_…" }`` (a click, answered by
handlers/menu.py), ``{ name = "…", url = "/tasks" }`` (a view: a path is put under ``[wechat] public_url``),
or ``{ name = "…", sub = [ …up to 5 of the above… ] }``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.menu import CONTACT, HELP, KEYS, MONTH, POLICY, TASKS

TOP_MAX, SUB_MAX = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES, SUB_NAME_SAFE_BYTES = 16, 60, 40
KEY_BYTES, URL_BYTES = 128, 1024

# One menu for villagers (联系干部 / 政策 / 帮助) and cadres (任务 / 本月 / 帮助): the CLICK handler answers
# each key by who taps it, so 联系干部 shows a villager their cadre and a cadre their households.
DEFAULT_MENU: list[dict[str, Any]] = [
    {"name": "联系干部", "key": CONTACT},
    {"name": "干部", "sub": [{"name": "任务", "key": TASKS}, {"name": "本月", "key": MONTH}]},
    {"name": "政策帮助", "sub": [{"name": "政策", "key": POLICY}, {"name": "帮助", "key": HELP}]},
]


class MenuError(ValueError):
    """The menu breaks a platform limit or names an unknown key; the message says which button and why."""


@dataclass
class Menu:
    body: dict[str, Any]  # what menu/create takes
    warnings: list[str]


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _leaf(
    item: dict[str, Any], where: str, *, top: bool, public_url: str, warnings: list[str]
) -> dict[str, Any]:
    name = str(item.get("name") or "").strip()
    limit = TOP_NAME_BYTES if top else SUB_NAME_BYTES
    if not name:
        raise MenuError(f"{where}: a button needs a name")
    if _bytes(name) > limit:
        raise MenuError(
            f"{where} “{name}”: the name is {_bytes(name)} bytes, WeChat allows {limit} "
            f"({'top' if top else 'sub'} button; a 汉字 is 3 bytes)"
        )
    if not top and _bytes(name) > SUB_NAME_SAFE_BYTES:
        warnings.append(f"{where} “{name}”: over 40 bytes, which older WeChat versions refuse")
    extra = set(item) - {"name", "key", "url", "sub"}
    if extra:
        raise MenuError(
            f"{where} “{name}”: unknown field(s) {', '.join(sorted(extra))} (use name, key, url, sub)"
        )
    if "sub" in item:
        raise MenuError(f"{where} “{name}”: only top buttons may have sub buttons")
    if ("key" in item) == ("url" in item):
        raise MenuError(f"{where} “{name}”: give exactly one of key (a click) or url (a page)")
    if "key" in item:
        key = str(item["key"])
        if not key or _bytes(key) > KEY_BYTES:
            raise MenuError(f"{where} “{name}”: key must be 1–{KEY_BYTES} bytes")
        if key not in KEYS:
            raise MenuError(
                f"{where} “{name}”: key {key!r} is not one lianxin answers; known keys: "
                + ", ".join(f"{k} ({v})" for k, v in KEYS.items())
            )
        return {"type": "click", "name": name, "key": key}
    url = str(item["url"]).strip()
    if url.startswith("/"):
        url = public_url.rstrip("/") + url
    if not url.startswith(("http://", "https://")):
        raise MenuError(
            f"{where} “{name}”: url must start with http(s):// or / (a console page), got {url!r}"
        )
    if _bytes(url) > URL_BYTES:
        raise MenuError(f"{where} “{name}”: url is {_bytes(url)} bytes, WeChat allows {URL_BYTES}")
    if not url.startswith("https://"):
        warnings.append(f"{where} “{name}”: {url} is not https; WeChat opens it with a warning")
    return {"type": "view", "name": name, "url": url}


def build_menu(buttons: list[dict[str, Any]] | None, public_url: str) -> Menu:
    """The menu/create body from ``[wechat.menu] buttons`` (empty: the default), checked; raises MenuError."""
    items = buttons or DEFAULT_MENU
    warnings: list[str] = []
    if not isinstance(items, list) or not 1 <= len(items) <= TOP_MAX:
        raise MenuError(
            f"the menu needs 1–{TOP_MAX} top buttons, got {len(items) if isinstance(items, list) else items!r}"
        )
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items, 1):
        where = f"button {i}"
        if not isinstance(item, dict):
            raise MenuError(f'{where}: must be a table such as {{ name = "帮助", key = "{HELP}" }}')
        if "sub" not in item:
            out.append(_leaf(item, where, top=True, public_url=public_url, warnings=warnings))
            continue
        name = str(item.get("name") or "").strip()
        if not name or _bytes(name) > TOP_NAME_BYTES:
            raise MenuError(
                f"{where} “{name}”: a top name must be 1–{TOP_NAME_BYTES} bytes (a 汉字 is 3 bytes)"
            )
        if set(item) - {"name", "sub"}:
            raise MenuError(f"{where} “{name}”: a button with sub buttons has only name and sub")
        subs = item["sub"]
        if not isinstance(subs, list) or not 1 <= len(subs) <= SUB_MAX:
            raise MenuError(f"{where} “{name}”: needs 1–{SUB_MAX} sub buttons")
        out.append(
            {
                "name": name,
                "sub_button": [
                    _leaf(
                        sub if isinstance(sub, dict) else {},
                        f"{where}.{j}",
                        top=False,
                        public_url=public_url,
                        warnings=warnings,
                    )
                    for j, sub in enumerate(subs, 1)
                ],
            }
        )
    return Menu({"button": out}, warnings)


def same_menu(wanted: dict[str, Any], current: dict[str, Any]) -> bool:
    """Does menu/get's ``menu`` match what we would create? (menu/get adds ``sub_button: []`` everywhere.)"""

    def norm(buttons: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (b.get("type"), b.get("name"), b.get("key"), b.get("url"), tuple(norm(b.get("sub_button") or [])))
            for b in buttons
        ]

    return norm(wanted.get("button") or []) == norm(current.get("button") or [])


def describe(body: dict[str, Any]) -> list[str]:
    lines = []
    for b in body["button"]:
        if "sub_button" in b:
            lines.append(f"{b['name']}")
            lines.extend(f"  └ {s['name']}  {s.get('key') or s.get('url')}" for s in b["sub_button"])
        else:
            lines.append(f"{b['name']}  {b.get('key') or b.get('url')}")
    return lines
