"""Small pictures people or devices send (a screen's screenshot, a staff member's photo): checked
by decoding their header, never by the client's ``Content-Type``. One rule for both."""
from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from domain.errors import Invalid, TooLarge

#: The formats accepted, and the content type each is served with.
TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


def check_picture(data: bytes, *, what: str, max_bytes: int, max_side_px: int) -> tuple[str, int, int]:
    """(content type, width, height) of a PNG or JPEG picture ``data``.

    Raises:
        TooLarge ``<what>_too_large``: more than ``max_bytes``. Invalid ``bad_<what>``: not a
        PNG or JPEG that opens, or larger than ``max_side_px`` a side (``what`` names the field).
    """
    if len(data) > max_bytes:
        raise TooLarge(what, f"at most {max_bytes // (1024 * 1024)} MiB", code=f"{what}_too_large",
                       limit_bytes=max_bytes)
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, (w, h) = im.format or "", im.size
            if fmt not in TYPES or not (0 < w <= max_side_px and 0 < h <= max_side_px):
                raise Invalid(what, f"must be a PNG or JPEG picture of at most {max_side_px} px a side",
                              code=f"bad_{what}")
            im.load()       # decoded, so a truncated or corrupt file is refused here, not on a screen
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise Invalid(what, "must be a PNG or JPEG picture", code=f"bad_{what}") from e
    return TYPES[fmt], w, h
