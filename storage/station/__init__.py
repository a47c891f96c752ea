"""The township's 群众工作站 and its departments (站办所): requests a cadre cannot settle alone are passed to a
department (转办), which answers them, asks for more time or hands them back; the office watches them by their time
limits (issue 26; docs/station.md for the office).

- departments.py: the departments of a township and the WeChat accounts of their staff;
- base.py: what every step shares (the push words ``StationWords``, the current passing, the time limit);
- transfers.py: 转办 and the department's answer (reaching the villager the way a cadre's 回复 does);
- steps.py: more time (the office grants or refuses), handed back, 办结, the villager's rating (回访);
- board.py: the office's board with traffic lights, a department's queue, ``lianxin request list``.
The month's figures per department are in the month report (storage/assessment/).
"""

from __future__ import annotations

from storage.station.base import StationWords, current, due_on, history, township_of
from storage.station.board import (
    REQUEST_STATUSES,
    TransferRow,
    department_queue,
    light_of,
    office_board,
    request_rows,
)
from storage.station.departments import (
    StationError,
    add_or_update,
    by_name,
    clean_openids,
    match,
    names_text,
    of_township,
    summary,
)
from storage.station.steps import answer_extension, ask_extension, close, end_transfer, hand_back, rated
from storage.station.transfers import answer, transfer

__all__ = [
    "REQUEST_STATUSES",
    "StationError",
    "StationWords",
    "TransferRow",
    "add_or_update",
    "answer",
    "answer_extension",
    "ask_extension",
    "by_name",
    "clean_openids",
    "close",
    "current",
    "department_queue",
    "due_on",
    "end_transfer",
    "hand_back",
    "history",
    "light_of",
    "match",
    "names_text",
    "of_township",
    "office_board",
    "rated",
    "request_rows",
    "summary",
    "township_of",
    "transfer",
]
