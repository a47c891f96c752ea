"""Telling a household's linked WeChat accounts that their cadre changed (a move in the console, a handover, an
import): the words of the push (cadre_changed_push.txt.j2); who is told, once per account and move, is
storage/links.py ``tell_villagers``. Used by the console and the import (CLI and console), which sit higher.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from handlers.render import render
from storage import links
from storage.config import DEFAULT_TZ
from storage.handover import HandoverWords
from storage.models import Cadre, Household
from storage.wording import Wording


def cadre_changed(household: Household, cadre: Cadre) -> str:
    """The push naming the household's new cadre, their post and phone."""
    return render("cadre_changed_push", household=household, cadre=cadre)


def tell_villagers(session: Any, household_ids: Iterable[int], *, tz: Any = None) -> int:
    """Queue the 'your cadre is now …' push to every subscribed account of each household; returns how many."""
    return links.tell_villagers(session, household_ids, words=cadre_changed, tz=tz or DEFAULT_TZ)


def cadre_retired(cadre: Cadre) -> str:
    """The push to a retiring cadre's released WeChat account (storage/cadres.py ``retire``)."""
    return render("cadre_retired_push", cadre=cadre)


def handover_words(words: Wording, tz: Any) -> HandoverWords:
    """The words of a handover's pushes (storage/handover.py): the request and card pushes as everywhere, and
    the villagers' 'your cadre is now …'."""
    return HandoverWords(requests=words.requests, card=words.task_published(tz), villager=cadre_changed)
