"""Interactions: the recordings browser, transcript search, one interaction's transcript and
flags, and its transcript as a file."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import MAX_ROW_ID, Person, ReadDb, RowId, RulebookDep, audit, filters_detail
from domain.vocab import AnyRatingLevel, ReviewState
from services import recordings, transcripts
from services.dictionary import rules_of
from services.filters import Filters
from services.interactions import InteractionView, check_site, interaction_detail
from services.search import MAX_QUERY_CHARS, SearchFilters, SearchHit, search_segments

router = APIRouter(prefix="/interactions", tags=["interactions"])

Name = Annotated[str | None, Query(min_length=1, max_length=100)]
Seconds = Annotated[float | None, Query(ge=0, le=1e11)]


@router.get("/search", response_model=list[SearchHit])
def search(user: Person, db: ReadDb, rulebook: RulebookDep, request: Request,
           q: str = Query(min_length=1, max_length=MAX_QUERY_CHARS,
                          description="a phrase: as written (substring), sounding like it, or a rule's phrase"),
           site: Name = None, counter: Name = None, staff: Name = None,
           since_s: float | None = Query(None, ge=0), until_s: float | None = Query(None, ge=0),
           rule: str | None = Query(None, min_length=1, max_length=50), review_state: ReviewState | None = None,
           rating: AnyRatingLevel | None = None, limit: int = Query(50, ge=1, le=500)) -> list[SearchHit]:
    """Transcript lines matching ``q``, in the sites the user may see: the interactions of the
    recordings browser (``GET /interactions?q=``) in its order (the phrase as written first, then
    sounding like it, then a flag of a rule it names; newest first within each), each with its
    matching lines in time order; ``match`` says how each line matched (exact, corrected: in the line's
    correction, sound, corrected_sound: the line's correction sounds like it, rule).
    ``rule`` / ``review_state``: interactions with such a flag; ``rating``: with such a rating press
    during the interaction or shortly after it. Each hit gives ``text`` (the
    segment, cut around the first hit when long), ``hits`` ([start, end) character offsets
    in ``text``), ``snippet`` (``text`` with hits in 【】) and ``offset_s`` (where the segment
    starts in the interaction's audio). Viewers see personal numbers masked, and a query
    matching only inside a masked number finds nothing."""
    check_site(user, site)
    filters = SearchFilters(sites=tuple(user.sites) or None, site=site, counter=counter, staff=staff,
                            since_s=since_s, until_s=until_s, rule=rule, review_state=review_state, rating=rating)
    hits = search_segments(db, q, filters=filters, limit=limit, role=user.role, rulebook=rulebook)
    audit(request, user, action="search", detail=filters_detail(q=q, site=site, counter=counter, staff=staff,
                                                                since_s=since_s, until_s=until_s, rule=rule,
                                                                review_state=review_state, rating=rating, hits=len(hits)))
    return hits


@router.get("", response_model=recordings.RecordingPage)
def list_interactions(user: Person, db: ReadDb, rulebook: RulebookDep, request: Request,
                      q: str | None = Query(None, min_length=1, max_length=MAX_QUERY_CHARS,
                                            description="a phrase: as written, sounding like it, or a rule's phrase"),
                      site: Name = None, counter: Name = None,
                      counter_id: int | None = Query(None, ge=1, le=MAX_ROW_ID), staff: Name = None,
                      since_s: Seconds = None, until_s: Seconds = None,
                      rule: str | None = Query(None, min_length=1, max_length=50), review_state: ReviewState | None = None,
                      rating: AnyRatingLevel | None = None, assessable: bool | None = None,
                      sort: Literal["-time", "time", "-duration", "duration", "-flags"] = "-time",
                      offset: int = Query(0, ge=0, le=1_000_000), limit: int = Query(20, ge=1, le=recordings.MAX_LIMIT),
                      ) -> recordings.RecordingPage:
    """The recordings browser: interactions of the visible sites matching the filters, sorted
    (``-time`` newest first), a page of them with the ``total``. ``counter``: a counter's name
    or display name; ``since_s`` / ``until_s``: when the interaction began, [since, until).
    With ``q``: only those whose transcript has the phrase (ranked first), sounds like it
    (toneless pinyin with the rulebook matcher's fuzzy confusions), or has a flag of a rule
    the phrase belongs to; each with the ``line`` that matched and its ``hits`` spans."""
    filters = Filters(site=site, counter=counter, counter_id=counter_id, staff=staff, since_s=since_s,
                      until_s=until_s, rule=rule, review_state=review_state, rating=rating, assessable=assessable)
    page = recordings.browse(db, user, filters=filters, rulebook=rulebook, q=q, sort=sort, offset=offset, limit=limit)
    audit(request, user, action="recordings.list",
          detail=filters_detail(q=q, site=site, counter=counter, counter_id=counter_id, staff=staff, since_s=since_s,
                                until_s=until_s, rule=rule, review_state=review_state, rating=rating,
                                assessable=assessable, rows=len(page.items), total=page.total))
    return page


@router.get("/{interaction_id}", response_model=InteractionView)
def get_interaction(interaction_id: RowId, user: Person, db: ReadDb, rulebook: RulebookDep,
                    request: Request) -> InteractionView:
    """One interaction: its counter, times, transcript segments and flags with their review
    (each read of a transcript is audited: ``transcript.view``)."""
    view = interaction_detail(db, user, interaction_id, rules_of(rulebook))
    audit(request, user, action="transcript.view", target=f"interaction:{interaction_id}",
          detail=f"窗口 {view.site}/{view.counter}")
    return view


@router.get("/{interaction_id}/transcript", response_class=Response,
            responses={200: {"content": {m.split(";")[0]: {} for m in transcripts.FORMATS.values()}}})
def transcript(interaction_id: RowId, user: Person, db: ReadDb, rulebook: RulebookDep, request: Request,
               format: Literal["txt", "srt", "docx"] = "txt") -> Response:  # noqa: A002 - API name
    """The transcript as a file: ``txt``, ``srt`` (subtitles) or ``docx`` (Word, for a complaint's
    record), with the recording's particulars and findings; audited as ``transcript.export``."""
    view = interaction_detail(db, user, interaction_id, rules_of(rulebook))
    f = transcripts.export(view, format)
    audit(request, user, action="transcript.export", target=f"interaction:{interaction_id}",
          detail=f"窗口 {view.site}/{view.counter} 导出 {f.filename}")
    return Response(f.data, media_type=f.media_type, headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "Cache-Control": "private, no-store"})
