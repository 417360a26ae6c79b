"""Read queries on the recordings that several layers share: the chunks of a session's sample
range, the hall events that cut a counter's recording into interactions, the queue calls with
their tickets' waits, and the rating an interaction received."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ScalarSelect, select
from sqlalchemy.orm import Session, aliased

from domain.vocab import BOUNDARY_EVENT_KINDS, RATING_WINDOW_S
from storage.tables import Chunk, Event, Interaction, QueueTicket


def chunks_of(session: Session, session_id: str, *, from_sample: int = 0,
              to_sample: int | None = None) -> Iterable[Chunk]:
    """The session's chunks overlapping samples [from_sample, to_sample), in order."""
    q = (select(Chunk).where(Chunk.session_id == session_id, Chunk.start_sample + Chunk.samples > from_sample)
         .order_by(Chunk.seq))
    if to_sample is not None:
        q = q.where(Chunk.start_sample < to_sample)
    return session.scalars(q)


def boundaries(session: Session, counter_id: int, start_s: float, end_s: float) -> list[float]:
    """Wall-clock times of the counter's queue calls and rating presses in [start_s, end_s)."""
    return list(session.scalars(select(Event.at_s).where(
        Event.counter_id == counter_id, Event.kind.in_(BOUNDARY_EVENT_KINDS),
        Event.at_s >= start_s, Event.at_s < end_s).order_by(Event.at_s)))


@dataclass(frozen=True)
class QueueCall:
    """A queue call of a counter: when (wall clock), the ticket as screens show it, and how long
    its ticket waited (None: a call without a ticket of this queue, e.g. a hall's own system)."""

    at_s: float
    ticket: str | None
    waited_s: float | None


def ticket_wait_s(ticket: QueueTicket, call_at_s: float) -> float:
    """How long a ticket waited: from taking it to its first call (a recall does not add to it)."""
    first = ticket.called_s if ticket.called_s is not None and ticket.called_s <= call_at_s else call_at_s
    return max(first - ticket.taken_s, 0.0)


def queue_calls(session: Session, counter_id: int, start_s: float, end_s: float) -> list[QueueCall]:
    """The counter's queue calls in [start_s, end_s), in time order, with their tickets' waits."""
    out = []
    for ev in session.scalars(select(Event).where(Event.counter_id == counter_id, Event.kind == "queue_call",
                                                  Event.at_s >= start_s, Event.at_s < end_s).order_by(Event.at_s)):
        payload = ev.payload or {}
        tid = str(payload.get("ticket_id") or "")
        t = session.get(QueueTicket, int(tid)) if tid.isdigit() and len(tid) < 10 else None
        out.append(QueueCall(ev.at_s, payload.get("ticket"), ticket_wait_s(t, ev.at_s) if t is not None else None))
    return out


def rating_of(inter: type[Interaction] = Interaction) -> ScalarSelect[str]:
    """The rating level of interaction row ``inter``, as a correlated scalar subquery (NULL: none).

    The one definition of which interaction a rating press belongs to (``domain.vocab``): the
    counter's latest interaction that began before the press, if it ended at most
    :data:`~domain.vocab.RATING_WINDOW_S` before it; the first such press counts.
    """
    later = aliased(Interaction)
    return (select(Event.payload["level"].as_string())
            .where(Event.counter_id == inter.counter_id, Event.kind == "rating", Event.at_s > inter.wall_start_s,
                   Event.at_s <= inter.wall_end_s + RATING_WINDOW_S,
                   ~select(later.id).where(later.counter_id == inter.counter_id,
                                           later.wall_start_s > inter.wall_start_s,
                                           later.wall_start_s < Event.at_s).correlate_except(later).exists())
            .order_by(Event.at_s).limit(1).correlate(inter).scalar_subquery())
