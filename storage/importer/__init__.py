"""Importing a link list (联户名单): .xlsx or .csv with the columns PRODUCT.md fixes.

Three steps, each callable on its own (the CLI runs them in a row; the console previews before applying):

- ``read_rows(source, filename)`` parses the file into a ``Table`` (rows numbered as in the spreadsheet,
  header = row 1) plus file-level problems (empty file, missing columns, unreadable encoding);
- ``plan_import(session, table)`` validates every row against the file and the database and works out
  what would change — it only reads;
- ``apply_import(session, plan, actor=...)`` writes the plan with bulk statements (never per-row queries:
  100,000 households must import in well under a minute) and audits it. The caller owns the transaction.

The parts: shape (columns, table, plan), read, validate (the rows without the database), stored (what the
database holds), matching (the rows against it), changes (what an accepted list changes), plan (the steps in
order, per township; the group links), apply (and import_file), template.

All or nothing: a plan with any problem is refused whole, and ``apply_import`` refuses to write it.
A household is the same household when its village, group, head's name and head's phone are the same, or
when it carries the same service-card number; a cadre is the same cadre when the phone is the same.
"""

from storage.importer.apply import apply_import, import_file
from storage.importer.plan import plan_import
from storage.importer.read import read_rows
from storage.importer.shape import COLUMNS, ImportPlan, ImportRefused, Problem, SourceRow, Table
from storage.importer.template import template_bytes, write_template

__all__ = [
    "COLUMNS",
    "ImportPlan",
    "ImportRefused",
    "Problem",
    "SourceRow",
    "Table",
    "apply_import",
    "import_file",
    "plan_import",
    "read_rows",
    "template_bytes",
    "write_template",
]
