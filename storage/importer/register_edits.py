"""What an accepted list would undo of the register's own changes (issue 24 item 4), so that re-importing an older
list after households were added, closed or moved does not undo them silently. Three cases (shape.RegisterEdit):

- ``reopen``: a household closed in the register (storage/register.py) that the list names again — applying the
  list reopens it (its cadre and details as the list says);
- ``move``: a household whose cadre the register set last (``household move``, a handover, the console, or
  ``household add``) that the list puts under another cadre — applying moves it there (back to the old cadre,
  most often: the list predates the move);
- ``missing``: a household the register added, in one of the list's villages, that the list does not name —
  applying leaves it as it is, but the list is older than the register, and the office should know.

The plan lists them (``ImportPlan.register_edits``); the CLI refuses without ``--yes`` and the console asks for
a tick before it applies. It only reads what stored.read_stored read, and writes nothing.
"""

from __future__ import annotations

from typing import Any

from storage.importer.matching import Matched
from storage.importer.shape import ImportPlan, RegisterEdit
from storage.importer.stored import Stored


def _label(h: dict[str, Any]) -> str:
    return f"{h['village']}{h['group']} {h['head_name']}"


def _by(changed_by: str | None) -> str:
    """Who made a register change, as the office reads it."""
    by = changed_by or ""
    if by == "cli":
        return "命令行"
    return by.split(":", 1)[1] if ":" in by else by


def _cadre_name(stored: Stored, cadre_id: int | None) -> str:
    found = stored.cadre_by_id.get(cadre_id) if cadre_id is not None else None
    return f"{found[1]['name']}（{found[0]}）" if found else "（无）"


def find(plan: ImportPlan, matched: Matched, stored: Stored) -> None:
    """Fill ``plan.register_edits``: closed households named again, register moves the list would change, and
    households added in the register that the list leaves out (see the module)."""
    moved = {u["household_id"]: u for u in plan.link_updates if u["link_id"] is not None}
    for r, h in matched:
        if h is None:
            continue
        if h["closed_on"] is not None:
            plan.register_edits.append(
                RegisterEdit(
                    "reopen",
                    r["row"],
                    h["id"],
                    f"{_label(h)} 已于 {h['closed_on'].isoformat()} 销户（{h['closed_reason']}），"
                    "名单中仍有此户：导入后将恢复在册",
                )
            )
        change = stored.register_links.get(h["id"])
        if h["id"] in moved and change is not None:
            at = change["changed_at"]
            plan.register_edits.append(
                RegisterEdit(
                    "move",
                    r["row"],
                    h["id"],
                    f"{_label(h)} 的联户干部已于 {at:%Y-%m-%d} 由{_by(change['changed_by'])}"
                    f"改为 {_cadre_name(stored, change['new_cadre_id'])}，名单中仍为 {r['cadre_name']}"
                    f"（{r['cadre_phone']}）：导入后将改回名单中的干部",
                )
            )
    named = {h["id"] for _r, h in matched if h is not None}
    villages = set(plan.village_ids.values())
    for hid, h in stored.households.items():
        if h["added_by"] and h["closed_on"] is None and h["village_id"] in villages and hid not in named:
            plan.register_edits.append(
                RegisterEdit(
                    "missing",
                    None,
                    hid,
                    f"{_label(h)} 是由{_by(h['added_by'])}新增的农户，名单中没有此户：导入不会删除它，"
                    "但名单可能早于登记变更",
                )
            )
