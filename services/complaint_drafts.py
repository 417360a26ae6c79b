"""Drafts of complaint forms, kept on the server for their author only.

Why on the server: a complaint draft holds personal data (the complainant's name, phone number,
what happened). A hall PC's browser storage is readable by whoever uses the PC next and is never
cleaned up; the server keeps the draft where only its author can read it (every request is
authenticated), drops it when the complaint is filed or answered, and forgets drafts older than
:data:`DRAFT_TTL_S`. The console saves a draft a moment after each change and keeps the typed
text in memory across a session expiry, then saves it again once its author has logged back in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import TooLarge
from services.accounts import Principal
from storage.engine import write_session
from storage.tables import ComplaintDraft, now_s

DRAFT_TTL_S = 7 * 86400.0
MAX_DRAFT_BYTES = 20_000


@dataclass(frozen=True)
class DraftView:
    key: str
    data: dict
    updated_s: float


def get_draft(db: Session, user: Principal, key: str) -> DraftView | None:
    row = db.scalar(select(ComplaintDraft).where(ComplaintDraft.user_id == user.id, ComplaintDraft.key == key,
                                                 ComplaintDraft.updated_s >= now_s() - DRAFT_TTL_S))
    return DraftView(row.key, row.data, row.updated_s) if row else None


def save_draft(engine: Engine, user: Principal, key: str, data: dict) -> DraftView:
    """Keep ``data`` as the user's draft ``key`` (replacing the last); older drafts are dropped.

    Raises:
        TooLarge ``draft_too_large``: over MAX_DRAFT_BYTES as JSON.
    """
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_DRAFT_BYTES:
        raise TooLarge("complaint draft", f"larger than {MAX_DRAFT_BYTES} bytes", code="draft_too_large")
    now = now_s()
    with write_session(engine) as s:
        s.execute(delete(ComplaintDraft).where(ComplaintDraft.updated_s < now - DRAFT_TTL_S))
        row = s.scalar(select(ComplaintDraft).where(ComplaintDraft.user_id == user.id, ComplaintDraft.key == key))
        if row is None:
            row = ComplaintDraft(user_id=user.id, key=key)
            s.add(row)
        row.data, row.updated_s = data, now
        return DraftView(key, data, now)


def delete_draft(engine: Engine, user: Principal, key: str) -> None:
    with write_session(engine) as s:
        s.execute(delete(ComplaintDraft).where(ComplaintDraft.user_id == user.id, ComplaintDraft.key == key))
