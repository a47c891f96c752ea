"""惠农政策宣传手册: topics and entries; the office edits them, everyone signed in reads them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from console.access import db, deployment_only, done, now, record, user
from console.views import common
from handlers.policy import DEFAULT_TOPICS
from storage.models import PolicyEntry

bp = Blueprint("policy", __name__)


@bp.get("/policy")
def policy() -> Any:
    q = (request.args.get("q") or "").strip()
    topic = request.args.get("topic") or ""
    with db() as s:
        stmt = select(PolicyEntry).order_by(PolicyEntry.topic, PolicyEntry.title)
        if topic:
            stmt = stmt.where(PolicyEntry.topic == topic)
        if q:
            stmt = stmt.where(
                common.text_filter(q, PolicyEntry.title, PolicyEntry.body, PolicyEntry.keywords)
            )
        entries = list(s.scalars(stmt))
        used = list(s.scalars(select(PolicyEntry.topic).distinct()))
        topics = list(dict.fromkeys([*DEFAULT_TOPICS, *sorted(used)]))
        edit = s.get(PolicyEntry, request.args.get("edit", type=int)) if request.args.get("edit") else None
        return render_template("policy.html", entries=entries, topics=topics, topic=topic, q=q, edit=edit)


@bp.post("/policy")
@deployment_only
def policy_save() -> Any:
    f = request.form
    topic = (f.get("new_topic") or f.get("topic") or "").strip()
    title = (f.get("title") or "").strip()
    body = (f.get("body") or "").strip()
    if not topic or not title or not body:
        abort(400, description="主题、标题和内容都不能为空")
    if len(topic) > 50 or len(title) > 200:
        abort(400, description="主题不超过 50 字，标题不超过 200 字")
    entry_id = f.get("id", type=int)
    with db() as s:
        clash = s.scalar(select(PolicyEntry).where(PolicyEntry.topic == topic, PolicyEntry.title == title))
        if clash is not None and clash.id != entry_id:
            abort(400, description=f"主题“{topic}”下已有标题为“{title}”的条目")
        if entry_id:
            e = s.get(PolicyEntry, entry_id)
            if e is None:
                abort(404)
            action = "policy.edit"
        else:
            e = PolicyEntry(topic=topic, title=title, body=body)
            s.add(e)
            action = "policy.add"
        e.topic, e.title, e.body = topic, title, body
        e.keywords = (f.get("keywords") or "").strip() or None
        e.updated_at, e.updated_by = now(), f"office:{user().username}"
        s.flush()
        record(s, action, f"policy:{e.id}", topic=topic, title=title)
    return done("政策条目已保存。", "console.policy.policy", topic=topic)


@bp.post("/policy/<int:entry_id>/delete")
@deployment_only
def policy_delete(entry_id: int) -> Any:
    with db() as s:
        e = s.get(PolicyEntry, entry_id)
        if e is None:
            abort(404)
        record(s, "policy.delete", f"policy:{e.id}", topic=e.topic, title=e.title)
        s.delete(e)
    return done("政策条目已删除。", "console.policy.policy")
