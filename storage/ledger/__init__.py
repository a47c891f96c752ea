"""The 五个一 ledger: every cadre's duties to every linked household, done and missing.

Per household: (1) 民情信息登记表 complete (members, annual income, industries, difficulties) and its last
update, (2) 便民服务卡 issued, (3) 惠农政策宣传 done, (4) 民情日记 mentions this month, (5) 工作督办卡 that
concerned it; plus the 工作承诺书 date and the village's 公示. The per-cadre and per-village counts are one
``GROUP BY`` query each, the same SQL on SQLite and PostgreSQL; the household list is built from one joined query.

Functions take ``session`` as a keyword-free first argument and never commit (the caller owns the transaction).

The parts: duties (the duties, the form's fields, the SQL building blocks, the scope), query (counts, the
household list, the whole ledger, the completion share), mentions (diary mentions), form_text (form values as
text). Callers import from ``storage.ledger``.
"""

from storage.ledger.duties import (
    DUTIES,
    INFO_FIELD_LABELS,
    INFO_FIELDS,
    ROLE_NAMES,
    LedgerError,
    Scope,
    info_complete_clause,
    info_field_clauses,
    month_bounds,
    resolve_scope,
)
from storage.ledger.form_text import format_field, format_income, format_members
from storage.ledger.mentions import find_mentions, link_mentions
from storage.ledger.query import (
    HouseholdDuties,
    build_ledger,
    cadre_totals,
    household_duties,
    info_missing_fields,
    ledger_completion,
    role_counts,
    totals_of,
    village_totals,
)
from storage.ledger.undone import UNDONE_DUTIES, Undone, undone_duties

__all__ = [
    "DUTIES",
    "INFO_FIELDS",
    "INFO_FIELD_LABELS",
    "ROLE_NAMES",
    "HouseholdDuties",
    "LedgerError",
    "Scope",
    "build_ledger",
    "cadre_totals",
    "find_mentions",
    "format_field",
    "format_income",
    "format_members",
    "household_duties",
    "info_complete_clause",
    "info_field_clauses",
    "info_missing_fields",
    "ledger_completion",
    "link_mentions",
    "month_bounds",
    "resolve_scope",
    "role_counts",
    "totals_of",
    "village_totals",
    "UNDONE_DUTIES",
    "Undone",
    "undone_duties",
]
