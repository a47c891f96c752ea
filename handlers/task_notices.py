"""What a card's pushes say: the words storage/tasks' push-making functions take (``words=``).

storage/tasks decides who is told and under which key, in the caller's transaction, but renders no chat text.
This module writes the words from the .txt.j2 templates (handlers/templates: task_published, task_returned,
extension_requested / granted / refused): ``*_words`` make them; the wrappers below pass them for the chat's
延期 and the publish_tasks job. The console and the CLI call storage.tasks themselves, with these words from
``Lianxin.words`` (handlers/wording.py, wired by bot.app.build), so no office door goes through a chat handler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.render import render
from storage import tasks
from storage.models import Task, TaskAssignment
from storage.outbox import push_time
from storage.periods import local_text
from storage.tasks import DEFAULT_TZ


def published_words(tz: ZoneInfo, office: str = "") -> tasks.PushWords:
    """The push of a newly published card: its text and its named values (PRODUCT.md "Pushes": task)."""

    def words(task: Task) -> dict[str, Any]:
        text = render("task_published", task=task, deadline=local_text(task.deadline, tz))
        template = {
            "number": str(task.number),
            "title": task.title,
            "deadline": push_time(task.deadline, tz),
            "office": office or "联户办",
        }
        return {"text": text, "template": template}

    return words


def create_task(session: Any, *, tz: ZoneInfo = DEFAULT_TZ, office: str = "", **card: Any) -> Task:
    """storage.tasks.create_task, its pushes worded here (``office``: the issuing township, shown in templates)."""
    return tasks.create_task(session, tz=tz, words=published_words(tz, office), **card)


def publish(session: Any, task: Task, *, now: datetime, tz: ZoneInfo = DEFAULT_TZ, office: str = "") -> int:
    """storage.tasks.publish, its pushes worded here."""
    return tasks.publish(session, task, now=now, words=published_words(tz, office))


def publish_due(session: Any, *, now: datetime, tz: ZoneInfo = DEFAULT_TZ, office: str = "") -> list[Task]:
    """storage.tasks.publish_due (the publish_tasks job), its pushes worded here."""
    return tasks.publish_due(session, now=now, words=published_words(tz, office))


def extension_requested_words(tz: ZoneInfo) -> tasks.NoticeWords:
    """The office's notice of a cadre's 延期 request."""

    def words(a: TaskAssignment) -> str:
        assert a.extension_requested_until is not None and a.extension_reason is not None
        return render(
            "extension_requested",
            task=a.task,
            cadre=a.cadre,
            until=local_text(a.extension_requested_until, tz),
            reason=a.extension_reason,
        )

    return words


def returned_words(reason: str) -> tasks.NoticeWords:
    """The cadre's notice of feedback sent back (退回) for ``reason``."""
    # storage strips the reason before it is stored; the notice shows the same stripped reason.
    return lambda a: render("task_returned", task=a.task, reason=(reason or "").strip())


def extension_answered_words(tz: ZoneInfo, reason: str = "") -> tasks.NoticeWords:
    """The cadre's notice of the office's answer to a 延期 request (granted, or refused for ``reason``)."""

    def words(a: TaskAssignment) -> str:
        if a.extension_status == "granted":
            return render("extension_granted", task=a.task, deadline=local_text(a.deadline, tz))
        return render("extension_refused", task=a.task, deadline=local_text(a.deadline, tz), reason=reason)

    return words


def request_extension(session: Any, *, tz: ZoneInfo = DEFAULT_TZ, **request: Any) -> TaskAssignment:
    """storage.tasks.request_extension (延期), the office's notice worded here."""
    return tasks.request_extension(session, tz=tz, words=extension_requested_words(tz), **request)


def return_feedback(session: Any, *, reason: str, **answer: Any) -> TaskAssignment:
    """storage.tasks.return_feedback (退回), the cadre's notice worded here."""
    return tasks.return_feedback(session, reason=reason, words=returned_words(reason), **answer)


def answer_extension(
    session: Any, *, reason: str = "", tz: ZoneInfo = DEFAULT_TZ, **answer: Any
) -> TaskAssignment:
    """storage.tasks.answer_extension, the cadre's notice worded here."""
    return tasks.answer_extension(
        session, reason=reason, tz=tz, words=extension_answered_words(tz, reason), **answer
    )
