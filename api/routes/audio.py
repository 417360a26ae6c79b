"""Recorded audio of an interaction: playback (WAV with byte ranges) and evidence download.

Every access is written to the audit log before a byte of audio is sent (playback: one row per
listening, :func:`services.audit.record_play`; every evidence download its own row with the
file's SHA-256). Object keys come from the catalog only; the path holds an integer id.
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from api.deps import AnyPerson, ReadDb, RowId, StoreDep, Supervisor, Writer, audit, client_of
from api.errors import error_body
from domain.errors import Forbidden
from domain.vocab import REVIEWERS
from services import audit as audit_log
from services.accounts import Principal
from services.audio import AudioSpan, RangeNotSatisfiable, evidence_file, interaction_span, parse_range, wav_range
from services.interactions import visible_interaction

router = APIRouter(prefix="/interactions", tags=["audio"])

_NO_STORE = "private, no-store"


class ExportForbidden(Forbidden):
    code = "export_forbidden"

    def __init__(self, what: str) -> None:
        super().__init__(what, "downloading a whole recording needs the export right (admin or supervisor); "
                         "play it with ranges instead")


def _span(db: ReadDb, user: Principal, interaction_id: int) -> tuple[AudioSpan, str, str, float]:
    inter, site, counter = visible_interaction(db, user, interaction_id)
    return interaction_span(db, inter), site, counter, inter.wall_start_s


@router.get("/{interaction_id}/audio", response_class=StreamingResponse,
            responses={200: {"content": {"audio/wav": {}}}, 206: {"content": {"audio/wav": {}}},
                       403: {"description": "the whole file without a range: a download, which needs the export right"},
                       416: {"description": "range not satisfiable"}})
def play(interaction_id: RowId, user: AnyPerson, db: ReadDb, store: StoreDep, engine: Writer, request: Request,
         range_: str | None = Header(None, alias="range"),
         if_range: str | None = Header(None, alias="if-range")) -> Response:
    """The interaction as 16-bit PCM WAV, with ``Range: bytes=`` support for seeking (206,
    or 416 for a range outside the file). Only the chunks the range needs are decoded.
    Ranges are plays (audited once a minute per user and recording, with the range); the whole
    file without a range is a download: audited each time, and only for admins and supervisors
    (403 ``export_forbidden`` for viewers). A staff
    member plays only their own interactions."""
    span, site, counter, _ = _span(db, user, interaction_id)
    size = span.wav_bytes
    headers = {"Accept-Ranges": "bytes", "ETag": span.etag, "Cache-Control": _NO_STORE}
    if if_range is not None and if_range.strip() != span.etag:
        range_ = None       # the client's copy is another file: send this one whole
    try:
        wanted = parse_range(range_, size)
    except RangeNotSatisfiable as e:
        return JSONResponse(error_body(e), status_code=416,
                            headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
    first, last = wanted if wanted is not None else (0, size - 1)
    where = f"窗口 {site}/{counter} 录音会话 {span.session_id} 第 {span.start_sample}–{span.end_sample} 个采样"
    if wanted is None:
        # The whole file in one answer is a download (issue 18): only for roles with the export
        # right, and each one its own audit row.
        if user.role not in REVIEWERS:
            raise ExportForbidden(f"interaction {interaction_id}")
        audit(request, user, action="audio.download", target=f"interaction:{interaction_id}",
              detail=f"{where}，下载整段 WAV 共 {size} 字节")
    else:
        audit_log.record_play(engine, user, target=f"interaction:{interaction_id}",
                              client=client_of(request), detail=f"{where}，播放第 {first}–{last} 字节")
    body = wav_range(store, span, first, last)
    headers["Content-Length"] = str(last - first + 1)
    if wanted is None:
        return StreamingResponse(body, media_type="audio/wav", headers=headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(body, status_code=206, media_type="audio/wav", headers=headers)


@router.get("/{interaction_id}/evidence", response_class=Response,
            responses={200: {"content": {"audio/flac": {}, "audio/wav": {}}}})
def evidence(interaction_id: RowId, user: Supervisor, db: ReadDb, store: StoreDep, request: Request,
             format: Literal["flac", "wav"] = Query("flac")) -> Response:  # noqa: A002 - API name
    """The interaction's audio as one file to keep (FLAC, lossless; or WAV), as an
    attachment with its SHA-256 in ``X-Content-SHA256``; the audit row records the same hash.
    Every sample is checked against the chunk checksums recorded at upload."""
    span, site, counter, wall_start_s = _span(db, user, interaction_id)
    db.close()      # early release: making the file reads and decodes every chunk; hold no connection meanwhile
    f = evidence_file(store, span, site=site, counter=counter, interaction_id=interaction_id,
                      wall_start_s=wall_start_s, format=format)
    audit(request, user, action="audio.download", target=f"interaction:{interaction_id}",
          detail=f"窗口 {site}/{counter} 下载证据文件 {f.filename}（{format.upper()}，"
                 f"第 {span.start_sample}–{span.end_sample} 个采样），sha256 {f.sha256}")
    return Response(f.data, media_type=f.media_type, headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "X-Content-SHA256": f.sha256,
        "Cache-Control": _NO_STORE})
