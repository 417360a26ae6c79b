"""Viewers get personal numbers masked in transcripts; supervisors and admins do not."""
from __future__ import annotations

import time

PHONE, ID_CARD = "13812345678", "11010119900307123X"
TEXT = f"好的，您的电话是{PHONE}，身份证号{ID_CARD}，请稍等"


def _env(app_env):
    iid = app_env.add_interaction(wall_start_s=time.time() - 100, segments=[(0, 5, "customer", TEXT)],
                                  flags=[{"type": "forbidden", "rule": "F-TEST", "phrase": "稍等", "evidence": TEXT}])
    return iid, app_env.client(app_env.make_user("viewer")), app_env.client(app_env.make_user("supervisor"))


def test_interaction_detail_and_flags(app_env):
    iid, viewer, supervisor = _env(app_env)
    shown = viewer.get(f"/api/v1/interactions/{iid}").json()
    text = shown["segments"][0]["text"]
    assert PHONE not in text and ID_CARD not in text and "*******5678" in text and "**************123X" in text
    assert PHONE not in shown["flags"][0]["evidence"]
    assert PHONE not in viewer.get("/api/v1/flags").text
    full = supervisor.get(f"/api/v1/interactions/{iid}").json()
    assert full["segments"][0]["text"] == TEXT and full["flags"][0]["evidence"] == TEXT
    assert PHONE in supervisor.get("/api/v1/flags").text


def test_search(app_env):
    iid, viewer, supervisor = _env(app_env)
    hits = viewer.get("/api/v1/interactions/search", params={"q": "请稍等"}).json()
    assert len(hits) == 1 and PHONE not in hits[0]["text"] and PHONE not in hits[0]["snippet"]
    assert hits[0]["text"][hits[0]["hits"][0][0]:hits[0]["hits"][0][1]] == "请稍等"
    # A viewer cannot confirm a number by searching for it.
    assert viewer.get("/api/v1/interactions/search", params={"q": PHONE}).json() == []
    assert viewer.get("/api/v1/interactions/search", params={"q": "138123"}).json() == []
    assert len(viewer.get("/api/v1/interactions/search", params={"q": "5678"}).json()) == 1   # shown digits
    found = supervisor.get("/api/v1/interactions/search", params={"q": PHONE}).json()
    assert len(found) == 1 and f"【{PHONE}】" in found[0]["snippet"]
