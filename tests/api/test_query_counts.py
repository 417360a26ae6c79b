"""The SQL statements one request of the console's light reads runs (issue 23): counted with a
SQLAlchemy event listener on the real database, so a view that goes back to a query per
counter, per flag or per line cannot come back silently. The counts hold however many
counters, lines and flags there are (the seeded data has several of each)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from storage.engine import writer
from storage.tables import Alarm, Flag, Shift, Staff, User
from tests.support.stack import AppEnv

#: Reads per request (SQLite, PostgreSQL), the token check and the rulebook in force included;
#: each request also writes its audit row: the chain's head read, then one insert.
READS = {
    "/api/v1/counters": (3, 3),            # token, counters with all they show, today's counts
    "/api/v1/interactions/{iid}": (5, 5),  # token, rulebook, the interaction with what it refers to, lines, flags
    # token, rulebook, the search pipeline's candidate queries (fewer on PostgreSQL), the page,
    # its lines, its flags and decisions
    "/api/v1/interactions?q=您好": (15, 11),
}


@contextmanager
def statements(env: AppEnv) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001
        seen.append(" ".join(statement.split()))

    event.listen(env.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(env.engine, "before_cursor_execute", note)


def _seed(env: AppEnv) -> int:
    lines = [(0.0, 2.0, "staff", "您好，请问办理什么业务？"), (2.5, 4.0, "customer", "我来交社保。"),
             (4.5, 6.0, "staff", "谢谢您，请慢走。")]
    flag = {"type": "forbidden", "rule": "F-OFF-DUTY", "phrase": "下班"}
    ids = [env.add_interaction(counter=c, duration_s=60.0, staff="张伟", segments=lines,
                               flags=[{**flag, "start_s": 1.0}, {**flag, "start_s": 3.0, "confidence": 0.5}])
           for c in ("c1", "c2", "c3")]
    with Session(writer(env.engine)) as s, s.begin():
        reviewer = s.scalar(select(User.id).limit(1))
        s.execute(update(Flag).where(Flag.interaction_id == ids[0]).values(review_state="confirmed",
                                                                           reviewed_by=reviewer))
        staff = s.scalar(select(Staff.id).where(Staff.name == "张伟"))
        for c in ("c1", "c2"):
            s.add(Shift(counter_id=env.counter_id("hall", c), staff_id=staff, start_s=0.0))
            s.add(Alarm(counter_id=env.counter_id("hall", c), kind="silent", since_s=0.0))
    return ids[0]


def test_statements_per_light_read(app_env: AppEnv) -> None:
    env = app_env
    api = env.client(env.token("supervisor", ["hall"]))
    iid = _seed(env)
    backend = 0 if env.engine.dialect.name == "sqlite" else 1
    for path, reads_on in READS.items():
        url, reads = path.format(iid=iid), reads_on[backend]
        assert api.get(url).status_code == 200      # the first use of a token notes it: a write, not counted
        with statements(env) as seen:
            r = api.get(url)
        assert r.status_code == 200, r.text
        selects = [s for s in seen if s.startswith("SELECT") and "audit_log" not in s and "pg_advisory" not in s]
        audit = [s for s in seen if "audit_log" in s]
        assert len(selects) == reads, (path, selects)
        assert len(audit) == 2 and audit[1].startswith("INSERT INTO audit_log"), (path, audit)
        assert not [s for s in seen if s.startswith(("UPDATE", "DELETE"))], (path, seen)
    # the answers still show what the joined reads brought together
    cards = {c["name"]: c for c in api.get("/api/v1/counters").json()}
    assert cards["c1"]["staff_on_duty"] == "张伟" and cards["c1"]["alarms"] == ["silent"]
    assert cards["c3"]["staff_on_duty"] is None and cards["c3"]["today_interactions"] == 1
    view = api.get(f"/api/v1/interactions/{iid}").json()
    assert [g["text"] for g in view["segments"]][0] == "您好，请问办理什么业务？"
    assert [f["review_state"] for f in view["flags"]] == ["confirmed", "confirmed"]
    assert view["flags"][0]["reviewed_by"] and view["staff"] == "张伟"
