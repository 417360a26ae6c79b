"""Recorded audio of an interaction: playback (WAV with byte ranges) and evidence download.

Every access is written to the audit log before a byte of audio is sent. Playback with
seeking sends many Range requests for one listening; to keep the log readable, requests by
the same user for the same interaction share one ``audio.play`` row while an earlier one is
less than ``PLAY_AUDIT_WINDOW_S`` old (two requests racing may both write one: never zero).
Every evidence download writes its own ``audio.download`` row with the file's SHA-256.

Object keys come from the catalog only; the path holds an integer interaction id.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from api.audio import (AudioSpan, AudioUnavailable, RangeNotSatisfiable, interaction_span, parse_range, span_pcm,
                       wav_header, wav_range)
from api.deps import Person, Principal, RowId, SessionDep, StoreDep, Supervisor, audit, store_http_error
from api.routes.interactions import visible_interaction
from recorder.encode import encode_flac
from storage.db import AuditLog, now_s
from storage.objects import StoreUnavailable

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/interactions", tags=["audio"])

PLAY_AUDIT_WINDOW_S = 60.0
_NO_STORE = "private, no-store"


def _span(db: SessionDep, user: Principal, interaction_id: int) -> tuple[AudioSpan, str, str, float]:
    inter, site, counter = visible_interaction(db, user, interaction_id)
    try:
        return interaction_span(db, inter), site, counter, inter.wall_start_s
    except AudioUnavailable as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"audio of interaction {interaction_id} is not stored: "
                                                       f"{e.reason}") from e


def _audio_error(interaction_id: int, e: Exception) -> HTTPException:
    if isinstance(e, StoreUnavailable):
        logger.warning("audio: interaction %s: store unavailable: %s", interaction_id, e)
        return store_http_error(e)
    assert isinstance(e, AudioUnavailable)
    if e.damaged:
        logger.error("audio: interaction %s: %s", interaction_id, e)
        return HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, f"stored audio is damaged: {e.what}")
    return HTTPException(status.HTTP_404_NOT_FOUND, f"audio of interaction {interaction_id} is not stored")


def _audit_play(db: SessionDep, user: Principal, request: Request, *, target: str, detail: str) -> None:
    recent = db.scalar(select(AuditLog.id).where(
        AuditLog.user_id == user.id, AuditLog.action == "audio.play", AuditLog.target == target,
        AuditLog.at_s >= now_s() - PLAY_AUDIT_WINDOW_S).limit(1))
    if recent is None:
        audit(db, user, request, action="audio.play", target=target, detail=detail)


@router.get("/{interaction_id}/audio", response_class=StreamingResponse,
            responses={200: {"content": {"audio/wav": {}}}, 206: {"content": {"audio/wav": {}}},
                       416: {"description": "range not satisfiable"}})
def play(interaction_id: RowId, user: Person, db: SessionDep, store: StoreDep, request: Request,
         range_: str | None = Header(None, alias="range"),
         if_range: str | None = Header(None, alias="if-range")) -> Response:
    """The interaction as 16-bit PCM WAV, with ``Range: bytes=`` support for seeking (206,
    or 416 for a range outside the file). Only the chunks the range needs are decoded."""
    span, site, counter, _ = _span(db, user, interaction_id)
    size = span.wav_bytes
    headers = {"Accept-Ranges": "bytes", "ETag": span.etag, "Cache-Control": _NO_STORE}
    if if_range is not None and if_range.strip() != span.etag:
        range_ = None       # the client's copy is another file: send this one whole
    try:
        wanted = parse_range(range_, size)
    except RangeNotSatisfiable as e:
        raise HTTPException(status.HTTP_416_RANGE_NOT_SATISFIABLE, str(e),
                            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"}) from e
    first, last = wanted if wanted is not None else (0, size - 1)
    target = f"interaction:{interaction_id}"
    _audit_play(db, user, request, target=target,
                detail=f"{site}/{counter} session {span.session_id} samples {span.start_sample}-{span.end_sample}")
    # End the read transaction now: on SQLite it holds the write lock (BEGIN IMMEDIATE), and
    # the body may take a while to send.
    db.commit()
    try:
        body = wav_range(store, span, first, last)
    except (AudioUnavailable, StoreUnavailable) as e:
        raise _audio_error(interaction_id, e) from e
    headers["Content-Length"] = str(last - first + 1)
    if wanted is None:
        return StreamingResponse(body, media_type="audio/wav", headers=headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(body, status_code=206, media_type="audio/wav", headers=headers)


@router.get("/{interaction_id}/evidence", response_class=Response,
            responses={200: {"content": {"audio/flac": {}, "audio/wav": {}}}})
def evidence(interaction_id: RowId, user: Supervisor, db: SessionDep, store: StoreDep, request: Request,
             format: Literal["flac", "wav"] = Query("flac")) -> Response:  # noqa: A002 - API name
    """The interaction's audio as one file to keep (FLAC, lossless; or WAV), as an
    attachment with its SHA-256 in ``X-Content-SHA256``; the audit row records the same hash.
    Every sample is checked against the chunk checksums recorded at upload."""
    span, site, counter, wall_start_s = _span(db, user, interaction_id)
    try:
        pcm = span_pcm(store, span)
    except (AudioUnavailable, StoreUnavailable) as e:
        raise _audio_error(interaction_id, e) from e
    if format == "flac":
        data, media = encode_flac(pcm, span.sample_rate_hz), "audio/flac"
    else:
        data = wav_header(sample_rate_hz=span.sample_rate_hz, channels=span.channels,
                          data_bytes=pcm.size * 2) + pcm.astype("<i2").tobytes()
        media = "audio/wav"
    digest = hashlib.sha256(data).hexdigest()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall_start_s))
    # site and counter names are checked at registration: letters, digits, '-' and '_' only.
    filename = f"{site}_{counter}_{stamp}_i{interaction_id}.{format}"
    audit(db, user, request, action="audio.download", target=f"interaction:{interaction_id}",
          detail=f"{site}/{counter} {filename} {format} sha256={digest} samples {span.start_sample}-{span.end_sample}")
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "X-Content-SHA256": digest,
        "Cache-Control": _NO_STORE})
