"""Issue 11, item 6: the "smaller" findings, each sent as the bad input it was and answered with a
clear 4xx that names what was wrong, with nothing already stored changed (both backends; the
5000-digit Range header is in tests/api/test_playback.py, the screen account turned viewer in
tests/counterwatch/test_user_tokens.py, the overlap in tests/storage/test_integrity.py)."""
from __future__ import annotations

import struct
import time
import zlib

import pytest

from api.limits import JSON_LIMIT_BYTES
from domain.displaynames import ConfusableName
from domain.errors import Invalid
from services.accounts import add_user
from tests.support.stack import PASSWORD, AppEnv

PLAY = {"uid": "u" * 32, "kind": "playlist", "status": "played", "started_s": 1_790_000_000.0}


@pytest.mark.parametrize("password", ["1e999", "-1e999", "NaN", "Infinity", "1", "null", "[]"])
def test_a_login_password_that_is_not_a_string_is_a_422(app_env: AppEnv, password: str):
    app_env.make_user("supervisor", ["hall"], name="num-sup", password=PASSWORD)
    r = app_env.client().post("/api/v1/auth/login", content=f'{{"name": "num-sup", "password": {password}}}',
                              headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "password" in r.text, (password, r.status_code, r.text)
    assert app_env.audit_rows("login.failed") == []        # not even counted as a try


def _screen(app_env: AppEnv, name: str = "lobby", site: str = "hall"):
    sup = app_env.client(app_env.make_user("supervisor", [site]))
    r = sup.post("/api/v1/signage/screens", json={"site": site, "name": name})
    assert r.status_code == 201, r.text
    return sup, app_env.client(r.json()["token"])


def test_screen_heartbeats_refuse_huge_errors_and_counts_and_keep_the_last_good_one(app_env: AppEnv):
    sup, screen = _screen(app_env)
    assert screen.post("/api/v1/signage/screens/lobby/heartbeat",
                       json={"playing": "早间", "cache_items": 3}).status_code == 204
    before = sup.get("/api/v1/signage/screens").json()
    for body, field in (({"errors": ["x" * 1_000_000]}, "errors"), ({"cache_items": 10**40}, "cache_items"),
                        ({"errors": ["e"] * 1000}, "errors"), ({"playing": "p" * 10_000}, "playing"),
                        ({"offline_periods": [[0, 1]] * 10_000}, "offline_periods")):
        r = screen.post("/api/v1/signage/screens/lobby/heartbeat", json=body)
        if len(r.request.content) > JSON_LIMIT_BYTES:     # refused before parsing (issue 18)
            assert r.status_code == 413 and r.json()["detail"]["code"] == "body_too_large"
            continue
        assert r.status_code == 422 and field in r.text, (field, r.status_code, r.text[:300])
    after = sup.get("/api/v1/signage/screens").json()
    assert [s["status"] for s in after] == [s["status"] for s in before]
    assert len(sup.get("/api/v1/signage/screens").content) < 10_000


def test_proof_of_play_refuses_unknown_and_other_sites_ids_and_backwards_times(app_env: AppEnv):
    sup, screen = _screen(app_env)
    annex_sup, _ = _screen(app_env, "annex-door", "annex")
    theirs = annex_sup.post("/api/v1/signage/content/text", json={"site": "annex", "name": "别处", "title": "别处"})
    assert theirs.status_code == 201, theirs.text
    url = "/api/v1/signage/screens/lobby/plays"
    for row, field in (({**PLAY, "content_id": theirs.json()["id"]}, "content_id"), ({**PLAY, "playlist_id": 4242},
                       "playlist_id"), ({**PLAY, "ended_s": PLAY["started_s"] - 1}, "ended_s")):
        r = screen.post(url, json=[row])
        assert r.status_code in (404, 422) and field in r.text, (field, r.status_code, r.text)
    assert sup.get(url).json() == []
    # A uid is a screen's own: another screen's row with the same uid is its own row.
    _, door = _screen(app_env, "door")
    assert screen.post(url, json=[PLAY]).json()["added"] == 1
    assert door.post("/api/v1/signage/screens/door/plays", json=[PLAY]).json()["added"] == 1
    assert screen.post(url, json=[PLAY]).json()["added"] == 0        # a retry
    assert [p["uid"] for p in sup.get(url).json()] == [PLAY["uid"]]


def test_a_staff_name_that_is_a_formula_is_defused_in_the_csv(app_env: AppEnv):
    month = time.strftime("%Y-%m")
    app_env.add_interaction(wall_start_s=time.time() - 60, staff='=HYPERLINK("http://evil.example","点我")',
                            flags=[dict(type="forbidden", rule="F-RUDE")])
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    r = sup.get("/api/v1/reports/monthly", params={"month": month, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    assert "'=HYPERLINK(" in r.text and ',"=HYPERLINK' not in r.text and ",=HYPERLINK" not in r.text, r.text


@pytest.mark.parametrize("name", ["\u202eeliF", "王\u200b主管", "a\u2066b", "tab\tname", "\u0000x"])
def test_names_with_hidden_characters_are_refused(app_env: AppEnv, name: str):
    with pytest.raises(Invalid) as e:
        add_user(app_env.engine, name, role="admin")
    assert e.value.what == "user" or "user" in str(e.value), e.value
    # Through the API too: a signage name with a bidi control is a 422 naming it.
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    r = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": name})
    assert 400 <= r.status_code < 500 and r.status_code != 404, (r.status_code, r.text)
    assert sup.get("/api/v1/signage/screens").json() == []


def test_look_alike_names_of_existing_users_are_refused_and_names_are_nfkc(app_env: AppEnv):
    add_user(app_env.engine, "Anna", role="admin")
    for lookalike in ("\u0410nna", "Ann\u0430", "\u0410nn\u0430"):   # Cyrillic А / а
        with pytest.raises(ConfusableName, match="looks like the existing user 'Anna'"):
            add_user(app_env.engine, lookalike, role="admin")
    with pytest.raises(ConfusableName):
        add_user(app_env.engine, "ANNA", role="admin")           # the same but for case
    made = add_user(app_env.engine, "Ｂｏｂ", role="admin")      # full-width: stored NFKC
    assert made.name == "Bob"


def _png(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` (one tiny IDAT: the pixels are never there)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(30000, 30000), (9000, 10), (7000, 7000)])
def test_an_image_declaring_too_many_pixels_is_refused_and_nothing_is_stored(app_env: AppEnv, size):
    sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
    keys = set(app_env.store.iter_keys(""))
    r = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "巨大.png"}, content=_png(*size))
    assert r.status_code == 422 and r.json()["detail"]["code"] == "image_too_large", r.text
    assert sup.get("/api/v1/signage/content", params={"site": "hall"}).json() == []
    assert set(app_env.store.iter_keys("")) == keys
    # A polyglot (an HTML page after a PNG header) is served as what it was stored as, never sniffed.
    poly = _png(2, 2) + b"<html><script>alert(1)</script></html>"
    ok = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "poly.png"}, content=poly)
    assert ok.status_code == 201, ok.text
    got = sup.get(f"/api/v1/signage/content/{ok.json()['id']}")
    assert got.headers["x-content-type-options"] == "nosniff" and got.headers["content-type"] == "image/png"
    assert "default-src 'none'" in got.headers["content-security-policy"]


def test_a_screens_now_serving_cursor_does_not_move_with_another_sites_events(app_env: AppEnv):
    _, screen = _screen(app_env)
    admin = app_env.client(app_env.make_user("admin"))
    assert admin.post("/api/v1/events", json={"site": "hall", "counter": "c1", "kind": "queue_call",
                                              "ticket": "A001"}).status_code == 201
    cursor = screen.get("/api/v1/signage/screens/lobby/manifest").json()["serving_cursor"]
    for n in range(3):
        assert admin.post("/api/v1/events", json={"site": "annex", "counter": "a1", "kind": "queue_call",
                                                  "ticket": f"B00{n}"}).status_code == 201
    r = screen.get("/api/v1/signage/screens/lobby/serving", params={"since": cursor})
    assert r.status_code == 204, r.text                 # nothing of the other site shows, not even a tick
    assert admin.post("/api/v1/events", json={"site": "hall", "counter": "c1", "kind": "queue_call",
                                              "ticket": "A002"}).status_code == 201
    r = screen.get("/api/v1/signage/screens/lobby/serving", params={"since": cursor})
    assert r.status_code == 200 and r.json()["cursor"] != cursor and "B00" not in r.text, r.text
