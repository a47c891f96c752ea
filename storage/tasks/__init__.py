"""Supervision cards (工作督办卡): create, publish, the cadre's answers and the office's decisions.

Service functions for the CLI, the chat handlers and the console. Each takes ``session`` and never commits;
pushes go into the outbox in the same transaction. Bad input raises ``TaskError`` (a clear Chinese message)
before anything is written. Storage decides WHO is told and under which idempotency key; the WORDS of a push
come from the caller (``words=``: handlers/task_notices.py renders them), since storage renders no chat text.

Lifecycle of one assignment: pending (queued) → delivered (WeChat took the push) → acknowledged (the cadre
sent 任务 or 反馈) → fed_back → done; the office may send feedback back (returned) for rework, which makes
the assignment open again.

The parts: base (states, error, keys, a cadre's accounts), publishing (create, publish), answers (the cadre's
side), office (the office's side), board (lights, board, lists), targets (whom a card is for). Callers use
``storage.tasks`` as one namespace.
"""

from storage.config import DEFAULT_TZ
from storage.tasks.answers import acknowledge, feedback, get_assignment, open_assignments, request_extension
from storage.tasks.base import (
    ANSWERED_STATUSES,
    LIGHT_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    NoticeWords,
    TaskError,
    cadre_openids,
    find_task,
    task_push_key,
)
from storage.tasks.board import (
    BoardRow,
    OverdueRow,
    TaskBoard,
    board,
    deadline_light,
    due_soon,
    light,
    list_tasks,
    overdue,
    timeline,
    township_sees,
)
from storage.tasks.office import answer_extension, cancel_task, office_assignment, return_feedback
from storage.tasks.publishing import (
    PushWords,
    create_task,
    households_by_cards,
    mark_delivered,
    mark_undelivered,
    publish,
    publish_due,
)
from storage.tasks.targets import cadre_ids as target_cadre_ids
from storage.tasks.targets import named as named_targets
from storage.tasks.targets import parse as parse_targets

__all__ = [
    "ANSWERED_STATUSES",
    "DEFAULT_TZ",
    "LIGHT_LABELS",
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "BoardRow",
    "NoticeWords",
    "OverdueRow",
    "PushWords",
    "TaskBoard",
    "TaskError",
    "acknowledge",
    "answer_extension",
    "board",
    "cadre_openids",
    "cancel_task",
    "create_task",
    "due_soon",
    "feedback",
    "find_task",
    "get_assignment",
    "households_by_cards",
    "deadline_light",
    "light",
    "list_tasks",
    "mark_delivered",
    "mark_undelivered",
    "named_targets",
    "office_assignment",
    "open_assignments",
    "overdue",
    "parse_targets",
    "publish",
    "publish_due",
    "request_extension",
    "return_feedback",
    "target_cadre_ids",
    "task_push_key",
    "timeline",
    "township_sees",
]
