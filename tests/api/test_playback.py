"""Playback (WAV with Range) and evidence download over real stored FLAC chunks, on SQLite and
PostgreSQL: exact bytes, seeking without decoding everything, audit rows, site scope."""
from __future__ import annotations

import hashlib
import io
import uuid
import wave

import numpy as np
import pytest
from sqlalchemy.orm import Session

from domain.flac import decode_flac
from services.audio import WAV_HEADER_BYTES, RangeNotSatisfiable, parse_range, wav_header
from storage.tables import Chunk, RecordingSession
from tests.support.stack import RATE, AppEnv

API = "/api/v1/interactions"
START, END = int(1.3 * RATE) + 7, int(20.7 * RATE) + 3     # not on chunk or frame-block edges


@pytest.fixture()
def recorded(app_env: AppEnv, speech: np.ndarray):
    """One session of real speech in 2 s chunks, and an interaction inside it; returns
    (interaction id, expected WAV bytes, the interaction's samples)."""
    sess = app_env.store_session(speech, chunk_s=2.0)
    iid = app_env.add_interaction(session=sess.id, start_sample=START, end_sample=END,
                                    segments=[(0.5, 2.0, "S", "您好")])
    pcm = speech[START:END]
    wav = wav_header(sample_rate_hz=RATE, channels=2, data_bytes=pcm.size * 2) + pcm.astype("<i2").tobytes()
    return iid, wav, pcm


def _fetches(app_env: AppEnv, monkeypatch) -> list[str]:
    """Record the keys the app reads from the store."""
    got: list[str] = []
    real = app_env.store.get_bytes

    def get_bytes(key: str, **kw) -> bytes:
        got.append(key)
        return real(key, **kw)

    monkeypatch.setattr(app_env.store, "get_bytes", get_bytes)
    return got


def test_whole_file_is_a_valid_wav_of_the_stored_samples(app_env: AppEnv, recorded):
    iid, wav, pcm = recorded
    # the whole file is a download: not for a viewer (no export right; issue 18)
    r = app_env.client(app_env.token("viewer")).get(f"{API}/{iid}/audio")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "export_forbidden"
    assert app_env.audit_rows("audio.download") == []
    tok = app_env.token("supervisor")
    for _ in range(2):       # each download its own row, however soon after the last
        r = app_env.client(tok).get(f"{API}/{iid}/audio")
    assert r.status_code == 200, r.text
    rows = app_env.audit_rows("audio.download")
    assert len(rows) == 2 and all(r.target == f"interaction:{iid}" and "下载整段 WAV" in r.detail for r in rows)
    assert app_env.audit_rows("audio.play") == []
    assert r.headers["content-type"] == "audio/wav" and r.headers["accept-ranges"] == "bytes"
    assert int(r.headers["content-length"]) == WAV_HEADER_BYTES + pcm.size * 2 == len(r.content)
    assert r.content == wav
    with wave.open(io.BytesIO(r.content)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (2, 2, RATE, END - START)
        got = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    assert np.array_equal(got, pcm)


@pytest.mark.parametrize("header,first,last", [
    ("bytes=0-99", 0, 99),                     # first bytes: header and a little audio
    ("bytes=300001-400002", 300001, 400002),    # the middle, not on frame edges
    ("bytes=-100", None, None),                # suffix: the last 100 bytes
    ("bytes=500000-", 500000, None),           # open-ended
    ("bytes=10-999999999", 10, None),          # past the end: cut to the end
    ("bytes=40-47", 40, 47),                   # across the header's end
])
def test_ranges_serve_the_exact_bytes(app_env: AppEnv, recorded, header, first, last):
    iid, wav, _ = recorded
    size = len(wav)
    first = size - 100 if first is None else first
    last = size - 1 if last is None else last
    r = app_env.client(app_env.token("viewer")).get(f"{API}/{iid}/audio", headers={"Range": header})
    assert r.status_code == 206, r.text
    assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert int(r.headers["content-length"]) == last - first + 1
    assert r.content == wav[first:last + 1]


def test_a_seek_decodes_to_the_stored_samples_and_reads_only_its_chunks(app_env: AppEnv, recorded, monkeypatch):
    iid, _, pcm = recorded
    client = app_env.client(app_env.token("supervisor"))
    fetched = _fetches(app_env, monkeypatch)
    frame0, frames = 180_000, 4_000                  # 11.25 s into the interaction, 0.25 s
    a = WAV_HEADER_BYTES + frame0 * 4
    r = client.get(f"{API}/{iid}/audio", headers={"Range": f"bytes={a}-{a + frames * 4 - 1}"})
    assert r.status_code == 206
    assert np.array_equal(np.frombuffer(r.content, "<i2").reshape(-1, 2), pcm[frame0:frame0 + frames])
    assert len(fetched) == 1, fetched                # one 2 s chunk of the ten
    absolute = START + frame0
    assert fetched[0].endswith(f"/{absolute // (2 * RATE):08d}.flac")


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0", "bytes=500-400", "bytes=x-1", "bytes=-",
                                    "bytes=" + "9" * 5000 + "-"])
def test_unsatisfiable_ranges_are_416(app_env: AppEnv, recorded, header):
    iid, wav, _ = recorded
    r = app_env.client(app_env.token("viewer")).get(f"{API}/{iid}/audio", headers={"Range": header})
    assert r.status_code == 416, (header, r.status_code)
    assert r.headers["content-range"] == f"bytes */{len(wav)}"


def test_ignored_ranges_send_the_whole_file(app_env: AppEnv, recorded):
    iid, wav, _ = recorded
    client = app_env.client(app_env.token("supervisor"))
    for headers in ({"Range": "bytes=0-1,5-6"}, {"Range": "items=0-1"},
                    {"Range": "bytes=0-1", "If-Range": '"another-version"'}):
        r = client.get(f"{API}/{iid}/audio", headers=headers)
        assert r.status_code == 200 and r.content == wav, headers
    etag = r.headers["etag"]
    r = client.get(f"{API}/{iid}/audio", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert r.status_code == 206 and r.content == wav[:2]


def test_parse_range():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-0", 100) == (0, 0)
    assert parse_range("bytes=-500", 100) == (0, 99)
    assert parse_range("BYTES = 5 - ", 100) == (5, 99)
    for bad in ("bytes=100-", "bytes=-0", "bytes=3-2", "bytes=", "bytes=a-b"):
        with pytest.raises(RangeNotSatisfiable):
            parse_range(bad, 100)


def test_playback_is_audited_once_per_minute_per_user(app_env: AppEnv, recorded):
    iid, _, _ = recorded
    tok = app_env.token("supervisor")
    client = app_env.client(tok)
    for header in ("bytes=0-", "bytes=1000-2000", "bytes=-100"):
        assert client.get(f"{API}/{iid}/audio", headers={"Range": header}).status_code == 206
    rows = app_env.audit_rows("audio.play")
    assert len(rows) == 1
    row = rows[0]
    assert (row.user_name, row.target, row.client) == (app_env.names[tok], f"interaction:{iid}", "testclient")
    assert row.detail.startswith("窗口 hall/c1 录音会话 ")
    other = app_env.token("viewer")
    assert app_env.client(other).get(f"{API}/{iid}/audio", headers={"Range": "bytes=0-9"}).status_code == 206
    assert [r.user_name for r in app_env.audit_rows("audio.play")] == [app_env.names[tok], app_env.names[other]]
    # The row is there before the audio: a refused range writes none, an accepted one was counted.
    assert client.get(f"{API}/{iid}/audio", headers={"Range": "bytes=99999999-"}).status_code == 416
    assert len(app_env.audit_rows("audio.play")) == 2


@pytest.mark.parametrize("fmt", ["flac", "wav"])
def test_evidence_download_has_a_checksum_and_is_audited(app_env: AppEnv, recorded, fmt):
    iid, wav, pcm = recorded
    tok = app_env.token("supervisor")
    r = app_env.client(tok).get(f"{API}/{iid}/evidence", params={"format": fmt})
    assert r.status_code == 200, r.text
    digest = hashlib.sha256(r.content).hexdigest()
    assert r.headers["x-content-sha256"] == digest
    assert r.headers["content-type"] == f"audio/{fmt}"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="hall_c1_') and disposition.endswith(f'_i{iid}.{fmt}"')
    got = decode_flac(r.content) if fmt == "flac" else r.content
    assert np.array_equal(got, pcm) if fmt == "flac" else got == wav
    (row,) = app_env.audit_rows("audio.download")
    assert (row.user_name, row.target) == (app_env.names[tok], f"interaction:{iid}")
    assert f"sha256 {digest}" in row.detail and row.detail.startswith("窗口 hall/c1 下载证据文件 ")


def test_site_scope_roles_and_authentication(app_env: AppEnv, recorded):
    iid, _, _ = recorded
    annex = app_env.token("supervisor", ["annex"])
    for path in (f"{API}/{iid}/audio", f"{API}/{iid}/evidence"):
        r = app_env.client(annex).get(path, headers={"Range": "bytes=0-99"})
        assert r.status_code == 404 and r.json()["detail"]["code"] == "interaction_not_found"
        assert r.json()["detail"]["what"] == f"interaction {iid}"
        assert app_env.client().get(path).status_code == 401
        assert app_env.client(app_env.token("agent", [])).get(path).status_code == 403
    assert app_env.client(app_env.token("viewer")).get(f"{API}/{iid}/evidence").status_code == 403
    assert app_env.audit_rows("audio.play") == [] and app_env.audit_rows("audio.download") == []
    # Ids are integers in range; anything else never reaches the catalog or the store.
    sup = app_env.client(app_env.token("supervisor"))
    for bad in ("..%2F..%2Fetc", "1.5", "-1", "0", "2147483648", "hall%2Fc1%2F00000001.flac"):
        assert sup.get(f"{API}/{bad}/audio").status_code in (404, 422), bad


def test_missing_and_damaged_audio(app_env: AppEnv, recorded, speech: np.ndarray):
    iid, _, _ = recorded
    client = app_env.client(app_env.token("supervisor"))
    with Session(app_env.engine) as s:
        keys = [c.key for c in s.query(Chunk).order_by(Chunk.seq)]
    # Samples the catalog does not cover (retention removed them): 404 before any audit.
    gap = app_env.add_interaction(session=app_env.store_session(speech[:RATE * 4], chunk_s=2.0).id,
                                    start_sample=0, end_sample=RATE * 6)
    assert client.get(f"{API}/{gap}/audio").status_code == 404
    assert client.get(f"{API}/{gap}/evidence").status_code == 404
    # An object whose bytes changed fails its SHA-256: loud, not silently served.
    app_env.store.put_bytes(keys[0], b"not the recorded audio")
    r = client.get(f"{API}/{iid}/audio", headers={"Range": "bytes=0-99"})
    assert r.status_code == 500 and "damaged" in r.json()["detail"]["reason"]
    assert client.get(f"{API}/{iid}/evidence").status_code == 500
    # An object gone from the store.
    app_env.store.delete(keys[0], evidence=True)
    assert client.get(f"{API}/{iid}/audio", headers={"Range": "bytes=0-99"}).status_code == 404


def test_catalog_keys_with_path_tricks_are_refused(app_env: AppEnv):
    """Keys come from the catalog only; one that tries to climb out of its prefix is refused
    by the store layer and never fetched."""
    counter_id = app_env.counter_id("hall", "c1")
    with Session(app_env.engine) as s, s.begin():
        sid = uuid.uuid4().hex
        s.add(RecordingSession(id=sid, counter_id=counter_id, wall_start_s=1e9,
                        sample_rate_hz=RATE, channels=2))
        s.flush()
        s.add(Chunk(counter_id=counter_id, session_id=sid, seq=0, start_sample=0,
                    samples=RATE, sample_rate_hz=RATE, channels=2, codec="flac", sha256="0" * 64, size_bytes=1,
                    key="hall/c1/../../../etc/passwd", wall_start_s=1e9, rms_dbfs=-30, peak_dbfs=-6))
    iid = app_env.add_interaction(session=sid, start_sample=0, end_sample=RATE)
    r = app_env.client(app_env.token("supervisor")).get(f"{API}/{iid}/audio")
    assert r.status_code == 500 and "damaged" in r.json()["detail"]["reason"]
