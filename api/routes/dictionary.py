"""The console's dictionary (数据字典: labels, states, roles, rules) and the sites with the names
people use for them, their counters, screens and staff."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from api.deps import Admin, ReadDb, RulebookDep, Writer, audit, require
from domain.vocab import PEOPLE
from services import names
from services.accounts import Principal
from services.dictionary import dictionary

router = APIRouter(tags=["dictionary"])


class SiteDisplayIn(BaseModel):
    display_name: str = Field(min_length=1, max_length=100, description="e.g. 市民服务中心一楼")


#: Labels only, no records: every person and the hall's kiosks and rating terminals read them.
Labelled = Annotated[Principal, Depends(require(*PEOPLE, "kiosk", "rater"))]
#: The sites with counters and staff: people, handlers included.
SiteReader = Annotated[Principal, Depends(require("admin", "supervisor", "viewer", "handler"))]


@router.get("/dictionary")
def get_dictionary(user: Labelled, rulebook: RulebookDep) -> dict:
    """Every label the console shows, by kind (``labels``: speaker, review_state, severity ...),
    the rules of the rulebook the workers judge by with their names and severity, and the
    constants of the courtesy score."""
    return dictionary(rulebook)


@router.get("/sites", response_model=list[names.SiteView])
def list_sites(user: SiteReader, db: ReadDb) -> list[names.SiteView]:
    """The sites the user sees with their display names, time zones, counters, screens and staff."""
    return names.list_sites(db, user)


@router.patch("/sites/{name}", response_model=names.SiteView)
def rename_site(body: SiteDisplayIn, user: Admin, engine: Writer, request: Request,
                name: str = Path(min_length=1, max_length=63)) -> names.SiteView:
    """Set the site's display name (the console, the reports and the screens show it)."""
    site = names.set_site_display_name(engine, name, body.display_name, user=user)
    audit(request, user, action="site.edit", target=f"site:{name}", detail=site.display_name)
    return site
