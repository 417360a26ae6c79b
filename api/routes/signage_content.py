"""Waiting-area screens' content: videos and images (uploaded as the raw request body, format
read from the file), and text announcements the screens render."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ReadDb, RowId, StoreDep, Supervisor, Writer, audit, require
from api.schemas_signage import TextContentCreate, TextContentEdit
from domain.vocab import LABELS
from services import signage_content as content
from services.accounts import Principal
from services.catalog import visible_site
from services.signage_content import ContentView

router = APIRouter(prefix="/signage/content", tags=["signage"])

ScreenOrStaff = Annotated[Principal, Depends(require("admin", "supervisor", "screen"))]


@router.post("", response_model=ContentView, status_code=201)
async def upload_content(engine: Writer, request: Request, user: Supervisor, db: ReadDb, store: StoreDep,
                         site: str = Query(min_length=1, max_length=63),
                         name: str = Query(min_length=1, max_length=300)) -> ContentView:
    """Upload a video or image as the raw request body (``Content-Type`` is not trusted: the
    format is read from the file). The body is streamed to a temporary file (counted and hashed
    on the way), then to the store, once per SHA-256, under ``signage/content/<sha256>``.
    413 as soon as it passes the limit, 415 for an unknown format, 422 for a bad name."""
    await run_in_threadpool(visible_site, db, user, site)
    name = content.check_content_name(name)
    # No transaction (nor pooled connection) while the body streams in: a few slow uploads must
    # not hold the pool, or sit "idle in transaction" on PostgreSQL.
    await run_in_threadpool(db.close)
    limit = getattr(request.app.state, "signage_max_upload_bytes", content.MAX_UPLOAD_BYTES)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise content.UploadTooLarge(limit)
    up = await content.spool(request.stream(), limit_bytes=limit,
                             accept_head=lambda head: content.sniff(head) is not None)
    try:
        view = await run_in_threadpool(content.store_upload, engine, store, user, site=site,
                                       name=name, up=up)
    finally:
        up.remove()
    await run_in_threadpool(audit, request, user, action="content.upload", target=f"content:{view.id}",
                            detail=f"服务点 {site} 上传{LABELS['content_kind'].get(view.kind, view.kind)}“{name}”，"
                                   f"{view.size_bytes} 字节，sha256 {view.sha256}")
    return view


@router.post("/text", response_model=ContentView, status_code=201)
def add_text(body: TextContentCreate, user: Supervisor, engine: Writer, request: Request) -> ContentView:
    """A text announcement (办事指南, 收费标准, 温馨提示 ...): screens render it into slides."""
    view = content.add_text(engine, user, site=body.site, name=body.name, title=body.title,
                            body=body.body)
    audit(request, user, action="content.text", target=f"content:{view.id}", detail=f"服务点 {body.site}：{view.name}")
    return view


@router.get("", response_model=list[ContentView])
def list_content(user: Supervisor, db: ReadDb, site: str = Query(min_length=1, max_length=63)) -> list[ContentView]:
    return [c for c in content.list_content(db, user, site)]


@router.get("/{content_id}", response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def download_content(content_id: RowId, user: ScreenOrStaff, db: ReadDb, store: StoreDep) -> Response:
    """The file of a video or image (staff of its site, or a screen of its site), streamed
    from the store."""
    c, body = content.open_file(db, store, user, content_id)
    # nosniff (api.edge) and a sandbox: a polyglot image is never run as a page or script.
    return StreamingResponse(body, media_type=c.content_type or "application/octet-stream",
                             headers={"ETag": f'"{c.sha256}"', "Content-Length": str(c.size_bytes),
                                      "Cache-Control": "private, max-age=31536000, immutable",
                                      "Content-Security-Policy": "default-src 'none'; sandbox",
                                      "Content-Disposition": "inline"})


@router.patch("/{content_id}", response_model=ContentView)
def edit_text(content_id: RowId, body: TextContentEdit, user: Supervisor, engine: Writer, request: Request) -> ContentView:
    """Change a text announcement's name, title or body; screens render the new text at their
    next manifest poll. 422 for a video or image (upload a new file instead)."""
    view = content.edit_text(engine, user, content_id, name=body.name, title=body.title,
                             body=body.body)
    audit(request, user, action="content.edit", target=f"content:{content_id}", detail=f"服务点 {view.site}：{view.name}")
    return view


@router.delete("/{content_id}", status_code=204)
def delete_content(content_id: RowId, user: Supervisor, store: StoreDep, engine: Writer, request: Request) -> Response:
    """Delete content that no playlist uses (409 naming the playlists that do). Its file leaves
    the store unless another content row (any site) has the same SHA-256."""
    content.delete_content(engine, store, user, content_id)
    audit(request, user, action="content.delete", target=f"content:{content_id}")
    return Response(status_code=204)
