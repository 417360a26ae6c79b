"""What capture agents send: chunks, live segments, heartbeats and session ends (issue 11).

Only a capture agent's token (``counterwatch agent token``) reaches these routes, and only for
its own counter; it reads nothing but its own binding (:func:`hello`). Checks, the write-once
rule and the alarms are :mod:`services.ingest`'s.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import CaptureAgent, ReadDb, StoreDep, Writer, client_of
from api.live_demand import live_demand
from domain.chunks import ChunkHeader
from domain.errors import TooLarge
from domain.names import SESSION_PATTERN
from domain.vocab import AgentStatus
from services import agent_scope, ingest
from services.ingest import ChunkReceipt, Hello

router = APIRouter(prefix="/agent", tags=["agent"])

# "recording", not "session": a recording session's id, never a credential in a URL.
Recording = Annotated[str, Query(pattern=f"^{SESSION_PATTERN}$", description="the recording session's id (32 hex digits)")]
Count = Annotated[int, Query(ge=0, le=2**40)]
#: Wall-clock time of the recording session's first sample (unix seconds).
Seconds = Annotated[float, Query(ge=0, le=1e11)]
Level = Annotated[float, Query(ge=-200, le=10)]
AUDIO = {"content": {"audio/flac": {"schema": {"type": "string", "format": "binary"}}}, "required": True}


async def _body(chunks: AsyncIterator[bytes], limit: int, what: str) -> bytes:
    data = bytearray()
    async for part in chunks:
        data += part
        if len(data) > limit:
            raise TooLarge(what, f"larger than {limit} bytes", code="chunk_too_large")
    return bytes(data)


@router.get("/hello", response_model=Hello)
def hello(user: CaptureAgent, db: ReadDb) -> Hello:
    """The agent's own binding: its site and counter, the counter's channel map, and when its
    token expires."""
    return ingest.hello(db, user)


def chunk_header(recording: Recording, seq: Count, start_sample: Count,
                 samples: Annotated[int, Query(ge=1, le=2**31 - 1)],
                 sample_rate_hz: Annotated[int, Query(ge=8000, le=192000)],
                 channels: Annotated[int, Query(ge=1, le=2)],
                 sha256: Annotated[str, Query(pattern=r"^[0-9a-fA-F]{64}$")],
                 size_bytes: Annotated[int, Query(ge=1, le=ingest.MAX_CHUNK_BYTES)],
                 recording_start_s: Seconds, rms_dbfs: Level = -100.0, peak_dbfs: Level = -100.0) -> ChunkHeader:
    """The chunk's header (:class:`domain.chunks.ChunkHeader`, whose ``wire_names`` these
    parameters are: tests/api/test_agent_ingest.py checks it) with the API's bounds."""
    return ChunkHeader(session=recording, seq=seq, start_sample=start_sample, samples=samples,
                       sample_rate_hz=sample_rate_hz, channels=channels, sha256=sha256, size_bytes=size_bytes,
                       session_wall_start_s=recording_start_s, rms_dbfs=rms_dbfs, peak_dbfs=peak_dbfs)


@router.post("/chunks", response_model=ChunkReceipt, status_code=201, openapi_extra={"requestBody": AUDIO},
             responses={200: {"model": ChunkReceipt, "description": "the same chunk again: stored before"},
                        409: {"description": "another chunk holds this session and number (both hashes), or "
                                              "its audio is stored already under another recording (a replay)"}})
async def put_chunk(user: CaptureAgent, db: ReadDb, store: StoreDep, engine: Writer, request: Request, response: Response,
                    claimed: Annotated[ChunkHeader, Depends(chunk_header)]) -> ChunkReceipt:
    """One FLAC chunk of the agent's counter as the request body. Checked against ``sha256``,
    ``size_bytes``, its FLAC header and its decoded audio (samples, rate, channels, 16 bits,
    MD5: 422 naming the field, nothing stored); its time against the server's clock (422
    ``chunk_time``: in the future beyond the allowed skew, or before the backlog window), its
    recording's start and its neighbours' samples (422). Stored once under the key derived
    here, and registered. 201: stored now; 200: the same chunk was stored before; 409: another
    chunk holds the number (refused, both hashes in the answer, alarm ``chunk-conflict``; the
    stored one stays), or ``chunk_replay``: its audio (not silence) is stored already under
    another recording or number, or was until retention deleted it (alarm ``chunk-replay``,
    audited)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > ingest.MAX_CHUNK_BYTES:
        raise TooLarge("chunk", f"larger than {ingest.MAX_CHUNK_BYTES} bytes", code="chunk_too_large")
    await run_in_threadpool(db.close)   # early release: hold no connection (nor a slot of the gate) while the body comes
    data = await _body(request.stream(), ingest.MAX_CHUNK_BYTES, "chunk")
    receipt = await run_in_threadpool(lambda: ingest.receive_chunk(
        engine, store, user, claimed, data, client=client_of(request),
        limits=request.app.state.evidence))
    response.status_code = 201 if receipt.new else 200
    return receipt


@router.post("/live", status_code=204, openapi_extra={"requestBody": AUDIO})
async def put_live(user: CaptureAgent, db: ReadDb, store: StoreDep, engine: Writer, request: Request,
                   recording: Recording, seq: Count,
                   start_sample: Count, samples: Annotated[int, Query(ge=1, le=10 * 192000)],
                   recording_start_s: Seconds) -> Response:
    """One ~1 s live segment (FLAC body) for live listening; best effort, not evidence. Only for
    the agent's own recording session: 403 ``agent_binding`` for another counter's."""
    await run_in_threadpool(db.close)   # early release: hold no connection (nor a slot of the gate) while the body comes
    await run_in_threadpool(agent_scope.check_own_session, engine, user, recording,
                            client=client_of(request))
    data = await _body(request.stream(), ingest.MAX_LIVE_BYTES, "live segment")
    await run_in_threadpool(lambda: ingest.receive_live(
        engine, store, user, session=recording, seq=seq, start_sample=start_sample, samples=samples,
        session_wall_start_s=recording_start_s, data=data))
    return Response(status_code=204)


class LiveWanted(BaseModel):
    wanted: bool = Field(description="true: someone listens; publish live segments")


@router.get("/live/wanted", response_model=LiveWanted)
async def live_wanted(user: CaptureAgent, db: ReadDb, engine: Writer, request: Request,
                      wanted: Annotated[bool, Query(description="the state the agent is in now")] = False,
                      wait_s: Annotated[float, Query(ge=0, le=30, description="wait this long for a change")] = 0.0,
                      ) -> LiveWanted:
    """Whether anyone listens to the agent's counter (live on demand, docs/live.md): answered
    as soon as it differs from ``wanted``, else after ``wait_s`` (a long poll)."""
    db.close()      # early release: hold no connection (nor a slot of the gate) while waiting
    counter_id = await run_in_threadpool(ingest.ask_live, engine, user)
    now = await live_demand(request.app).wait(counter_id, wanted=wanted, wait_s=wait_s)
    return LiveWanted(wanted=now)


class AgentHeartbeat(BaseModel):
    level_dbfs: float = Field(ge=-200, le=10, description="input level since the last heartbeat")
    status: AgentStatus
    quarantined_chunks: int = Field(0, ge=0, le=10**6, description="refused chunks kept aside in the spool; "
                                    "more than 0 raises the chunk-conflict alarm, 0 never clears it (a person does)")


@router.post("/heartbeat", status_code=204)
def heartbeat(body: AgentHeartbeat, user: CaptureAgent, engine: Writer) -> Response:
    ingest.receive_heartbeat(engine, user, level_dbfs=body.level_dbfs, status=body.status,
                             quarantined_chunks=body.quarantined_chunks)
    return Response(status_code=204)


@router.post("/recordings/{recording}/end", status_code=204)
def end_session(user: CaptureAgent, engine: Writer,
                recording: Annotated[str, Path(pattern=f"^{SESSION_PATTERN}$")]) -> Response:
    """The agent stopped cleanly: the recording session's last interaction can be closed."""
    ingest.end_session(engine, user, recording)
    return Response(status_code=204)
