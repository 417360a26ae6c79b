"""A long text announcement on a screen (issue 24): time and peak memory to lay out and draw a
20,000-character announcement the way the player does now (laid out once within the page
budget, one page at a time to disk) beside the same run's baseline (every page drawn and held
in memory at once, no page cap, as the player did before), each in its own process.

    python bench/signage_text.py [--chars 20000] [--size 1280x656]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEXT = "请携带身份证原件及复印件、近期一寸免冠照片两张到三号窗口办理居住证。Please bring your ID card. "


def one(mode: str, chars: int, size: tuple[int, int]) -> None:
    from signage import slides

    body = (TEXT * (chars // len(TEXT) + 1))[:chars]
    slides._font(40)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = Path(tempfile.mkdtemp())
    t0 = time.monotonic()
    if mode == "shipped":
        layout = slides.layout_text("办事指南", body, size=size)
        first_s = None
        for n in range(1, len(layout.pages) + 1):
            slides.save_png(slides.text_page(layout, n), out / f"p{n}.png")
            first_s = first_s or time.monotonic() - t0
        pages = len(layout.pages)
    else:
        images = slides.text_slides("办事指南", body, size=size, max_pages=10_000)
        first_s = time.monotonic() - t0           # nothing can show before every page is drawn
        for n, im in enumerate(images, 1):
            slides.save_png(im, out / f"p{n}.png")
        pages = len(images)
    total_s = time.monotonic() - t0
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(f"{mode:9s} pages {pages:3d}  first page on disk {first_s:6.2f} s  all {total_s:6.2f} s  "
          f"peak RSS +{peak:6.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=20000)
    ap.add_argument("--size", default="1280x656")
    ap.add_argument("--one", choices=["shipped", "baseline"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    if args.one:
        one(args.one, args.chars, size)  # type: ignore[arg-type]
        return
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.chars} characters at {args.size}")
    for mode in ("baseline", "shipped"):
        subprocess.run([sys.executable, __file__, "--one", mode, "--chars", str(args.chars), "--size", args.size],
                       check=True)


if __name__ == "__main__":
    main()
