"""Re-register chunk objects the catalog lacks, e.g. after a database restore (issue 6).

Chunks stored after the last database backup are in the store but not in a restored catalog.
:func:`rescan` lists the chunk objects (``{site}/{counter}/YYYY/MM/DD/{session}/{seq}.flac``),
finds the ones without a row, checks each and registers it through
:meth:`Catalog.register_chunk`, the function the agents use, so the counter's hash chain
continues and the session is queued for planning (transcription).

What a chunk row needs comes from the object's user metadata, which the uploader stores with
every chunk (:func:`domain.chunks.object_metadata`): site, counter, session, seq, start
sample, samples, rate, channels, sha256, the session's wall-clock start. A store that lost the
metadata (``rclone serve s3`` keeps it in memory only) still has the key and the FLAC file:

* site, counter, session and seq come from the key;
* rate, channels and the sample count from the FLAC STREAMINFO, whose MD5 of the samples is
  checked against the decoded audio (the integrity check when no sha256 was kept);
* the start sample from the chunk before in the same session (in the store or the catalog);
* the session's wall-clock start from its catalog row if the backup had it, else estimated
  from the store's Last-Modified time of the session's first chunk found (upload happens right
  after capture), kept inside the key's UTC day. Such rows are reported as estimated.

Levels (``rms_dbfs``, ``peak_dbfs``) are measured on the decoded audio. Registering is in
(session start, session, seq) order; running it again registers nothing (idempotent).

Before it is registered, every chunk passes the checks an agent's upload passes (issue 18), the
very functions of :mod:`services.evidence`: its body decoded whole; its claimed time against
the server's clock when the object was stored (its Last-Modified; the backlog window and the
site's retention); its place in its recording; and that its audio is new (not stored under
another recording or number, not deleted by retention: a tombstone). One that fails is reported
with its key and not registered; one that passes gets its claim with the audio's hash, as an
upload does, so the same audio sent later is a replay.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.chunks import CHUNK_KEY, ChunkMeta
from domain.errors import Invalid
from domain.flac import CODEC, CodecError, DecodedChunk, StreamInfo, flac_streaminfo
from domain.names import check_name
from services.catalog import Catalog, CatalogError
from services.evidence import (
    ChunkMismatch,
    ChunkTime,
    EvidenceLimits,
    Replay,
    check_place,
    check_time,
    decoded,
    replayed_from,
)
from services.ingest import REPLAY, refused_chunk, replay_detail
from storage.engine import read_session, write_session
from storage.objects import ObjectStore
from storage.store_errors import ChecksumMismatch, ObjectNotFound
from storage.tables import Chunk, ChunkClaim, Counter, RecordingSession, Site, now_s

logger = logging.getLogger(__name__)

#: who a rescan's audit rows name when no one is given
ACTOR = "catalog rescan"
FROM_METADATA = "metadata"
FROM_KEY_AND_FLAC = "key+flac"


class RescanError(Invalid):
    """Bad arguments (e.g. a counter without its site)."""

    code = "bad_rescan"

    def __init__(self, reason: str) -> None:
        super().__init__("rescan", reason)


@dataclass(frozen=True)
class Recovered:
    """A chunk found in the store without a catalog row, ready to register."""
    meta: ChunkMeta
    source: str                 # FROM_METADATA or FROM_KEY_AND_FLAC
    wall_estimated: bool        # session wall start estimated from the store's date
    stored_s: float | None      # the object's Last-Modified
    audio: DecodedChunk | None = field(default=None, repr=False, compare=False)   # what it holds, decoded


@dataclass(frozen=True)
class Problem:
    key: str
    what: str


@dataclass
class RescanReport:
    listed: int = 0             # chunk objects looked at
    known: int = 0              # already in the catalog
    found: list[Recovered] = field(default_factory=list)        # missing from the catalog, checked
    registered: int = 0         # of ``found``, registered now (0 in a dry run)
    problems: list[Problem] = field(default_factory=list)

    @property
    def sessions(self) -> list[str]:
        return sorted({r.meta.session for r in self.found})


@dataclass
class _Candidate:
    key: str
    site: str
    counter: str
    day: str
    session: str
    seq: int
    sha256: str                 # of the object's bytes; the bytes themselves are not kept (a
    size_bytes: int             # session days long would hold GBs), registering needs only these
    info: StreamInfo
    rms_dbfs: float
    peak_dbfs: float
    metadata: dict[str, str]
    stored_s: float | None
    audio: DecodedChunk


def _prefix(site: str | None, counter: str | None) -> str:
    if counter and not site:
        raise RescanError("a counter needs its site")
    if site:
        check_name("site", site)
    if counter:
        check_name("counter", counter)
    return f"{site}/{counter}/" if counter else (f"{site}/" if site else "")


def _session_groups(store: ObjectStore, prefix: str, since: dt.date | None,
                    report: RescanReport) -> Iterator[list[re.Match]]:
    """Chunk keys under ``prefix``, one list per session (listings are in key order)."""
    group: list[re.Match] = []
    for key in store.iter_keys(prefix):
        m = CHUNK_KEY.match(key)
        if m is None:
            continue        # live segments (_live/...), signage content, anything else
        if since is not None and dt.date(*map(int, m["day"].split("/"))) < since:
            continue
        report.listed += 1
        if group and group[-1]["session"] != m["session"]:
            yield group
            group = []
        group.append(m)
    if group:
        yield group


def _fetch(store: ObjectStore, m: re.Match) -> _Candidate:
    """Read and check one object. Raises ChecksumMismatch, CodecError, ValueError, StoreError."""
    key = m.string
    st = store.stat(key)
    if st is None:
        raise ObjectNotFound("NoSuchKey", "gone while rescanning", object_name=key)
    meta = st.metadata
    # With the sha256 the agent stored, the bytes are checked against it (and the ETag).
    data = store.get_bytes(key, expected_sha256=meta.get("sha256"))
    info = flac_streaminfo(data)
    # The body check of an upload (services.evidence), decoded once: the audio's own hash and levels.
    try:
        audio = decoded(data, samples=info.samples, sample_rate_hz=info.sample_rate_hz, channels=info.channels)
    except ChunkMismatch as e:
        if e.params.get("field") == "md5":
            raise ChecksumMismatch("FlacMD5Mismatch", "decoded samples do not match the FLAC header's MD5",
                                   object_name=key) from e
        raise
    for name, want in (("samples", info.samples), ("sample-rate-hz", info.sample_rate_hz),
                       ("channels", info.channels), ("session", m["session"]), ("seq", str(int(m["seq"]))),
                       ("site", m["site"]), ("counter", m["counter"])):
        if name in meta and str(meta[name]) != str(want):
            raise ValueError(f"object metadata {name}={meta[name]!r} contradicts the key/FLAC ({want})")
    rms, peak = audio.levels_dbfs()
    return _Candidate(key=key, site=m["site"], counter=m["counter"], day=m["day"], session=m["session"],
                      seq=int(m["seq"]), sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                      info=info, rms_dbfs=rms, peak_dbfs=peak, metadata=meta,
                      stored_s=st.last_modified_s, audio=audio)


def _day_bounds(day: str) -> tuple[float, float]:
    d = dt.datetime.strptime(day, "%Y/%m/%d").replace(tzinfo=dt.UTC)
    return d.timestamp(), (d + dt.timedelta(days=1)).timestamp()


def _recover_session(db: Session, group: list[re.Match], store: ObjectStore,
                     report: RescanReport) -> list[Recovered]:
    m0 = group[0]
    sid = m0["session"]
    rows = {seq: (start, n) for seq, start, n in db.execute(
        select(Chunk.seq, Chunk.start_sample, Chunk.samples).where(Chunk.session_id == sid))}
    sess = db.get(RecordingSession, sid)
    missing = [m for m in group if int(m["seq"]) not in rows]
    report.known += len(group) - len(missing)
    if not missing:
        return []
    counter_ok = db.scalar(select(Counter.id).join(Site).where(Site.name == m0["site"],
                                                               Counter.name == m0["counter"]))
    if counter_ok is None:
        for m in missing:
            report.problems.append(Problem(m.string, f"counter {m0['site']}/{m0['counter']} is not registered "
                                                     "(counterwatch counter add, then rescan again)"))
        return []
    fetched: dict[int, _Candidate] = {}
    for m in missing:
        try:
            fetched[int(m["seq"])] = _fetch(store, m)
        except ChecksumMismatch as e:
            report.problems.append(Problem(m.string, f"altered: {e}"))
        except (CodecError, ValueError, ObjectNotFound, ChunkMismatch) as e:
            report.problems.append(Problem(m.string, f"unusable: {e}"))
    # Where the session is on the wall clock: metadata, else the catalog, else the store's date.
    wall0, estimated = None, False
    for c in fetched.values():
        if "session-wall-start-s" in c.metadata:
            wall0 = float(c.metadata["session-wall-start-s"])
            break
    if wall0 is None and sess is not None:
        wall0 = sess.wall_start_s
    # Start samples: metadata, else the chunk before (catalog row or found object), in seq order.
    known = dict(rows)
    out: list[Recovered] = []
    for seq in sorted(fetched):
        c = fetched[seq]
        if "start-sample" in c.metadata:
            start = int(c.metadata["start-sample"])
        elif seq == 0:
            start = 0
        elif seq - 1 in known:
            start = known[seq - 1][0] + known[seq - 1][1]
        else:
            report.problems.append(Problem(c.key, f"cannot place: chunk {seq - 1} of the session is in neither "
                                                  "the store nor the catalog, so the start sample is unknown"))
            continue
        known[seq] = (start, c.info.samples)
        if wall0 is None:
            if c.stored_s is None:
                report.problems.append(Problem(c.key, "no session start: no metadata, no catalog row, no date"))
                continue
            lo, hi = _day_bounds(c.day)
            wall0 = min(max(c.stored_s - (start + c.info.samples) / c.info.sample_rate_hz, lo), hi - 0.001)
            estimated = True
            logger.warning("rescan: session %s: no metadata and no catalog row; wall-clock start estimated "
                           "from the store's date of %s", sid, c.key)
        meta = ChunkMeta(site=c.site, counter=c.counter, session=sid, seq=seq, start_sample=start,
                         samples=c.info.samples, sample_rate_hz=c.info.sample_rate_hz, channels=c.info.channels,
                         codec=CODEC, sha256=c.sha256, size_bytes=c.size_bytes,
                         session_wall_start_s=wall0, rms_dbfs=c.rms_dbfs, peak_dbfs=c.peak_dbfs)
        if meta.key != c.key:
            report.problems.append(Problem(c.key, f"rebuilt key {meta.key} differs (session start {wall0})"))
            continue
        source = FROM_METADATA if "start-sample" in c.metadata and "session-wall-start-s" in c.metadata \
            else FROM_KEY_AND_FLAC
        out.append(Recovered(meta=meta, source=source, wall_estimated=estimated, stored_s=c.stored_s, audio=c.audio))
    return out


def _refused(engine: Engine, r: Recovered, *, counter_id: int, limits: EvidenceLimits,
             retention_days: float | None, claim: bool, actor: str) -> str | None:
    """Why ``r`` may not be registered (an upload's checks, :mod:`services.evidence`), or None;
    with ``claim``, a chunk that passes gets its claim (with the audio's hash) as an upload does."""
    received = r.stored_s if r.stored_s is not None else now_s()
    m = r.meta
    try:
        check_time(m, received_s=received, limits=limits, retention_days=retention_days)
        with write_session(engine) as s:
            check_place(s, m)
            replay = replayed_from(s, m, r.audio) if r.audio is not None else None
            if replay is not None:
                if claim:       # not a dry run: a person must look at it, as at an agent's replay
                    detail = replay_detail(m, replay)
                    refused_chunk(s, counter_id=counter_id, meta=m, alarm=REPLAY, action="chunk.replay",
                                  detail=detail, user_id=None, user_name=actor)
                    logger.error("rescan: chunk %s refused: %s", m.key, detail)
                return _replay_text(replay)
            held = s.get(ChunkClaim, (m.session, m.seq))
            if held is not None and held.sha256 != m.sha256:
                return f"conflict: chunk {m.seq} of recording {m.session} was claimed by other content (sha256 {held.sha256})"
            if held is None and claim:
                s.add(ChunkClaim(session_id=m.session, seq=m.seq, counter_id=counter_id, sha256=m.sha256,
                                 size_bytes=m.size_bytes, start_sample=m.start_sample, claimed_s=received,
                                 pcm_sha256=r.audio.pcm_sha256 if r.audio is not None else None))
    except (ChunkTime, ChunkMismatch) as e:
        return f"refused ({e.code}): {e.reason}"
    return None


def _replay_text(replay: Replay) -> str:
    if replay.recording is None:
        when = dt.datetime.fromtimestamp(replay.deleted_wall_start_s or 0.0, dt.UTC)
        return (f"replay: the same audio was recorded at {when:%Y-%m-%d %H:%M:%SZ} and deleted by retention; "
                "not registered")
    return f"replay: the same audio is stored as chunk {replay.seq} of recording {replay.recording}; not registered"


def rescan(engine: Engine, store: ObjectStore, *, site: str | None = None, counter: str | None = None,
           since: dt.date | None = None, dry_run: bool = False,
           limits: EvidenceLimits = EvidenceLimits(), actor: str = ACTOR) -> RescanReport:
    """Find chunk objects without a catalog row, check them as an upload is checked
    (``limits``: the agents' clock limits) and (unless ``dry_run``) register them.

    ``actor``: who the audit row of a refused replay names (the command: ``cli:`` and the user).
    ``site``/``counter`` narrow the listing; ``since`` skips sessions whose key date (the UTC
    day the session started) is before it. Objects that fail a check (their bytes, their time,
    their place, a replay) are reported in ``problems`` and not registered (nor listed in
    ``found``).

    Raises:
        RescanError: a counter without a site.
        StoreUnavailable, StoreError: listing or reading failed.
    """
    report = RescanReport()
    prefix = _prefix(site, counter)
    with read_session(engine) as db:
        for group in _session_groups(store, prefix, since, report):
            report.found.extend(_recover_session(db, group, store, report))
            db.expire_all()
    # Chain order: session start, session, seq (storage.integrity), so the chain continues.
    report.found.sort(key=lambda r: (r.meta.session_wall_start_s, r.meta.session, r.meta.seq))
    with read_session(engine) as db:
        sites = {name: days for name, days in db.execute(select(Site.name, Site.retention_days))}
    catalog = Catalog(engine)
    admitted: list[Recovered] = []
    for r in report.found:
        # Checked one by one in registering order: each registered chunk is the neighbour
        # (and the stored audio) the next one is checked against.
        why = _refused(engine, r, counter_id=catalog.counter(r.meta.site, r.meta.counter).id, limits=limits,
                       retention_days=sites.get(r.meta.site), claim=not dry_run, actor=actor)
        if why is not None:
            report.problems.append(Problem(r.meta.key, why))
            logger.warning("rescan: %s not registered: %s", r.meta.key, why)
            continue
        admitted.append(r)
        if dry_run:
            continue
        try:
            if catalog.register_chunk(r.meta, stored_s=r.stored_s):
                report.registered += 1
                logger.info("rescan: registered %s (%s%s)", r.meta.key, r.source,
                            ", session start estimated" if r.wall_estimated else "")
        except CatalogError as e:
            report.problems.append(Problem(r.meta.key, str(e)))
    report.found = admitted
    return report
