"""A hardware call button on the agent's box (issue 21 item 1): a USB keypad or foot switch that
the box sees as a keyboard. Each key press is one queue action of the agent's own counter, sent
with the agent's token (which may press that counter's queue buttons and no other's).

:func:`read_keys` turns what the keypad types into keys: one character at a time from a
terminal in cbreak mode (a keypad sends no Enter), or one line at a time from a pipe (``evtest``
or a udev/triggerhappy hook that writes a key name per line). :func:`run` maps each key to an
action (:data:`DEFAULT_KEYS`) and calls it; an unknown key is logged and skipped.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO

logger = logging.getLogger(__name__)

#: The queue actions a button may press.
ACTIONS = ("call-next", "recall", "pause", "resume", "finish", "skip")
#: A numeric keypad's keys (and their names as evtest/triggerhappy print them).
DEFAULT_KEYS: dict[str, str] = {
    "1": "call-next", "KEY_KP1": "call-next", "n": "call-next", "next": "call-next",
    "2": "recall", "KEY_KP2": "recall", "r": "recall", "recall": "recall",
    "3": "pause", "KEY_KP3": "pause", "p": "pause", "pause": "pause",
    "4": "resume", "KEY_KP4": "resume", "g": "resume", "resume": "resume",
    "5": "finish", "KEY_KP5": "finish", "f": "finish", "finish": "finish",
}


def read_keys(stream: IO[str]) -> Iterator[str]:
    """Keys from ``stream``: single characters from a terminal (cbreak mode, restored after),
    stripped non-empty lines otherwise. Ends at end of input (or Ctrl-D on a terminal)."""
    if stream.isatty():
        import termios
        import tty

        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
        try:
            # TCSANOW, not the default TCSAFLUSH: a key pressed while the box was starting is
            # kept (it waits in the line buffer and becomes readable in cbreak mode), never dropped.
            tty.setcbreak(fd, termios.TCSANOW)
            while True:
                ch = os.read(fd, 1).decode("utf-8", "replace")
                if ch in ("", "\x04"):
                    return
                if ch.strip():
                    yield ch
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    else:
        for line in stream:
            if line.strip():
                yield line.strip()


def run(keys: Iterable[str], press: Callable[[str], object], *, keymap: dict[str, str] | None = None) -> int:
    """Press the action of each key; returns how many presses were sent. ``press`` raising
    (the API refused, or could not be reached) is logged and the next key is read."""
    mapping = keymap or DEFAULT_KEYS
    sent = 0
    for key in keys:
        action = mapping.get(key) or mapping.get(key.lower())
        if action is None:
            logger.warning("button %r: no action (keys: %s)", key[:20], ", ".join(sorted(set(mapping))))
            continue
        try:
            press(action)
            sent += 1
        except Exception as e:      # noqa: BLE001 - a button box must outlive one failed press
            logger.error("button %r: %s failed: %s", key[:20], action, e)
    return sent
