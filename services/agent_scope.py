"""What an agent token may touch beyond its counter's chunks (issue 18): live segments of its own
recording sessions only. A session id that another counter recorded under, or that another
counter's live feed is playing, is another counter's: 403 ``agent_binding``, audited."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from services import audit
from services.accounts import Principal
from services.ingest import OtherCounter, binding
from storage.engine import read_session
from storage.tables import Counter, RecordingSession


def check_own_session(engine: Engine, user: Principal, session: str, *, client: str = "") -> None:
    """Refuse ``session`` unless no other counter holds it.

    Raises:
        NotBound; OtherCounter.
    """
    with read_session(engine) as s:
        info = binding(s, user)
        owner = s.scalar(select(RecordingSession.counter_id).where(RecordingSession.id == session))
        other_live = s.scalar(select(Counter.id).where(Counter.live_session == session, Counter.id != info.id).limit(1))
    if (owner is not None and owner != info.id) or other_live is not None:
        audit.record(engine, user, action="access.refused", target=f"session:{session}", client=client,
                     detail=f"拒绝：窗口 {info.site}/{info.name} 的采集端送来了别的窗口录音会话 {session} 的实时片段")
        raise OtherCounter(f"session {session}", info)
