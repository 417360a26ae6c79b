"""What capture agents send, received through the API (issue 11): chunks, live segments,
heartbeats and session ends, each for the agent's own counter only.

An agent holds a token bound to one counter (``users.counter_id``) and no database URL or store
key. Everything it claims is checked here: a chunk's body against its sha256, size and FLAC
STREAMINFO (samples, rate, channels, 16 bits); its session against the counter and format it
started with. The object key is derived here (:attr:`domain.chunks.ChunkMeta.key`), never taken
from the agent.

Write-once evidence: the first upload of a session's chunk number claims it with its sha256 in a
committed row (``chunk_claims``) before anything is written, so no other content can ever be
written under that key; the same chunk again is idempotent. The object is then checked for
(``stat``) and written with ``If-None-Match: *``, which MinIO and S3 honour and rclone serve s3
ignores. A different chunk under a claimed number is refused (:class:`ChunkConflict`, 409 with
both hashes), raises the counter's ``chunk-conflict`` alarm and is audited; the stored chunk
stays as it was. The claim is committed on its own rather than holding a row lock over the PUT:
on SQLite that lock would stall every writer for as long as a slow or absent store takes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.chunks import ChunkHeader, ChunkMeta, live_key, live_prefix, object_metadata
from domain.errors import Forbidden
from domain.flac import CODEC, CONTENT_TYPE, CodecError, DecodedChunk, flac_streaminfo
from domain.names import check_session
from services import audit
from services.accounts import Principal
from services.alarms import set_counter_alarm
from services.catalog import Catalog, ChunkConflict, CounterInfo
from services.evidence import (
    ChunkMismatch,
    ChunkReplay,
    EvidenceLimits,
    Replay,
    check_place,
    check_time,
    decoded,
    replayed_from,
)
from storage.engine import read_session, write_session
from storage.objects import ObjectStore
from storage.store_errors import ObjectExists, StoreError
from storage.tables import Alarm, ApiToken, ChunkClaim, Counter, RecordingSession, Site, now_s

logger = logging.getLogger(__name__)

#: The largest chunk body taken (a 300 s stereo chunk of FLAC is about 12 MB).
MAX_CHUNK_BYTES = 32 * 1024 * 1024
MAX_LIVE_BYTES = 4 * 1024 * 1024
#: The longest chunk taken (agents cut 10 s by default, 300 s at most: settings ``chunk_s``).
MAX_CHUNK_S = 300
#: Live segments kept per counter in the store (the newest); older ones are deleted.
LIVE_KEEP = 30
CONFLICT = "chunk-conflict"
REPLAY = "chunk-replay"


class NotBound(Forbidden):
    code = "agent_unbound"

    def __init__(self) -> None:
        super().__init__("token", "is not an agent token bound to a counter (counterwatch agent token)")


class OtherCounter(Forbidden):
    """The agent names, or writes into a session of, a counter its token is not for."""

    code = "agent_binding"

    def __init__(self, what: str, bound: CounterInfo) -> None:
        super().__init__(what, f"this token writes for counter {bound.site}/{bound.name} only",
                         site=bound.site, counter=bound.name)


def binding(db: Session, user: Principal) -> CounterInfo:
    """The counter an agent's token writes for.

    Raises:
        NotBound: not a bound agent token (or its counter is gone).
    """
    if user.role != "agent" or user.counter_id is None:
        raise NotBound()
    row = db.execute(select(Counter, Site).join(Site, Counter.site_id == Site.id)
                     .where(Counter.id == user.counter_id)).first()
    if row is None or not user.can_see(row[1].name):
        raise NotBound()
    c, st = row
    return CounterInfo(c.id, st.name, c.name, c.channels, st.timezone)


@dataclass(frozen=True)
class Hello:
    """What an agent learns about itself: its counter, the counter's channel map, and when its
    token expires (None: never)."""

    site: str
    counter: str
    channels: str
    token_expires_s: float | None
    #: the counter's id: its queue buttons are ``/queue/counters/<id>/<action>`` (a hardware call button)
    counter_id: int | None = None


def hello(db: Session, user: Principal) -> Hello:
    info = binding(db, user)
    expires = db.scalar(select(ApiToken.expires_s).where(ApiToken.id == user.token_id))
    return Hello(info.site, info.name, info.channels, expires, info.id)


@dataclass(frozen=True)
class ChunkReceipt:
    key: str
    sha256: str
    #: False: this chunk was stored before (a retry after a lost answer).
    new: bool


def check_body(claimed: ChunkHeader, data: bytes) -> DecodedChunk:
    """Refuse a body that is not what ``claimed`` says; it is decoded whole (issue 18), and
    what it holds returned.

    Raises:
        ChunkMismatch: naming the first field that differs.
    """
    got = hashlib.sha256(data).hexdigest()
    if claimed.samples > MAX_CHUNK_S * claimed.sample_rate_hz:
        raise ChunkMismatch("chunk", f"states {claimed.samples} samples, more than {MAX_CHUNK_S} s at "
                            f"{claimed.sample_rate_hz} Hz", field="samples")
    if len(data) != claimed.size_bytes:
        raise ChunkMismatch("chunk body", f"has {len(data)} bytes, the metadata says {claimed.size_bytes}",
                            field="size_bytes")
    if got != claimed.sha256.lower():
        raise ChunkMismatch("chunk body", f"has sha256 {got}, the metadata says {claimed.sha256}", field="sha256",
                            body_sha256=got)
    try:
        info = flac_streaminfo(data)
    except CodecError as e:
        raise ChunkMismatch("chunk body", f"is not FLAC: {e.reason}", field="body") from e
    for field, header, said in (("samples", info.samples, claimed.samples),
                                ("sample_rate_hz", info.sample_rate_hz, claimed.sample_rate_hz),
                                ("channels", info.channels, claimed.channels), ("bits_per_sample", info.bits_per_sample, 16)):
        if header != said:
            raise ChunkMismatch("chunk body", f"FLAC header says {field}={header}, the metadata says {said}",
                                field=field)
    return decoded(data, samples=claimed.samples, sample_rate_hz=claimed.sample_rate_hz, channels=claimed.channels)


def retain_until(meta: ChunkMeta, retention_days: float | None) -> dt.datetime | None:
    """Until when a chunk's object stays locked (where the bucket has Object Lock): its capture
    time plus the site's retention. The store writes a date already past unlocked."""
    if retention_days is None:
        return None
    return dt.datetime.fromtimestamp(meta.wall_start_s, dt.UTC) + dt.timedelta(days=retention_days)


def _claim(engine: Engine, info: CounterInfo, meta: ChunkMeta, audio: DecodedChunk) -> str | Replay | None:
    """Claim (session, seq) for ``meta``, or find the chunk registered or claimed already.
    Returns None when ``meta`` holds the claim, "registered" when this very chunk is catalogued,
    the sha256 of the other chunk that holds the number, or where the same audio was stored
    before (a replay, also of audio retention deleted).

    Raises:
        OtherCounter: the session belongs to another counter. ChunkMismatch: another format, a
        start time other than its recording's, or samples overlapping its neighbours.
    """
    for _ in range(2):          # a concurrent claim of the same number: read it the second time
        try:
            with write_session(engine) as s:
                sess = s.get(RecordingSession, meta.session)
                if sess is not None and sess.counter_id != info.id:
                    raise OtherCounter(f"session {meta.session}", info)
                if sess is not None and (sess.sample_rate_hz, sess.channels) != (meta.sample_rate_hz, meta.channels):
                    raise ChunkMismatch(f"chunk {meta.session}/{meta.seq}", f"is {meta.sample_rate_hz} Hz x "
                                        f"{meta.channels}, its session is {sess.sample_rate_hz} Hz x {sess.channels}",
                                        field="channels")
                claim = s.get(ChunkClaim, (meta.session, meta.seq))
                if claim is None:
                    check_place(s, meta)
                    replay = replayed_from(s, meta, audio)
                    if replay is not None:
                        return replay
                    s.add(ChunkClaim(session_id=meta.session, seq=meta.seq, counter_id=info.id, sha256=meta.sha256,
                                     size_bytes=meta.size_bytes, start_sample=meta.start_sample, claimed_s=now_s(),
                                     pcm_sha256=audio.pcm_sha256))
                    return None
                if claim.counter_id != info.id:
                    raise OtherCounter(f"session {meta.session}", info)
                if claim.sha256 != meta.sha256 or claim.start_sample != meta.start_sample:
                    return claim.sha256
                return None
        except IntegrityError:
            continue
    raise ChunkConflict(f"chunk {meta.key}", "is being claimed by another upload right now; send again")


_ABSENT = "absent"


def _differs(store: ObjectStore, key: str, data: bytes) -> str | None:
    """None when the object at ``key`` is ``data``; :data:`_ABSENT` when there is none; else what
    it holds (its sha256, or its MD5 where the store lost the metadata, as rclone does on a
    restart)."""
    info = store.stat(key)
    if info is None:
        return _ABSENT
    if info.metadata.get("sha256"):
        stored = info.metadata["sha256"]
        return None if stored == hashlib.sha256(data).hexdigest() else stored
    if info.md5_hex:
        return None if info.md5_hex == hashlib.md5(data, usedforsecurity=False).hexdigest() else f"md5 {info.md5_hex}"
    stored_data = store.get_bytes(key)
    return None if stored_data == data else hashlib.sha256(stored_data).hexdigest()


def receive_chunk(engine: Engine, store: ObjectStore, user: Principal, claimed: ChunkHeader, data: bytes, *,
                  client: str = "", limits: EvidenceLimits = EvidenceLimits(),
                  received_s: float | None = None) -> ChunkReceipt:
    """Check, store once and register one chunk of the agent's counter. ``received_s``: the
    server's clock (default now), which bounds the times the chunk may claim (``limits``).

    Raises:
        NotBound, OtherCounter; ChunkMismatch (and other Invalid: a bad session id or numbering);
        ChunkTime: it ends in the future or starts before the backlog window;
        ChunkConflict: another chunk holds the number (the alarm is raised, the stored one stays);
        ChunkReplay: its audio is stored already under another recording or number, or was
        until retention deleted it (alarmed, audited);
        StoreError: the store refused or is down (StoreUnavailable: retry later).
    """
    received = received_s if received_s is not None else now_s()
    with read_session(engine) as s:
        info = binding(s, user)
        retention_days = s.scalar(select(Site.retention_days).where(Site.name == info.site))
    check_session(claimed.session)
    audio = check_body(claimed, data)
    meta = ChunkMeta.of(claimed, site=info.site, counter=info.name, codec=CODEC, sha256=claimed.sha256.lower(),
                        size_bytes=len(data))
    with read_session(engine) as s:
        held = s.get(ChunkClaim, (meta.session, meta.seq))
        retry = held is not None and held.sha256 == meta.sha256 and held.counter_id == info.id
    if not retry:       # a retry of a stored chunk is answered 200 however late it comes
        check_time(meta, received_s=received, limits=limits, retention_days=retention_days)
    other = _claim(engine, info, meta, audio)
    if isinstance(other, Replay):
        _replay(engine, user, info, meta, stored=other, client=client)
    elif other is not None:
        _conflict(engine, user, info, meta, stored_sha256=other, client=client)
    stored = _differs(store, meta.key, data)
    if stored == _ABSENT:
        try:
            store.put_bytes(meta.key, data, content_type=CONTENT_TYPE, metadata=object_metadata(meta),
                            retain_until=retain_until(meta, retention_days), if_absent=True)
            stored = None
        except ObjectExists:        # written meanwhile (a store that honours If-None-Match)
            stored = _differs(store, meta.key, data)
    if stored is not None:
        _conflict(engine, user, info, meta, stored_sha256=stored, client=client)
    try:
        new = Catalog(engine).register_chunk(meta)
    except ChunkConflict as e:
        _conflict(engine, user, info, meta, stored_sha256=str(e.params.get("stored_sha256", "?")), client=client)
    return ChunkReceipt(meta.key, meta.sha256, new)


def refused_chunk(s: Session, *, counter_id: int, meta: ChunkMeta, alarm: str, action: str, detail: str,
                  user_id: int | None, user_name: str, client: str = "") -> None:
    """A refused chunk that a person must look at (an upload's or a rescan's), in the caller's
    write transaction: the counter's alarm and an audit row, in ``detail``'s words."""
    s.execute(select(Counter.id).where(Counter.id == counter_id).with_for_update())
    set_counter_alarm(s, counter_id, alarm, True, now_s(), detail)
    audit.append(s, user_id=user_id, user_name=user_name, action=action, target=f"chunk:{meta.key}",
                 client=client, detail=detail)


def _alarm_and_audit(engine: Engine, user: Principal, info: CounterInfo, meta: ChunkMeta, *, alarm: str, action: str,
                     detail: str, client: str) -> None:
    with write_session(engine) as s:
        refused_chunk(s, counter_id=info.id, meta=meta, alarm=alarm, action=action, detail=detail,
                      user_id=user.id, user_name=user.name, client=client)
    logger.error("ingest: counter %s/%s: chunk %s refused: %s", info.site, info.name, meta.key, detail)


def _conflict(engine: Engine, user: Principal, info: CounterInfo, meta: ChunkMeta, *, stored_sha256: str,
              client: str) -> None:
    detail = (f"录音会话 {meta.session} 第 {meta.seq} 段：已存的一份（sha256 {stored_sha256}）与新送来的"
              f"（sha256 {meta.sha256}）不同，拒收新的，保留已存的一份")
    _alarm_and_audit(engine, user, info, meta, alarm=CONFLICT, action="chunk.conflict", detail=detail, client=client)
    raise ChunkConflict(f"chunk {meta.key}", "another chunk is stored under this session and number; refused",
                        stored_sha256=stored_sha256, offered_sha256=meta.sha256)


def replay_detail(meta: ChunkMeta, stored: Replay) -> str:
    """The alarm's and audit row's words for a chunk refused as a replay (an upload or a rescan)."""
    if stored.recording is None:
        when = audit.local_stamp(stored.deleted_wall_start_s or 0.0)
        return (f"录音会话 {meta.session} 第 {meta.seq} 段：同样的声音曾于 {when} 录下，已按保存期限删除，"
                f"拒收（重放或伪造的证据）")
    return (f"录音会话 {meta.session} 第 {meta.seq} 段：同样的声音已存为录音会话 {stored.recording} 第 {stored.seq} 段，"
            f"拒收（重放或伪造的证据）")


def _replay(engine: Engine, user: Principal, info: CounterInfo, meta: ChunkMeta, *, stored: Replay,
            client: str) -> None:
    _alarm_and_audit(engine, user, info, meta, alarm=REPLAY, action="chunk.replay",
                     detail=replay_detail(meta, stored), client=client)
    if stored.recording is None:
        raise ChunkReplay(f"chunk {meta.session}/{meta.seq}", "holds audio recorded before and deleted by retention; "
                          "refused", deleted_recording_start_s=stored.deleted_wall_start_s)
    raise ChunkReplay(f"chunk {meta.session}/{meta.seq}", "holds audio already stored under another recording; "
                      "refused", stored_recording=stored.recording, stored_seq=stored.seq)


def receive_live(engine: Engine, store: ObjectStore, user: Principal, *, session: str, seq: int, start_sample: int,
                 samples: int, session_wall_start_s: float, data: bytes) -> str:
    """Store one live segment of the agent's counter, point the counter's live feed at it, and
    delete the segment :data:`LIVE_KEEP` older (and, at a session's first one, what earlier
    sessions left). Returns its key.

    Raises:
        NotBound; ChunkMismatch (not FLAC, or not ``samples`` long); StoreError.
    """
    with read_session(engine) as s:
        info = binding(s, user)
    try:
        header = flac_streaminfo(data)
    except CodecError as e:
        raise ChunkMismatch("live segment", f"is not FLAC: {e.reason}", field="body") from e
    if header.samples != samples or header.bits_per_sample != 16:
        raise ChunkMismatch("live segment", f"FLAC header says {header.samples} samples, the metadata {samples}",
                            field="samples")
    key = live_key(site=info.site, counter=info.name, session=session, seq=seq)
    store.put_bytes(key, data, content_type=CONTENT_TYPE, metadata={
        "start-sample": str(start_sample), "samples": str(samples), "session-wall-start-s": repr(session_wall_start_s)})
    Catalog(engine).set_live(info.site, info.name, session=session, seq=seq,
                             wall_start_s=session_wall_start_s + start_sample / header.sample_rate_hz)
    try:
        if seq >= LIVE_KEEP:
            store.delete(live_key(site=info.site, counter=info.name, session=session, seq=seq - LIVE_KEEP))
        if seq == 0:
            mine = f"{live_prefix(info.site, info.name)}{session}/"
            for old in store.iter_keys(live_prefix(info.site, info.name)):
                if not old.startswith(mine):
                    store.delete(old)
    except StoreError as e:      # old live audio is only clutter: the next segment tries again
        logger.info("ingest: counter %s/%s: old live segments not deleted yet: %s", info.site, info.name, e)
    return key


def ask_live(engine: Engine, user: Principal) -> int:
    """The agent asks whether its live audio is wanted: note when (its counter publishes on
    demand) and return its counter's id."""
    with read_session(engine) as s:
        info = binding(s, user)
    with write_session(engine) as s:
        s.execute(update(Counter).where(Counter.id == info.id).values(live_asked_s=now_s()))
    return info.id


def receive_heartbeat(engine: Engine, user: Principal, *, level_dbfs: float, status: str,
                      quarantined_chunks: int = 0) -> None:
    """An agent's heartbeat: its level and status (raising or clearing the alarms named like the
    status), and the chunks it keeps aside after a refusal (raising ``chunk-conflict``, which only
    a person clears)."""
    with read_session(engine) as s:
        info = binding(s, user)
    Catalog(engine).heartbeat(info.site, info.name, level_dbfs=level_dbfs, status=status)
    with write_session(engine) as s:
        s.execute(select(Counter.id).where(Counter.id == info.id).with_for_update())
        open_ = s.scalar(select(Alarm.id).where(Alarm.counter_id == info.id, Alarm.kind == CONFLICT,
                                                Alarm.cleared_s.is_(None)))
        if quarantined_chunks and open_ is None:
            set_counter_alarm(s, info.id, CONFLICT, True, now_s(),
                              f"{quarantined_chunks} refused chunk(s) kept aside in the agent's spool quarantine")
        # Never cleared here: the agent whose upload raised it cannot clear it; a person does
        # (services.alarms.clear_by_person; issue 18).


def end_session(engine: Engine, user: Principal, session: str) -> None:
    """The agent stopped cleanly: its session (of its counter) can be closed.

    Raises:
        NotBound; OtherCounter: the session is another counter's.
    """
    check_session(session)
    with read_session(engine) as s:
        info = binding(s, user)
        owner = s.scalar(select(RecordingSession.counter_id).where(RecordingSession.id == session))
    if owner is not None and owner != info.id:
        raise OtherCounter(f"session {session}", info)
    Catalog(engine).end_session(session)
