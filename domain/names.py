"""Names that become object keys, spool paths and URL parts: sites, counters, sessions."""
from __future__ import annotations

import re

from domain.errors import Invalid

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_SESSION = re.compile(r"^[0-9a-f]{32}$")
#: The pattern of a site or counter name, for request validation and key parsing.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"
SESSION_PATTERN = r"[0-9a-f]{32}"
#: A queue ticket as the screens show it (A012, B-7, 1024): letters, digits and '-', nothing a
#: screen could read as markup (issue 18).
TICKET_PATTERN = r"[A-Za-z0-9][A-Za-z0-9-]{0,19}"
_TICKET = re.compile(f"^{TICKET_PATTERN}$")


class BadName(Invalid):
    """A site, counter or session name that could escape its place in keys or paths."""

    code = "bad_name"

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r}", "is not allowed: use 1-63 letters, digits, '-' or '_', "
                         "starting with a letter or digit", field=field)
        self.field = field
        self.value = value


def check_name(field: str, value: str) -> str:
    """Return ``value`` if it is a safe site or counter name; raise :class:`BadName` otherwise."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise BadName(field, str(value))
    return value


def check_session(value: str) -> str:
    """Return ``value`` if it is a recording session id (32 hex digits); raise :class:`BadName`."""
    if not isinstance(value, str) or not _SESSION.match(value):
        raise BadName("session", str(value))
    return value


class BadTicket(BadName):
    """A queue ticket a screen could show as something else (markup, hidden characters)."""

    code = "bad_ticket"

    def __init__(self, value: str) -> None:
        Invalid.__init__(self, f"ticket {value[:40]!r}", "is not allowed: use 1-20 letters, digits or '-', starting "
                         "with a letter or digit (e.g. A012)", field="ticket")
        self.field = "ticket"
        self.value = value


def check_ticket(value: str) -> str:
    """Return ``value`` if it is a queue ticket (:data:`TICKET_PATTERN`); raise :class:`BadTicket`."""
    if not isinstance(value, str) or not _TICKET.match(value):
        raise BadTicket(str(value))
    return value
