"""A staff member's photo, shown on the rating terminal of the counter they are on duty at
(issue 21 item 2). Sent by an admin or supervisor of the site, checked by decoding it
(:func:`services.pictures.check_picture`), kept in the object store once per SHA-256 under
``staff/photos/<sha256>``; the staff row keeps its SHA-256 and type. A rating terminal reads only
the photo of whoever is on duty at its own counter now."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import NotFound
from services.accounts import Principal
from services.pictures import check_picture
from services.ratings_terminal import bound_counter, find_staff, on_duty
from storage.engine import write_session
from storage.objects import ObjectStore
from storage.tables import Staff, now_s

#: A portrait from a phone or an ID-photo scan, as JPEG, is ~0.1-2 MB.
MAX_PHOTO_BYTES = 3 * 1024 * 1024
MAX_PHOTO_SIDE_PX = 4096


def photo_key(sha256: str) -> str:
    return f"staff/photos/{sha256}"


@dataclass(frozen=True)
class Photo:
    sha256: str
    content_type: str
    width_px: int = 0
    height_px: int = 0


def set_photo(engine: Engine, store: ObjectStore, user: Principal, *, site: str, name: str, data: bytes) -> Photo:
    """Keep ``data`` as the photo of staff member ``name`` of ``site`` (replacing any before).

    Raises:
        TooLarge ``photo_too_large``; Invalid ``bad_photo``; SiteForbidden; NotFound ``staff_not_found``.
    """
    import hashlib

    from services.interactions import check_site

    check_site(user, site)
    content_type, w, h = check_picture(data, what="photo", max_bytes=MAX_PHOTO_BYTES, max_side_px=MAX_PHOTO_SIDE_PX)
    sha = hashlib.sha256(data).hexdigest()
    with write_session(engine) as s:
        find_staff(s, site=site, name=name)             # before the store: no orphan object for a typo
    if store.stat(photo_key(sha)) is None:
        store.put_bytes(photo_key(sha), data, content_type=content_type)
    with write_session(engine) as s:
        person = find_staff(s, site=site, name=name)
        person.photo_sha256, person.photo_type = sha, content_type
    return Photo(sha, content_type, w, h)


def _read(store: ObjectStore, person: Staff | None, what: str) -> tuple[Photo, bytes]:
    if person is None or not person.photo_sha256:
        raise NotFound(what, "no photo was given", code="no_photo")
    sha, ctype = person.photo_sha256, person.photo_type or "image/jpeg"
    return Photo(sha, ctype), store.get_bytes(photo_key(sha), expected_sha256=sha)


def staff_photo(db: Session, store: ObjectStore, user: Principal, *, site: str, name: str) -> tuple[Photo, bytes]:
    """The photo of staff member ``name`` of ``site`` (for the console).

    Raises:
        SiteForbidden; NotFound ``staff_not_found`` / ``no_photo``.
    """
    from services.interactions import check_site

    check_site(user, site)
    return _read(store, find_staff(db, site=site, name=name), f"photo of staff {name!r}")


def terminal_photo(db: Session, store: ObjectStore, user: Principal, *, now: float | None = None) -> tuple[Photo, bytes]:
    """The photo of the staff member on duty now at the terminal's own counter.

    Raises:
        Invalid ``not_bound``; NotFound ``no_photo`` (nobody on duty, or no photo given).
    """
    counter, _ = bound_counter(db, user)
    return _read(store, on_duty(db, counter.id, now or now_s()), "photo of the staff on duty")
