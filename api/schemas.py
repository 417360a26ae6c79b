"""Response models that several routers share."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InteractionFlagPublic(BaseModel):
    """A flag as shown on its interaction."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    rule: str
    phrase: str
    evidence: str
    start_s: float
    end_s: float
    speaker: str
    confidence: float
    review_state: str
    review_note: str
    reviewed_s: float | None


class FlagPublic(InteractionFlagPublic):
    """A flag in the review queue: the interaction's flag plus where and who reviewed it."""

    interaction_id: int
    site: str
    counter: str
    wall_start_s: float
    reviewed_by: str | None
