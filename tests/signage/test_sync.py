"""The player's link to the API (``signage.sync``) against the real API served by uvicorn:
the now-serving rows follow the server, also when a database restore takes the events'
newest id (the fast poll's cursor) back."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from signage_helpers import serve, wait_for
from sqlalchemy import delete, text

from signage.sync import ApiClient, ContentCache, Syncer
from storage.tables import Event


def _restore_to(engine, last_id: int) -> None:  # noqa: ANN001
    """What a restore of an older backup does to the events: the newer rows are gone and new
    ids start again after the restored ones."""
    with engine.begin() as conn:
        conn.execute(delete(Event).where(Event.id > last_id))
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('events', 'id'), :n)"), {"n": last_id})


def test_now_serving_follows_the_server_after_a_restore(app_env, tmp_path: Path) -> None:  # noqa: ANN001
    env = app_env
    sup = env.client(env.make_user("supervisor"))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]

    def call(ticket: str) -> int:
        return env.catalog.add_event("hall", "c1", kind="queue_call", at_s=time.time(), payload={"ticket": ticket})
    ids = [call(f"A00{i}") for i in range(1, 5)]
    server, thread, port = serve(env.app, 0)
    cache = ContentCache(tmp_path / "cache")

    def start() -> tuple[Syncer, threading.Event, threading.Thread]:
        syncer = Syncer(client=ApiClient(base_url=f"http://127.0.0.1:{port}", token=token), screen="lobby",
                        cache=cache, poll_s=0.5, calls_poll_s=0.1, heartbeat_s=60.0, max_backoff_s=1.0)
        stop = threading.Event()
        t = threading.Thread(target=syncer.run, args=(stop,))
        t.start()
        return syncer, stop, t

    def ticket(syncer: Syncer) -> str | None:
        rows = (syncer.snapshot()[0] or {}).get("now_serving") or []
        return next((r["ticket"] for r in rows if r["counter"] == "c1"), None)

    syncer, stop, t = start()
    try:
        wait_for(lambda: ticket(syncer) == "A004", 10, "A004 on the ticker")
        # restored to a backup with two calls: the ticker follows though the cursor went down ...
        _restore_to(env.engine, ids[1])
        wait_for(lambda: ticket(syncer) == "A002", 5, "A002 after the restore")
        # ... and a new call, whose id is below the ones seen before the restore, shows too
        call("B001")
        wait_for(lambda: ticket(syncer) == "B001", 5, "B001 after the restore")
        stop.set()
        t.join(10)
        # restarted from its cache (B001 in the cached manifest) after another restore
        _restore_to(env.engine, ids[1])
        syncer, stop, t = start()
        assert ticket(syncer) == "B001"     # what the cache holds, until the server answers
        wait_for(lambda: ticket(syncer) == "A002", 5, "A002 after a restart")
        call("C001")
        wait_for(lambda: ticket(syncer) == "C001", 5, "C001 after a restart")
    finally:
        stop.set()
        t.join(10)
        server.should_exit = True
        thread.join(10)


def test_proof_of_play_journal_is_emptied_once_everything_is_sent(tmp_path: Path) -> None:
    """A screen runs for months: sent rows must not pile up in the journal it reads every round."""
    cache = ContentCache(tmp_path / "cache")
    for n in range(3):
        cache.record({"uid": f"play-{n:04d}", "n": n})
    sent, rows = cache.unsent()
    assert (sent, [r["n"] for r in rows]) == (0, [0, 1, 2])
    cache.mark_sent(2)                                   # a partial send keeps the rest
    assert [r["n"] for r in cache.unsent()[1]] == [2]
    cache.record({"uid": "play-0003", "n": 3})
    sent, rows = cache.unsent()
    cache.mark_sent(sent + len(rows))                    # all sent: the journal starts again
    assert (tmp_path / "cache" / "plays.jsonl").read_text(encoding="utf-8") == ""
    assert cache.unsent() == (0, [])
    cache.record({"uid": "play-0004", "n": 4})
    assert [r["n"] for r in cache.unsent()[1]] == [4]


def test_refused_play_rows_neither_jam_the_journal_nor_the_heartbeats(app_env, tmp_path: Path) -> None:  # noqa: ANN001
    """Issue 24: a schedule deleted while it played made its proof-of-play row 422 forever, and the
    rows and heartbeats after it never went. Now the row goes without the gone reference, a row
    refused all the same is dropped, the rows after them go, and the heartbeat goes regardless
    (also one carrying more offline periods and longer errors than the API takes)."""
    env = app_env
    sup = env.client(env.make_user("supervisor"))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    text_id = sup.post("/api/v1/signage/content/text", json={"site": "hall", "name": "t", "title": "温馨提示",
                                                              "body": "请保管好随身物品"}).json()["id"]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p",
                                                     "items": [{"content_id": text_id, "duration_s": 10}]}).json()["id"]
    sched = sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl, "screens": ["lobby"]}).json()
    cache = ContentCache(tmp_path / "cache")
    now = time.time()

    def row(uid: str, **refs) -> dict:  # noqa: ANN003
        return {"uid": uid, "kind": "playlist", "status": "played", "content_id": text_id, "playlist_id": pl,
                "schedule_id": sched["id"], "interrupt_id": None, "started_s": now - 20, "ended_s": now - 10,
                "reason": "", **refs}
    cache.record(row("on-air-when-deleted"))
    assert sup.delete(f"/api/v1/signage/schedules/{sched['id']}").status_code in (200, 204)
    cache.record(row("bad-beyond-repair", ended_s=now - 30))       # ends before it starts: 422 whatever its refs
    cache.record(row("after-them", schedule_id=None))
    server, thread, port = serve(env.app, 0)
    try:
        syncer = Syncer(client=ApiClient(base_url=f"http://127.0.0.1:{port}", token=token), screen="lobby",
                        cache=cache, heartbeat_s=0.0)
        syncer._unsent_offline = [(now - 1000 + i, now - 999 + i) for i in range(150)]
        syncer.report_error("x" * 2000)
        syncer.sync_once()
        stored = {r["uid"]: r for r in sup.get("/api/v1/signage/screens/lobby/plays").json()}
        assert set(stored) == {"on-air-when-deleted", "after-them"}, stored
        assert stored["on-air-when-deleted"]["schedule_id"] is None
        assert stored["on-air-when-deleted"]["content_id"] == text_id
        assert cache.unsent() == (0, [])                  # nothing left to jam the next round
        screen = sup.get("/api/v1/signage/screens").json()[0]
        assert screen["last_heartbeat_s"] is not None and screen["last_heartbeat_s"] >= now - 1, screen
        assert len(screen["status"]["offline_periods"]) == 50
        # a later round: the next row goes straight through
        cache.record(row("next-round", schedule_id=None))
        syncer.sync_once()
        assert "next-round" in {r["uid"] for r in sup.get("/api/v1/signage/screens/lobby/plays").json()}
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_notice_does_not_wait_for_the_manifest_poll(app_env, tmp_path: Path) -> None:  # noqa: ANN001
    """The fast poll (every 0.1 s here) sees the notices in force change and fetches the manifest
    at once: a notice started and cleared reaches the player in well under the 30 s manifest poll."""
    env = app_env
    sup = env.client(env.make_user("supervisor"))
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    server, thread, port = serve(env.app, 0)
    syncer = Syncer(client=ApiClient(base_url=f"http://127.0.0.1:{port}", token=token), screen="lobby",
                    cache=ContentCache(tmp_path / "cache"), poll_s=30.0, calls_poll_s=0.1, heartbeat_s=60.0)
    stop = threading.Event()
    t = threading.Thread(target=syncer.run, args=(stop,))
    t.start()

    def notices() -> list[str]:
        return [i["title"] for i in ((syncer.snapshot()[0] or {}).get("schedule") or {}).get("interrupts", [])]
    try:
        wait_for(lambda: syncer.snapshot()[0] is not None, 10, "first manifest")
        time.sleep(0.5)                      # past the first fast answers
        t0 = time.monotonic()
        it = sup.post("/api/v1/signage/interrupts", json={"site": "hall", "title": "紧急通知", "body": "请有序离场"}).json()
        took = wait_for(lambda: notices() == ["紧急通知"], 10, "the notice in the manifest")
        print(f"notice reached the player's manifest {time.monotonic() - t0:.2f} s after its POST (manifest poll 30 s)")
        assert took < 10
        sup.post(f"/api/v1/signage/interrupts/{it['id']}/clear")
        wait_for(lambda: notices() == [], 10, "the notice gone")
    finally:
        stop.set()
        t.join(10)
        server.should_exit = True
        thread.join(10)
