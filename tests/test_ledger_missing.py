"""What the ledger lists as still to do for one household (storage/ledger/query.py ``missing_duties``), without a
database; the ledger as a whole is tests/test_ledger.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from storage.ledger.query import HouseholdDuties, missing_duties

DONE = HouseholdDuties(
    household_id=1,
    head_name="陈金花",
    village="新桥村",
    card_number="00100002",
    cadre_id=3,
    cadre_name="李明",
    cadre_phone="13987654321",
    info_complete=True,
    info_missing=[],
    info_updated_at=None,
    info_updated_by=None,
    card_issued_on=date(2026, 11, 2),
    card_issued_by="cadre:13987654321",
    policy_done_on=date(2026, 11, 3),
    policy_done_by="cadre:13987654321",
    commitment_signed_on=date(2026, 11, 4),
    commitment_recorded_by="cadre:13987654321",
    listed_on=date(2026, 11, 5),
    visits_this_month=1,
    last_visit=date(2026, 11, 20),
    tasks=0,
)


def test_a_household_with_every_duty_done_misses_nothing():
    assert missing_duties(DONE, moved=False) == []
    assert missing_duties(DONE, moved=True) == []  # a card issued since the move is the new one


def test_missing_duties_are_listed_in_the_ledgers_order():
    nothing = replace(
        DONE,
        info_complete=False,
        card_issued_on=None,
        policy_done_on=None,
        commitment_signed_on=None,
        visits_this_month=0,
        cadre_id=None,
        listed_on=None,
    )
    assert missing_duties(nothing, moved=False) == [
        "info",
        "card",
        "policy",
        "commitment",
        "visit",
        "link",
        "listing",
    ]


def test_a_moved_households_missing_card_is_a_card_to_reissue():
    assert missing_duties(replace(DONE, card_issued_on=None), moved=True) == ["card_reissue"]
    assert missing_duties(replace(DONE, card_issued_on=None), moved=False) == ["card"]
