"""Still pictures on the screen (images, text pages, the board, notices), shown by Tk over the
video area instead of by libVLC.

libVLC rebuilds its video output whenever the picture format changes, and an image between two
videos changes it twice; that rebuild kept about 7 KiB per transition (60 MiB a day at one item
every 10 s; docs/benchmarks.md). So a still never goes through libVLC: it is decoded by Pillow,
fitted to the video area, and shown by a Tk label laid over the video window; the video player
is only paused under it, and plays nothing but videos (issue 12; mixed playlists still grow,
less, in libVLC's video path: docs/benchmarks.md). The label also covers the
switch from a still to a video until the video's first picture is out, so the screen never
shows black in between.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from signage import slides

if TYPE_CHECKING:
    import tkinter as tk

logger = logging.getLogger(__name__)


class StillError(Exception):
    """A picture that cannot be read (corrupt, truncated, not an image)."""


def fitted(src: Path, *, size: tuple[int, int], cache_dir: Path) -> Path:
    """``src`` scaled to fit ``size`` (aspect kept, centred on the board colour) as a PNG in
    ``cache_dir``, made once per file content and size.

    Raises:
        StillError: Pillow cannot read ``src``.
    """
    from PIL import Image, UnidentifiedImageError

    key = hashlib.sha256(f"{src.resolve()}\0{src.stat().st_size}\0{src.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    out = cache_dir / f"still-{key}-{size[0]}x{size[1]}.png"
    if out.exists():
        return out
    try:
        with Image.open(src) as im:
            im.load()
            pic = im.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise StillError(f"not a readable image ({e.__class__.__name__}: {e})") from e
    scale = min(size[0] / pic.width, size[1] / pic.height)
    w, h = max(1, round(pic.width * scale)), max(1, round(pic.height * scale))
    board = Image.new("RGB", size, slides.BOARD_BG)
    board.paste(pic.resize((w, h), Image.Resampling.LANCZOS), ((size[0] - w) // 2, (size[1] - h) // 2))
    cache_dir.mkdir(parents=True, exist_ok=True)
    return slides.save_png(board, out)


class Stills:
    """A Tk label over ``area`` (the video frame) showing one still at a time; the next one can
    be decoded ahead (:meth:`preload`). At most two pictures are held."""

    def __init__(self, root: tk.Misc, area: tk.Widget) -> None:
        import tkinter as tk

        self._tk = tk
        self._area = area
        self._label = tk.Label(root, bd=0, highlightthickness=0, bg="#{:02x}{:02x}{:02x}".format(*slides.BOARD_BG))
        self._images: dict[tuple[Path, int], tk.PhotoImage] = {}
        self.shown: Path | None = None

    def _image(self, path: Path) -> tk.PhotoImage:
        key = (path, path.stat().st_mtime_ns)     # a slide redrawn in place is read again
        img = self._images.get(key)
        if img is None:
            try:
                img = self._tk.PhotoImage(file=str(path))
            except self._tk.TclError as e:
                raise StillError(f"Tk cannot show it ({e})") from e
            self._images[key] = img
        return img

    def _keep(self, *keys: tuple[Path, int]) -> None:
        for k in [k for k in self._images if k not in keys]:
            # the Tk image itself goes with its last Python reference
            del self._images[k]

    def show(self, path: Path) -> None:
        """Put ``path`` on screen over the video area (drawn by the next Tk update)."""
        img = self._image(path)
        self._label.configure(image=img)
        self._label.place(in_=self._area, x=0, y=0, relwidth=1.0, relheight=1.0)
        self._label.lift()
        self.shown = path
        self._keep(*[k for k in self._images if self._images[k] is img])

    def preload(self, path: Path) -> None:
        """Decode ``path`` now so that showing it later costs nothing.

        Raises:
            StillError: it cannot be shown."""
        img = self._image(path)
        current = self._label.cget("image")
        self._keep(*[k for k, v in self._images.items() if v is img or str(v) == current])

    def hide(self) -> None:
        self._label.place_forget()
        self.shown = None

    def close(self) -> None:
        self._label.destroy()
        self._images.clear()
