"""Per-counter capture agents (PyAudio / ffmpeg sources, spool, uploader).

Not built yet: see issue #3. Nothing here is wired into the CLI until it works.
"""
