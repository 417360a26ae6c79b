"""Migration h21_hall_systems: every complaint made before it gets its work order of kind
complaint (open ones open, answered ones replied with the finding and the answer's time)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage import schema
from storage.engine import make_engine


def test_existing_complaints_become_work_orders(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    schema.upgrade(engine, "0020")
    with engine.begin() as c:
        c.execute(text("INSERT INTO sites (id, name, title, timezone, retention_days) "
                       "VALUES (1, 'hall', '', 'Asia/Shanghai', 180)"))
        c.execute(text("INSERT INTO complaints (id, site_id, received_s, complainant, summary, due_s, state, finding,"
                       " answered_s) VALUES (1, 1, 100, '张三', '态度差', 500, 'open', '', NULL),"
                       " (2, 1, 200, '', '排队久', 600, 'answered', '已整改', 300)"))
    schema.upgrade(engine)
    with engine.connect() as c:
        rows = c.execute(text("SELECT complaint_id, kind, state, title, received_s, due_s, replied_s, reply"
                              " FROM work_orders ORDER BY complaint_id")).all()
    assert [tuple(r) for r in rows] == [(1, "complaint", "open", "态度差", 100.0, 500.0, None, ""),
                                        (2, "complaint", "replied", "排队久", 200.0, 600.0, 300.0, "已整改")]
