"""Who the office is: the WeChat accounts that get the office's notices and pushes.

One place for every office notice (a cadre's 延期, a request whose cadre cannot be reached, a binding taken
over, guessed card numbers, held delivery, the day's overdue cards, a sign-in from a new place …), because two
functions with different signatures used to answer this and a third caller passed lists of its own: a notice
about one township's cadre must reach that township's office too, wherever it is sent from.

The office of the deployment is ``[scheduler] office_openids`` plus the accounts bound as office (in a county,
the county's: office identities carry no township). A notice about something of one township (its cadre, its
household, its card) also reaches that township's own office, ``[scheduler] township_office_openids`` (keyed by
township name).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.config import Config
from storage.models import Township, WechatIdentity


def recipients(session: Session, config: Config, township_id: int | None = None) -> list[str]:
    """The office accounts told about something of ``township_id`` (None: of the whole deployment), sorted."""
    sched = config.scheduler
    found = set(sched.office_openids)
    found.update(
        session.scalars(
            select(WechatIdentity.openid).where(
                WechatIdentity.kind == "office", WechatIdentity.unreachable.is_(False)
            )
        )
    )
    by_township = sched.township_office_openids
    if township_id is not None and by_township:
        name = session.scalar(select(Township.name).where(Township.id == township_id))
        found.update(by_township.get(name or "", []))
    return sorted(found)


def township_offices(session: Session, config: Config) -> list[tuple[int, list[str]]]:
    """(township id, its own office's openids) for each township of [scheduler] township_office_openids that
    exists (a name that is no township of the deployment is ignored): for the per-township digests a job sends
    beside the deployment's."""
    table = config.scheduler.township_office_openids
    if not table:
        return []
    rows = session.execute(
        select(Township.id, Township.name).where(Township.name.in_(list(table))).order_by(Township.id)
    ).tuples()
    return [(tid, sorted(set(table[name]))) for tid, name in rows if table[name]]
